"""The API's shapes: pydantic models that validate requests, shape responses and, through
openapi.py, make the OpenAPI document. Field descriptions are the documentation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..choices import CAUSES, EVENT_KINDS, LANGUAGE_NAMES, REGIONS
from ..models import signup as st

Cause = Literal[tuple(CAUSES)]  # type: ignore[valid-type]
Region = Literal[tuple(REGIONS)]  # type: ignore[valid-type]
Kind = Literal[tuple(EVENT_KINDS)]  # type: ignore[valid-type]
Language = Literal[tuple(LANGUAGE_NAMES)]  # type: ignore[valid-type]
SignupStatus = Literal[st.STATUSES]  # type: ignore[valid-type]
MAX_LIMIT = 100
MAX_ID = 2**31 - 1


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True)


# --- errors ----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    field: str = Field(description="The field, parameter or body path at fault ('' for none).")
    message: str
    type: str = Field(description="A stable, machine-readable kind of problem.")


class ErrorBody(BaseModel):
    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(
        description="Stable code: bad_request, invalid_json, bad_cursor, unauthorized, "
        "forbidden, not_found, method_not_allowed, already_signed_up, signup_closed, "
        "conflict, payload_too_large, validation_error, rate_limited."
    )
    message: str = Field(description="For people, in the request's language.")
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody


# --- queries ---------------------------------------------------------------------------------


class PageQuery(Query):
    limit: int = Field(20, ge=1, le=MAX_LIMIT, description="Items per page (at most 100).")
    cursor: str | None = Field(
        None,
        max_length=200,
        description="Opaque: the `next_cursor` of the previous page. Absent for the first page.",
    )


class EventListQuery(PageQuery):
    q: str | None = Field(None, max_length=200, description="Words in the title, text or city.")
    org: str | None = Field(
        None, max_length=64, description="An organization's slug: actions it hosts or co-hosts."
    )
    cause: Cause | None = None
    region: Region | None = None
    kind: Kind | None = None
    date_from: date | None = Field(
        None, alias="from", description="Actions not over by this day (YYYY-MM-DD)."
    )
    date_to: date | None = Field(
        None, alias="to", description="Actions starting by the end of this day (YYYY-MM-DD)."
    )
    online: bool | None = Field(None, description="true: online only; false: in person only.")


class SignupListQuery(PageQuery):
    event: int | None = Field(None, ge=1, le=MAX_ID, description="Only this action's sign-ups.")
    status: SignupStatus | None = None


# --- public shapes ---------------------------------------------------------------------------


class OrganizationRef(BaseModel):
    slug: str
    name: str
    url: str = Field(description="The organization's public page.")


class Organization(OrganizationRef):
    description: str = Field(description="Markdown.")
    timezone: str
    default_locale: str
    events: str = Field(description="This API's list of the organization's upcoming actions.")


class OrganizationList(BaseModel):
    data: list[Organization]


class Event(BaseModel):
    """An action as anyone may see it: never a hidden place, never a volunteer's name."""

    id: int
    url: str = Field(description="The action's page.")
    title: str
    description: str = Field(description="Markdown, as the organizers wrote it.")
    description_html: str = Field(description="The description rendered and sanitized.")
    language: str
    kind: str
    causes: list[str]
    region: str
    city: str
    place: str = Field(description="City and region: what anyone may know of where.")
    is_online: bool
    location_hidden: bool = Field(
        description="true: the exact place or link is sent only to confirmed volunteers."
    )
    address: str | None = Field(description="null when hidden or online.")
    online_url: str | None = Field(description="null when hidden or in person.")
    starts_at: datetime
    ends_at: datetime
    timezone: str = Field(description="The IANA zone the action's times are shown in.")
    status: Literal["draft", "published", "cancelled"]
    organization: OrganizationRef
    cohosts: list[OrganizationRef]
    capacity: int | None = Field(description="null: no limit.")
    confirmed_count: int
    places_left: int | None = Field(description="null: no limit.")
    waitlist_enabled: bool
    approval_required: bool


class EventList(BaseModel):
    data: list[Event]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")
    next: str | None = Field(description="The next page's URL; null on the last page.")


class ManagedEvent(Event):
    """An action as its organizers see it: the exact place included."""

    address: str | None = Field(description="The exact address, even when hidden.")
    online_url: str | None = Field(description="The meeting link, even when hidden.")
    visibility: Literal["public", "unlisted"]
    location_visibility: Literal["public", "confirmed"]
    reveal_hours_before: int | None
    reminder_hours: int | None
    second_reminder: bool


# --- for a token's organization --------------------------------------------------------------


class Signup(BaseModel):
    id: int
    event_id: int
    shift_id: int | None
    name: str
    email: str
    phone: str
    locale: str
    status: SignupStatus
    attendance: Literal["attended", "no_show"] | None
    created_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None


class SignupList(BaseModel):
    data: list[Signup]
    next_cursor: str | None
    next: str | None


class SignupCreated(BaseModel):
    data: list[Signup] = Field(description="One sign-up, or one per chosen shift.")
    waitlist_position: int | None = Field(description="1 is next in line; null if not waiting.")


class Subscriber(BaseModel):
    """What a confirmed digest subscriber shared: nothing else."""

    email: str
    name: str | None
    language: str
    since: datetime | None = Field(description="When they confirmed their subscription.")


class SubscriberList(BaseModel):
    data: list[Subscriber]
    next_cursor: str | None
    next: str | None


class SignupIn(Input):
    name: str = Field(min_length=1, max_length=120)
    email: str = Field(min_length=3, max_length=254, json_schema_extra={"format": "email"})
    phone: str = Field("", max_length=40, pattern=r"^(\+?[0-9 ()./-]{5,40})?$")
    locale: Language | None = Field(
        None, description="The volunteer's language for emails; default: the organization's."
    )
    shift_ids: list[int] = Field(
        default_factory=list,
        max_length=50,
        description="For an action with shifts: the shifts to join (at least one).",
    )


class EventFields(Input):
    """The fields of an action, as on the action form."""

    description: str | None = Field(None, max_length=20000, description="Markdown.")
    language: Language | None = None
    kind: Kind | None = None
    causes: list[Cause] | None = Field(None, max_length=len(CAUSES))
    city: str | None = Field(None, max_length=120)
    is_online: bool | None = None
    address: str | None = Field(None, max_length=300)
    online_url: str | None = Field(None, max_length=500)
    capacity: int | None = Field(None, ge=1, le=100_000, description="null: no limit.")
    waitlist_enabled: bool | None = None
    approval_required: bool | None = None
    visibility: Literal["public", "unlisted"] | None = None
    location_visibility: Literal["public", "confirmed"] | None = None
    reveal_hours_before: int | None = Field(None, ge=0, le=720)
    reminder_hours: int | None = Field(None, ge=1, le=168, description="null: no reminder.")
    second_reminder: bool | None = None
    publish: bool = Field(False, description="true: publish it now (a draft otherwise).")


class EventIn(EventFields):
    title: str = Field(min_length=1, max_length=200)
    region: Region
    starts_at: AwareDatetime = Field(description="With an offset, e.g. 2026-12-04T13:00:00+02:00.")
    ends_at: AwareDatetime


class EventPatch(EventFields):
    """Only the fields given change; `null` clears capacity, reveal time or reminder."""

    title: str | None = Field(None, min_length=1, max_length=200)
    region: Region | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
