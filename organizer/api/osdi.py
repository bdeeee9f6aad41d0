"""OSDI-style HAL+JSON (the Open Supporter Data Interface, as Action Network speaks it) for
actions and their attendances, so tools that already read OSDI read Organizer too. The same
rules as the plain API: public actions for anyone, attendances only with the hosting
organization's token, never a hidden meeting point."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from ..models import Event as EventModel
from ..models import Signup as SignupModel
from ..models.event import STATUS_DRAFT
from ..services import events as event_service
from ..services import org_data
from ..services import signups as signup_service
from ..web import absolute_url
from . import api, schemas
from .errors import ApiError
from .openapi import READ
from .views import (
    _encode_cursor,
    _hosted_event,
    _id_cursor,
    _next_url,
    _query,
    _token,
    event_page,
    page_url,
)

HAL = "application/hal+json"
ORIGIN = "Organizer"

# Sign-up statuses in OSDI's attendance vocabulary.
ATTENDANCE_STATUS = {
    "confirmed": "accepted",
    "waitlisted": "tentative",
    "pending": "needs action",
    "declined": "declined",
    "cancelled": "declined",
}


class Hal(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Link(BaseModel):
    href: str


class EventLinks(Hal):
    self: Link
    attendances: Link = Field(alias="osdi:attendances")


class Location(Hal):
    venue: str | None = Field(description="The place's public name.")
    address_lines: list[str] = Field(description="Empty when the meeting point is hidden.")
    locality: str | None = Field(description="The city.")
    region: str = Field(description="Organizer's region slug.")


class OsdiEvent(Hal):
    identifiers: list[str] = Field(description="`organizer:<id>`.")
    origin_system: Literal["Organizer"] = ORIGIN
    title: str
    name: str
    description: str = Field(description="HTML, sanitized.")
    browser_url: str
    start_date: datetime
    end_date: datetime
    status: Literal["confirmed", "cancelled"]
    type: Literal["open", "ticketed"] = Field(description="`ticketed` when places are limited.")
    visibility: Literal["public", "private"] = Field(description="`private`: unlisted.")
    capacity: int | None
    total_accepted: int
    location: Location | None = Field(description="null for an online action.")
    links: EventLinks = Field(alias="_links")


class CollectionLinks(Hal):
    self: Link
    next: Link | None = None


class EmbeddedEvents(Hal):
    events: list[OsdiEvent] = Field(alias="osdi:events")


class EventCollection(Hal):
    per_page: int
    links: CollectionLinks = Field(alias="_links")
    embedded: EmbeddedEvents = Field(alias="_embedded")


class EmailAddress(BaseModel):
    address: str
    primary: bool = True


class PhoneNumber(BaseModel):
    number: str
    primary: bool = True


class Person(BaseModel):
    given_name: str = Field(description="Organizer keeps one name field: the whole name.")
    email_addresses: list[EmailAddress]
    phone_numbers: list[PhoneNumber]
    languages_spoken: list[str]


class AttendanceLinks(Hal):
    self: Link
    event: Link = Field(alias="osdi:event")


class Attendance(Hal):
    identifiers: list[str] = Field(description="`organizer:signup:<id>`.")
    origin_system: Literal["Organizer"] = ORIGIN
    created_date: datetime
    modified_date: datetime
    status: Literal["accepted", "tentative", "needs action", "declined"]
    attended: bool | None = Field(description="null until the organizers check in.")
    person: Person
    links: AttendanceLinks = Field(alias="_links")


class EmbeddedAttendances(Hal):
    attendances: list[Attendance] = Field(alias="osdi:attendances")


class AttendanceCollection(Hal):
    per_page: int
    links: CollectionLinks = Field(alias="_links")
    embedded: EmbeddedAttendances = Field(alias="_embedded")


def _hal(model: BaseModel):
    response = jsonify(model.model_dump(mode="json", by_alias=True))
    response.mimetype = HAL
    return response


def _event_url(event_id: int) -> str:
    return absolute_url("api.osdi_event", event_id=event_id)


def _osdi_event(event: EventModel, counts: dict[str, int]) -> OsdiEvent:
    location = None
    if not event.is_online:
        show_address = not event.location_hidden and event.address
        location = Location(
            venue=event.public_place or None,
            address_lines=[event.address] if show_address else [],
            locality=event.city or None,
            region=event.region,
        )
    return OsdiEvent(
        identifiers=[f"organizer:{event.id}"],
        title=event.title,
        name=event.title,
        description=event.description_html,
        browser_url=absolute_url("events.detail", event_id=event.id),
        start_date=event.starts_at,
        end_date=event.ends_at,
        status="cancelled" if event.status == "cancelled" else "confirmed",
        type="ticketed" if event.capacity else "open",
        visibility="private" if event.visibility == "unlisted" else "public",
        capacity=event.capacity,
        total_accepted=counts.get("confirmed", 0),
        location=location,
        links=EventLinks(
            self=Link(href=_event_url(event.id)),
            attendances=Link(href=absolute_url("api.osdi_attendances", event_id=event.id)),
        ),
    )


def _attendance(signup: SignupModel) -> Attendance:
    return Attendance(
        identifiers=[f"organizer:signup:{signup.id}"],
        created_date=signup.created_at,
        modified_date=signup.updated_at,
        status=ATTENDANCE_STATUS.get(signup.status, "declined"),
        attended=None if signup.attendance is None else signup.attendance == "attended",
        person=Person(
            given_name=signup.name,
            email_addresses=[EmailAddress(address=signup.email)],
            phone_numbers=[PhoneNumber(number=signup.phone)] if signup.phone else [],
            languages_spoken=[signup.locale],
        ),
        links=AttendanceLinks(
            self=Link(href=_event_url(signup.event_id) + f"/attendances#{signup.id}"),
            event=Link(href=_event_url(signup.event_id)),
        ),
    )


def _collection_links(cursor: str | None) -> CollectionLinks:
    this_page = page_url(request.args.get("cursor"))
    next_url = _next_url(cursor)
    return CollectionLinks(
        self=Link(href=this_page), next=Link(href=next_url) if next_url else None
    )


@api.route(
    "/osdi/events",
    "GET",
    summary="Upcoming public actions as OSDI events (HAL+JSON)",
    response=EventCollection,
    query=schemas.EventListQuery,
    tag="OSDI",
    media_type=HAL,
    example="?limit=5",
)
def osdi_events():
    """The list of /events in OSDI's shape: `_embedded["osdi:events"]`, `_links.next` until
    the last page. Same filters and order as /events."""
    query = _query(schemas.EventListQuery)
    events, counts, cursor = event_page(query)
    return _hal(
        EventCollection(
            per_page=query.limit,
            links=_collection_links(cursor),
            embedded=EmbeddedEvents(events=[_osdi_event(e, counts.get(e.id, {})) for e in events]),
        )
    )


@api.route(
    "/osdi/events/<int:event_id>",
    "GET",
    summary="One action as an OSDI event (HAL+JSON)",
    response=OsdiEvent,
    tag="OSDI",
    media_type=HAL,
)
def osdi_event(event_id: int):
    """An action as /events/{event_id} shows it, in OSDI's shape."""
    event = event_service.load_event(event_id)
    if event is None or event.status == STATUS_DRAFT:
        raise ApiError(404)
    counts = signup_service.counts_by_event([event.id])[event.id]
    return _hal(_osdi_event(event, counts))


@api.route(
    "/osdi/events/<int:event_id>/attendances",
    "GET",
    summary="An action's sign-ups as OSDI attendances (HAL+JSON)",
    response=AttendanceCollection,
    query=schemas.PageQuery,
    auth=READ,
    tag="OSDI",
    media_type=HAL,
    example="-H 'Authorization: Bearer org_…'",
)
def osdi_attendances(event_id: int):
    """Everyone who signed up for one of the organization's actions, oldest first, with their
    contact details: handle them as the roster is handled."""
    event = _hosted_event(event_id)
    query = _query(schemas.PageQuery)
    signups = org_data.signups_of(
        _token().organization,
        after_id=_id_cursor(query.cursor),
        limit=query.limit + 1,
        event_id=event.id,
    )
    cursor = None
    if len(signups) > query.limit:
        signups = signups[: query.limit]
        cursor = _encode_cursor(signups[-1].id)
    return _hal(
        AttendanceCollection(
            per_page=query.limit,
            links=_collection_links(cursor),
            embedded=EmbeddedAttendances(attendances=[_attendance(s) for s in signups]),
        )
    )
