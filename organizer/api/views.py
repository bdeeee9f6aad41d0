"""The API's operations: each parses its input with a pydantic model, calls a service, and
answers with another; openapi.py turns the same declarations into the document."""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import current_app, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from ..events.forms import MAX_DURATION, MAX_YEARS_AHEAD, is_web_url
from ..extensions import csrf, db, limiter
from ..forms import multi_line, one_line
from ..models import ApiToken, EventSeries
from ..models import Event as EventModel
from ..models import Organization as OrganizationModel
from ..models import Signup as SignupModel
from ..models.event import STATUS_DRAFT
from ..services import events as event_service
from ..services import notifications, org_data, orgs
from ..services import series as series_service
from ..services import signups as signup_service
from ..services.accounts import normalize_email
from ..services.errors import (
    AlreadySignedUp,
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    NotFound,
    SignupClosed,
)
from ..web import absolute_url, now_utc
from . import PREFIX, api, bp, schemas
from .auth import check_organization, rate_key, rate_limit
from .errors import ApiError, error_response, from_api_error, from_http_exception, normalize
from .openapi import READ, READ_WRITE

M = TypeVar("M", bound=BaseModel)

csrf.exempt(bp)  # no cookie authenticates an API call: a bearer token does, or nothing
limiter.shared_limit(rate_limit, scope="api", key_func=rate_key)(bp)  # one bucket for all calls
bp.after_app_request(normalize)


# --- errors ----------------------------------------------------------------------------------


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return from_api_error(error)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    response = from_http_exception(error)
    if error.code == 429:
        current = limiter.current_limit
        wait = current.reset_at - time.time() if current is not None else 60
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


@bp.errorhandler(NotFound)
def not_found(error):
    return error_response(404)


@bp.errorhandler(NotAllowed)
def not_allowed(error):
    return error_response(403)


@bp.errorhandler(InvalidInput)
def invalid_input(error: InvalidInput):
    return _invalid(error.errors)


def _invalid(errors: dict[str, Any]) -> Any:
    details = [
        {"field": name, "message": str(message), "type": "invalid"}
        for name, message in errors.items()
    ]
    return error_response(422, _("Some values are not valid."), details=details)


# --- parsing ---------------------------------------------------------------------------------


def _details(error: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in problem["loc"]),
            "message": problem["msg"],
            "type": problem["type"],
        }
        for problem in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def _query(model: type[M]) -> M:
    try:
        return model.model_validate({key: request.args.get(key) for key in request.args})
    except ValidationError as error:
        raise ApiError(422, _("Some values are not valid."), details=_details(error)) from None


def _body(model: type[M]) -> M:
    raw = request.get_data(cache=True)  # RequestEntityTooLarge (413) past MAX_CONTENT_LENGTH
    try:
        data = json.loads(raw)
        # Lone surrogates parse, but no database stores them.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        raise ApiError(400, _("The body is not valid JSON."), code="invalid_json") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(422, _("Some values are not valid."), details=_details(error)) from None


def _encode_cursor(*values: object) -> str:
    text = json.dumps([str(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, size: int) -> list[str] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise ApiError(400, _("This cursor is not valid."), code="bad_cursor")
    return [str(v) for v in values]


def _id_cursor(cursor: str | None) -> int:
    values = _decode_cursor(cursor, 1)
    if values is None:
        return 0
    value = values[0]
    if not (value.isascii() and value.isdigit() and len(value) < 11):
        raise ApiError(400, _("This cursor is not valid."), code="bad_cursor")
    return int(value)


def page_url(cursor: str | None) -> str:
    """This page's address with `cursor` (none: the first page). Only plain query parameters
    are kept: url_for reads `_method`, `_scheme`… itself, and path parameters are given."""
    view_args = request.view_args or {}
    args = {
        key: value
        for key, value in request.args.items()
        if not key.startswith("_") and key not in view_args and key != "cursor"
    }
    if cursor:
        args["cursor"] = cursor
    return absolute_url(request.endpoint, **view_args, **args)


def _next_url(cursor: str | None) -> str | None:
    return None if cursor is None else page_url(cursor)


def _respond(model: BaseModel, status: int = 200):
    response = jsonify(model.model_dump(mode="json", by_alias=True))
    response.status_code = status
    return response


# --- shapes ----------------------------------------------------------------------------------


def _org_ref(org: OrganizationModel) -> schemas.OrganizationRef:
    return schemas.OrganizationRef(
        slug=org.slug, name=org.name, url=absolute_url("orgs.public", slug=org.slug)
    )


def _organization(org: OrganizationModel) -> schemas.Organization:
    return schemas.Organization(
        **_org_ref(org).model_dump(),
        description=org.description,
        timezone=org.timezone,
        default_locale=org.default_locale,
        events=absolute_url("api.list_events", org=org.slug),
    )


def _event(event: EventModel, counts: dict[str, int], managed: bool = False) -> Any:
    reveal = managed or not event.location_hidden
    fields = dict(
        id=event.id,
        url=absolute_url("events.detail", event_id=event.id),
        title=event.title,
        description=event.description_md,
        description_html=event.description_html,
        language=event.language,
        kind=event.kind,
        causes=event.cause_slugs,
        region=event.region,
        city=event.city,
        place=event.public_place,
        is_online=event.is_online,
        location_hidden=event.location_hidden,
        address=event.address if reveal and not event.is_online and event.address else None,
        online_url=event.online_url if reveal and event.is_online and event.online_url else None,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        status=event.status,
        organization=_org_ref(event.organization),
        cohosts=[_org_ref(h.organization) for h in event.accepted_cohosts],
        capacity=event.capacity,
        confirmed_count=counts.get("confirmed", 0),
        places_left=signup_service.places_left_in(event, counts),
        waitlist_enabled=event.waitlist_enabled,
        approval_required=event.approval_required,
    )
    if not managed:
        return schemas.Event(**fields)
    return schemas.ManagedEvent(
        **fields,
        visibility=event.visibility,
        location_visibility=event.location_visibility,
        reveal_hours_before=event.reveal_hours_before,
        reminder_hours=event.reminder_hours,
        second_reminder=event.second_reminder,
    )


def _signup(signup: SignupModel) -> schemas.Signup:
    return schemas.Signup.model_validate(signup, from_attributes=True)


# --- public ----------------------------------------------------------------------------------


@api.route(
    "/events",
    "GET",
    summary="List upcoming public actions",
    response=schemas.EventList,
    query=schemas.EventListQuery,
    tag="Actions",
    example="?region=jerusalem&limit=10",
)
def list_events():
    """Published, public actions not over yet, soonest first (by start, then id), with the
    same filters as the /events/ page. Pages are stable: follow `next` until it is null."""
    events, counts, cursor = event_page(_query(schemas.EventListQuery))
    return _respond(
        schemas.EventList(
            data=[_event(e, counts.get(e.id, {})) for e in events],
            next_cursor=cursor,
            next=_next_url(cursor),
        )
    )


def event_page(
    query: schemas.EventListQuery,
) -> tuple[list[EventModel], dict[int, dict[str, int]], str | None]:
    """One page of the public listing, and the cursor of the next (None on the last page)."""
    after = None
    values = _decode_cursor(query.cursor, 2)
    if values is not None:
        try:
            starts_at, event_id = datetime.fromisoformat(values[0]), int(values[1])
        except ValueError:
            raise ApiError(400, _("This cursor is not valid."), code="bad_cursor") from None
        if starts_at.tzinfo is None or not 0 <= event_id < 2**31:
            raise ApiError(400, _("This cursor is not valid."), code="bad_cursor")
        after = (starts_at, event_id)
    filters = event_service.EventFilters(
        q=one_line(query.q or ""),
        cause=query.cause,
        region=query.region,
        kind=query.kind,
        date_from=query.date_from,
        date_to=query.date_to,
        online=query.online,
        timezone=current_app.config["DEFAULT_TIMEZONE"],
    )
    if query.org:
        try:
            filters.org = orgs.get_organization(query.org.lower())
        except NotFound:
            raise InvalidInput(
                {"org": _("No organization called %(slug)s.", slug=query.org)}
            ) from None
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise InvalidInput({"to": _("The end date was before the start date.")})
    events, counts = event_service.events_after(filters, now_utc(), after, query.limit + 1)
    cursor = None
    if len(events) > query.limit:
        events = events[: query.limit]
        cursor = _encode_cursor(events[-1].starts_at.isoformat(), events[-1].id)
    return events, counts, cursor


@api.route(
    "/events/<int:event_id>",
    "GET",
    summary="One action",
    response=schemas.Event,
    tag="Actions",
)
def get_event(event_id: int):
    """An action as its page shows it to anyone: public or unlisted, published or cancelled
    (drafts are not found). A hidden meeting point is never included."""
    event = event_service.load_event(event_id)
    if event is None or event.status == STATUS_DRAFT:
        raise ApiError(404)
    counts = signup_service.counts_by_event([event.id])[event.id]
    return _respond(_event(event, counts))


@api.route(
    "/orgs",
    "GET",
    summary="List organizations",
    response=schemas.OrganizationList,
    tag="Organizations",
)
def list_orgs():
    """Every organization, by name."""
    return _respond(
        schemas.OrganizationList(data=[_organization(o) for o in orgs.all_organizations()])
    )


@api.route(
    "/orgs/<slug>",
    "GET",
    summary="One organization",
    response=schemas.Organization,
    tag="Organizations",
)
def get_org(slug: str):
    """An organization's public details; `events` lists its upcoming actions."""
    return _respond(_organization(orgs.get_organization(slug)))


# --- with a token ----------------------------------------------------------------------------


def _token() -> ApiToken:
    return g.api_token


def _own_org(slug: str) -> OrganizationModel:
    org = orgs.get_organization(slug)
    check_organization(_token(), org)
    return org


def _hosted_event(event_id: int) -> EventModel:
    """An action the token's organization hosts (403 for another's, 404 for another's draft)."""
    event = event_service.load_event(event_id)
    if event is None:
        raise ApiError(404)
    if _token().organization_id not in event.host_ids:
        if event.status == STATUS_DRAFT:
            raise ApiError(404)
        raise ApiError(403, _("This token belongs to another organization."))
    return event


@api.route(
    "/orgs/<slug>/signups",
    "GET",
    summary="Sign-ups of the organization's actions",
    response=schemas.SignupList,
    query=schemas.SignupListQuery,
    auth=READ,
    tag="Sign-ups",
    example="-H 'Authorization: Bearer org_…'",
)
def list_signups(slug: str):
    """Everyone who signed up for an action the organization hosts or co-hosts, oldest first,
    with their contact details: handle them as the roster is handled."""
    org = _own_org(slug)
    query = _query(schemas.SignupListQuery)
    signups = org_data.signups_of(
        org,
        after_id=_id_cursor(query.cursor),
        limit=query.limit + 1,
        event_id=query.event,
        status=query.status,
    )
    cursor = None
    if len(signups) > query.limit:
        signups = signups[: query.limit]
        cursor = _encode_cursor(signups[-1].id)
    return _respond(
        schemas.SignupList(
            data=[_signup(s) for s in signups], next_cursor=cursor, next=_next_url(cursor)
        )
    )


@api.route(
    "/events/<int:event_id>/signups",
    "POST",
    summary="Sign a volunteer up",
    response=schemas.SignupCreated,
    status=201,
    body=schemas.SignupIn,
    auth=READ_WRITE,
    errors=(409,),
    tag="Sign-ups",
    example="-H 'Authorization: Bearer org_…' -H 'Content-Type: application/json' "
    '-d \'{"name": "Dana", "email": "dana@example.org"}\'',
)
def create_signup(event_id: int):
    """Sign a volunteer up on their behalf, as the action's page would: a place, the waitlist
    when full, or a request when organizers approve each volunteer; they get the same email.
    409 `already_signed_up` when the address is already on the roster, 409 `signup_closed`
    when the action takes no sign-ups (over, cancelled, draft, or full without a waitlist)."""
    event = _hosted_event(event_id)
    data = _body(schemas.SignupIn)
    name = one_line(data.name)
    if not name:
        return _invalid({"name": _("Please tell us your name.")})
    details = dict(
        name=name,
        email=data.email,
        phone=data.phone,
        now=now_utc(),
        locale=data.locale or _token().organization.default_locale,
    )
    try:
        normalize_email(data.email)
    except ValueError:
        return _invalid({"email": _("Please enter a valid email address, like name@example.org.")})
    try:
        if event.shifts:
            result = signup_service.sign_up_for_shifts(event.id, data.shift_ids, **details)
            if not result.new:
                raise AlreadySignedUp(result.signups[0])
            notifications.notify_shift_signup(result.signups)
            signups = result.signups
        else:
            if data.shift_ids:
                return _invalid({"shift_ids": _("This action has no shifts.")})
            signups = [signup_service.sign_up(event.id, **details)]
            notifications.notify_signup(signups[0])
    except AlreadySignedUp:
        raise ApiError(
            409, _("This address is already signed up."), code="already_signed_up"
        ) from None
    except SignupClosed as closed:
        raise ApiError(
            409,
            _("This action takes no sign-ups now."),
            code="signup_closed",
            details=[{"field": "", "message": closed.reason, "type": closed.reason}],
        ) from None
    return _respond(
        schemas.SignupCreated(
            data=[_signup(s) for s in signups],
            waitlist_position=signup_service.waitlist_position(signups[0]),
        ),
        201,
    )


@api.route(
    "/orgs/<slug>/subscribers",
    "GET",
    summary="Digest subscribers who follow the organization",
    response=schemas.SubscriberList,
    query=schemas.PageQuery,
    auth=READ,
    tag="Subscribers",
    example="-H 'Authorization: Bearer org_…'",
)
def list_subscribers(slug: str):
    """Confirmed subscribers of the weekly digest who chose this organization: only what they
    shared (address, name if given, language, since when)."""
    org = _own_org(slug)
    query = _query(schemas.PageQuery)
    rows = org_data.subscribers_of(org, after_id=_id_cursor(query.cursor), limit=query.limit + 1)
    cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        cursor = _encode_cursor(rows[-1].id)
    return _respond(
        schemas.SubscriberList(
            data=[
                schemas.Subscriber(
                    email=s.email, name=s.name or None, language=s.locale, since=s.confirmed_at
                )
                for s in rows
            ],
            next_cursor=cursor,
            next=_next_url(cursor),
        )
    )


# --- writing actions -------------------------------------------------------------------------


def _event_data(values: dict[str, Any], original_start: datetime | None) -> event_service.EventData:
    """The action form's checks, on an API body merged over the stored action (if any)."""
    now = now_utc()
    errors: dict[str, str] = {}
    title = one_line(values["title"] or "")
    if not title:
        errors["title"] = _("This field is required.")
    start = values["starts_at"].astimezone(UTC).replace(second=0, microsecond=0)
    end = values["ends_at"].astimezone(UTC).replace(second=0, microsecond=0)
    if end <= start:
        errors["ends_at"] = _("The end must be after the start.")
    elif end - start > MAX_DURATION:
        errors["ends_at"] = _("An action can last at most 31 days.")
    changed = original_start is None or start != original_start.replace(second=0, microsecond=0)
    if changed and start <= now:
        errors["starts_at"] = _("The start must be in the future.")
    if start > now + timedelta(days=365 * MAX_YEARS_AHEAD):
        errors["starts_at"] = _("Actions can be planned at most five years ahead.")
    online_url = one_line(values["online_url"] or "")
    address = one_line(values["address"] or "")
    if values["is_online"]:
        if not online_url:
            errors["online_url"] = _("Please give the meeting link.")
        elif not is_web_url(online_url):
            errors["online_url"] = _("Please give a web address starting with https:// or http://.")
    elif not address:
        errors["address"] = _("Please give the address or meeting point.")
    if errors:
        raise InvalidInput(errors)
    hidden = values["location_visibility"] == "confirmed"
    return event_service.EventData(
        title=title,
        region=values["region"],
        starts_at=start,
        ends_at=end,
        description_md=multi_line(values["description"] or ""),
        language=values["language"],
        kind=values["kind"],
        causes=list(values["causes"] or []),
        city=one_line(values["city"] or ""),
        is_online=bool(values["is_online"]),
        address=address,
        online_url=online_url,
        capacity=values["capacity"],
        waitlist_enabled=bool(values["waitlist_enabled"]),
        approval_required=bool(values["approval_required"]),
        visibility=values["visibility"],
        location_visibility=values["location_visibility"],
        reveal_hours_before=values["reveal_hours_before"] if hidden else None,
        reminder_hours=values["reminder_hours"],
        second_reminder=bool(values["second_reminder"]),
    )


NULLABLE = {"capacity", "reveal_hours_before", "reminder_hours"}
NEW_EVENT_DEFAULTS: dict[str, Any] = {
    "description": "",
    "language": "en",
    "kind": "other",
    "causes": [],
    "city": "",
    "is_online": False,
    "address": "",
    "online_url": "",
    "capacity": None,
    "waitlist_enabled": True,
    "approval_required": False,
    "visibility": "public",
    "location_visibility": "public",
    "reveal_hours_before": None,
    "reminder_hours": 24,
    "second_reminder": False,
}


def _given(body: schemas.EventFields) -> dict[str, Any]:
    """The fields the body set; null only where null means something."""
    return {
        name: getattr(body, name)
        for name in body.model_fields_set
        if name != "publish" and (getattr(body, name) is not None or name in NULLABLE)
    }


def _stored(event: EventModel) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event_service.EDITABLE_COLUMNS} | {
        "description": event.description_md,
        "causes": event.cause_slugs,
    }


def _publish(event: EventModel, now: datetime) -> None:
    try:
        event_service.publish_event(event, now)
    except InvalidTransition as error:
        raise ApiError(
            409, _("This action can't be published now."), code="cannot_publish"
        ) from error


@api.route(
    "/orgs/<slug>/events",
    "POST",
    summary="Create an action",
    response=schemas.ManagedEvent,
    status=201,
    body=schemas.EventIn,
    auth=READ_WRITE,
    errors=(409,),
    tag="Actions",
    example="-H 'Authorization: Bearer org_…' -H 'Content-Type: application/json' "
    '-d \'{"title": "Vigil", "region": "jerusalem", "address": "Paris Square", '
    '"starts_at": "2026-12-04T13:00:00+02:00", "ends_at": "2026-12-04T15:00:00+02:00"}\'',
)
def create_event(slug: str):
    """A new action of the organization, checked as the action form checks it; a draft
    unless `publish` is true."""
    org = _own_org(slug)
    body = _body(schemas.EventIn)
    data = _event_data(NEW_EVENT_DEFAULTS | _given(body), None)
    now = now_utc()
    event = event_service.create_event(org, None, data, now)
    if body.publish and event.status == STATUS_DRAFT:
        _publish(event, now)
    event = event_service.load_event(event.id)
    return _respond(_event(event, signup_service.counts_by_event([event.id])[event.id], True), 201)


@api.route(
    "/events/<int:event_id>",
    "PATCH",
    summary="Change an action",
    response=schemas.ManagedEvent,
    body=schemas.EventPatch,
    auth=READ_WRITE,
    errors=(409,),
    tag="Actions",
    example="-X PATCH -H 'Authorization: Bearer org_…' -H 'Content-Type: application/json' "
    "-d '{\"capacity\": 40}'",
)
def update_event(event_id: int):
    """Change some fields of an action the organization hosts; volunteers are emailed about
    a new time or place, and the waitlist moves up when places are added, as on the site.
    A date of a repeating action is changed alone. 409 `cancelled` for a cancelled action."""
    event = _hosted_event(event_id)
    body = _body(schemas.EventPatch)
    if event.is_cancelled:
        raise ApiError(409, _("A cancelled action can no longer be edited."), code="cancelled")
    data = _event_data(_stored(event) | _given(body), event.starts_at)
    now = now_utc()
    if event.series_id is not None:
        series = db.session.get(EventSeries, event.series_id)
        series_service.update_this(event, data, now, series.rule if series else None)
    else:
        event_service.update_event(event, data, now)
    if body.publish and event.status == STATUS_DRAFT:
        _publish(event, now)
    event = event_service.load_event(event.id)
    return _respond(_event(event, signup_service.counts_by_event([event.id])[event.id], True))


# --- the document ----------------------------------------------------------------------------

DESCRIPTION = (
    "Organizer's JSON API. Public reads need no token. An organization's owners make tokens "
    "on its “API tokens” page; send one as `Authorization: Bearer org_…`. A token sees its "
    "own organization only; a `read` token can't write. Errors always have the shape "
    '`{"error": {"status", "code", "message", "details"}}`. Rate limits apply per token, '
    "and per address without one; past them the answer is 429 with Retry-After."
)


def document() -> dict:
    return api.document(
        title="Organizer API",
        version="1.0.0",
        description=DESCRIPTION,
        server=current_app.config["PUBLIC_URL"],
    )


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.get("/docs")
def docs():
    doc = document()
    return render_template(
        "api/docs.html",
        doc=doc,
        operations=api.operations,
        prefix=doc["servers"][0]["url"] + PREFIX,
        path_prefix=PREFIX,
        openapi_url=url_for(".openapi_json"),
        schema_json=lambda schema: json.dumps(schema, indent=2, ensure_ascii=False),
    )
