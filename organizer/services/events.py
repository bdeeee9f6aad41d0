"""Actions: create, edit, publish, cancel, delete drafts, and find them.

Every mutation commits, then tells the volunteers what they need to know: a change of time
or place, a cancellation, a promotion from the waitlist after the capacity went up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..choices import CAUSES, EVENT_KINDS, REGIONS
from ..email import Attachment, build_email, send_many
from ..extensions import db
from ..ics import calendar_for
from ..markdown import render_markdown
from ..models import Event, EventCause, EventHost, Organization, Signup, User
from ..models import event as ev
from ..models import signup as st
from . import signups as signup_service
from .errors import InvalidInput, InvalidTransition

# What volunteers are told about when it changes: when and where.
TIME_FIELDS = ("starts_at", "ends_at")
PLACE_FIELDS = ("address", "online_url", "is_online", "city", "region")
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=2)


@dataclass
class EventData:
    """Everything an organizer enters for an action, already validated and in UTC."""

    title: str
    region: str
    starts_at: datetime
    ends_at: datetime
    description_md: str = ""
    language: str = "en"
    kind: str = "other"
    causes: list[str] = field(default_factory=list)
    city: str = ""
    is_online: bool = False
    address: str = ""
    online_url: str = ""
    capacity: int | None = None
    waitlist_enabled: bool = True
    approval_required: bool = False
    visibility: str = ev.VISIBILITY_PUBLIC
    location_visibility: str = ev.LOCATION_PUBLIC
    reveal_hours_before: int | None = None
    cohost_slugs: list[str] = field(default_factory=list)


@dataclass
class EventChanges:
    """What an edit changed, and whom it told."""

    fields: set[str] = field(default_factory=set)
    old: dict[str, object] = field(default_factory=dict)
    notified: int = 0
    promoted: list[Signup] = field(default_factory=list)

    @property
    def time_changed(self) -> bool:
        return any(f in self.fields for f in TIME_FIELDS)

    @property
    def place_changed(self) -> bool:
        return any(f in self.fields for f in PLACE_FIELDS)

    @property
    def any(self) -> bool:
        return bool(self.fields)


# --- writing -------------------------------------------------------------------------------


def _check_vocabulary(data: EventData) -> None:
    errors: dict[str, str] = {}
    if data.kind not in EVENT_KINDS:
        errors["kind"] = str(_l("Not a valid choice."))
    if data.region not in REGIONS:
        errors["region"] = str(_l("Not a valid choice."))
    if any(c not in CAUSES for c in data.causes):
        errors["causes"] = str(_l("Not a valid choice."))
    if data.ends_at <= data.starts_at:
        errors["end_date"] = str(_l("The end must be after the start."))
    if data.capacity is not None and data.capacity < 1:
        errors["capacity"] = str(_l("Leave empty for unlimited, or enter at least 1."))
    if errors:
        raise InvalidInput(errors)


def _resolve_cohosts(primary: Organization, slugs: list[str]) -> list[Organization]:
    """Co-hosting organizations by slug; the primary host can't co-host its own action."""
    wanted = list(dict.fromkeys(s.strip().lower() for s in slugs if s.strip()))
    if not wanted:
        return []
    if primary.slug in wanted:
        raise InvalidInput(
            {"cohosts": str(_l("The hosting organization can't also be a co-host."))}
        )
    query = select(Organization).where(Organization.slug.in_(wanted))
    found = {o.slug: o for o in db.session.scalars(query)}
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise InvalidInput(
            {"cohosts": str(_l("No organization called %(slug)s.", slug=", ".join(unknown)))}
        )
    return [found[s] for s in wanted]


def _apply(event: Event, data: EventData, cohosts: list[Organization]) -> None:
    event.title = data.title.strip()
    event.description_md = data.description_md
    event.description_html = render_markdown(data.description_md)
    event.language = data.language
    event.kind = data.kind
    event.region = data.region
    event.city = data.city.strip()
    event.starts_at = data.starts_at
    event.ends_at = data.ends_at
    event.is_online = data.is_online
    # Only the half that applies is kept: an old address must not linger on an online action.
    event.address = "" if data.is_online else data.address.strip()
    event.online_url = data.online_url.strip() if data.is_online else ""
    event.capacity = data.capacity
    event.waitlist_enabled = data.waitlist_enabled
    event.approval_required = data.approval_required
    event.visibility = data.visibility
    event.location_visibility = data.location_visibility
    event.reveal_hours_before = (
        data.reveal_hours_before if data.location_visibility == ev.LOCATION_CONFIRMED else None
    )
    wanted_causes = list(dict.fromkeys(data.causes))
    event.causes = [c for c in event.causes if c.cause in wanted_causes] + [
        EventCause(cause=c) for c in wanted_causes if c not in event.cause_slugs
    ]
    wanted_ids = [o.id for o in cohosts]
    current_ids = {h.organization_id for h in event.cohosts}
    event.cohosts = [h for h in event.cohosts if h.organization_id in wanted_ids] + [
        EventHost(organization=o) for o in cohosts if o.id not in current_ids
    ]


def create_event(org: Organization, author: User | None, data: EventData, now: datetime) -> Event:
    """A new action, saved as a draft of `org`; the same form sent twice makes one draft."""
    _check_vocabulary(data)
    cohosts = _resolve_cohosts(org, data.cohost_slugs)
    twin = db.session.scalar(
        select(Event).where(
            Event.organization_id == org.id,
            Event.status == ev.STATUS_DRAFT,
            Event.title == data.title.strip(),
            Event.starts_at == data.starts_at,
            Event.created_by_id == (author.id if author is not None else None),
            Event.created_at >= now - DOUBLE_SUBMIT_WINDOW,
        )
    )
    if twin is not None:
        return twin
    event = Event(
        organization=org,
        timezone=org.timezone,
        status=ev.STATUS_DRAFT,
        created_by_id=author.id if author is not None else None,
        created_at=now,
        updated_at=now,
        sequence=0,
        roster_version=0,
    )
    event.causes = []
    event.cohosts = []
    _apply(event, data, cohosts)
    db.session.add(event)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return event


def _snapshot(event: Event) -> dict[str, object]:
    return {
        "title": event.title,
        "description_md": event.description_md,
        "language": event.language,
        "kind": event.kind,
        "region": event.region,
        "city": event.city,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "is_online": event.is_online,
        "address": event.address,
        "online_url": event.online_url,
        "capacity": event.capacity,
        "waitlist_enabled": event.waitlist_enabled,
        "approval_required": event.approval_required,
        "visibility": event.visibility,
        "location_visibility": event.location_visibility,
        "reveal_hours_before": event.reveal_hours_before,
        "causes": sorted(event.cause_slugs),
        "cohosts": sorted(
            h.organization_id if h.organization_id is not None else h.organization.id
            for h in event.cohosts
        ),
    }


def _to_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def update_event(event: Event, data: EventData, now: datetime) -> EventChanges:
    """Save an edit; volunteers hear about a new time or place, the waitlist moves up."""
    if event.is_cancelled:
        raise InvalidTransition("cancelled")
    _check_vocabulary(data)
    cohosts = _resolve_cohosts(event.organization, data.cohost_slugs)
    # Forms work to the minute: an unchanged minute keeps the stored instant (and stays quiet).
    if data.starts_at == _to_minute(event.starts_at):
        data.starts_at = event.starts_at
    if data.ends_at == _to_minute(event.ends_at):
        data.ends_at = event.ends_at
    before = _snapshot(event)
    _apply(event, data, cohosts)
    after = _snapshot(event)
    changes = EventChanges(
        fields={k for k in after if after[k] != before[k]},
        old={k: before[k] for k in after if after[k] != before[k]},
    )
    if not changes.any:
        db.session.rollback()
        return changes
    event.sequence = (event.sequence or 0) + 1
    event.updated_at = now
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise

    if event.is_published and (changes.time_changed or changes.place_changed):
        changes.notified = _notify_volunteers(event, "event_changed", now, changes=changes)
    old_capacity = before["capacity"]
    if (
        event.is_published
        and old_capacity is not None
        and (
            event.capacity is None or event.capacity > old_capacity  # type: ignore[operator]
        )
    ):
        changes.promoted = signup_service.fill_after_capacity_change(event.id, now)
        if changes.promoted:
            _notify_promoted(changes.promoted)
    return changes


def publish_event(event: Event, now: datetime) -> Event:
    """Make a draft visible (and open for sign-ups)."""
    if event.status != ev.STATUS_DRAFT:
        raise InvalidTransition(event.status)
    if event.ends_at <= now:
        raise InvalidTransition("past")
    event.status = ev.STATUS_PUBLISHED
    event.published_at = now
    event.updated_at = now
    event.sequence = (event.sequence or 0) + 1
    db.session.commit()
    return event


def cancel_event(event: Event, now: datetime, message: str = "") -> int:
    """Call the action off and email every volunteer who still held a place, spot or request.

    Returns how many volunteers were emailed.
    """
    if event.status != ev.STATUS_PUBLISHED:
        raise InvalidTransition(event.status)
    if event.ends_at <= now:
        raise InvalidTransition("past")
    event.status = ev.STATUS_CANCELLED
    event.cancelled_at = now
    event.updated_at = now
    event.sequence = (event.sequence or 0) + 1
    db.session.commit()
    return _notify_volunteers(event, "event_cancelled", now, message=message.strip())


def delete_draft(event: Event) -> None:
    """Drafts may be deleted; a published action is cancelled instead, so volunteers hear of it."""
    if event.status != ev.STATUS_DRAFT:
        raise InvalidTransition(event.status)
    db.session.delete(event)
    db.session.commit()


# --- telling volunteers ----------------------------------------------------------------------


@contextmanager
def _url_context() -> Iterator[None]:
    """url_for needs a request; commands and tests may call services without one."""
    if has_request_context():
        yield
    else:
        with current_app.test_request_context():
            yield


def _active_signups(event_id: int) -> list[Signup]:
    return list(
        db.session.scalars(
            select(Signup)
            .where(Signup.event_id == event_id, Signup.status.in_(st.ACTIVE_STATUSES))
            .order_by(Signup.id)
        )
    )


def _notify_volunteers(event: Event, template: str, now: datetime, **context) -> int:
    signups = _active_signups(event.id)
    if not signups:
        return 0
    from .notifications import manage_url  # the sign-ups area's signed "see or cancel" link

    messages = []
    with _url_context():
        base = current_app.config["PUBLIC_URL"]
        event_url = base + url_for("events.detail", event_id=event.id)
        listing_url = base + url_for("events.index")
        for signup in signups:
            can_see = signup_service.can_see_location(event, signup, now)
            ics = calendar_for([event], now, reveal_location=can_see)
            messages.append(
                build_email(
                    signup.email,
                    template,
                    signup.locale,
                    attachments=[Attachment("action.ics", ics, "text/calendar")],
                    event=event,
                    signup=signup,
                    can_see_location=can_see,
                    event_url=event_url,
                    listing_url=listing_url,
                    manage_url=manage_url(signup),
                    **context,
                )
            )
    return send_many(messages)


def _notify_promoted(promoted: list[Signup]) -> None:
    """Volunteers who moved up from the waitlist get the full details, like a new sign-up."""
    from .notifications import notify_promoted

    with _url_context():
        notify_promoted(promoted)


# --- finding ---------------------------------------------------------------------------------


@dataclass
class EventFilters:
    q: str = ""
    org: Organization | None = None
    cause: str | None = None
    region: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    online: bool | None = None
    kind: str | None = None
    timezone: str = "UTC"


@dataclass
class EventPage:
    events: list[Event]
    counts: dict[int, dict[str, int]]
    page: int
    per_page: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def card_options():
    """What a card shows, loaded in a fixed number of queries whatever the page size."""
    return (
        joinedload(Event.organization),
        selectinload(Event.cohosts).joinedload(EventHost.organization),
        selectinload(Event.causes),
    )


def listed_events(now: datetime):
    """The public listing: published, public, not yet over."""
    return select(Event).where(
        Event.status == ev.STATUS_PUBLISHED,
        Event.visibility == ev.VISIBILITY_PUBLIC,
        Event.ends_at > now,
    )


def hosted_by(org_id: int):
    """Condition: `org_id` hosts or co-hosts the action."""
    return or_(
        Event.organization_id == org_id,
        exists().where(EventHost.event_id == Event.id, EventHost.organization_id == org_id),
    )


def _local_midnight_utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def _filtered(query, filters: EventFilters):
    if filters.q:
        # Title, description and city only: never the address or link, which may be hidden.
        query = query.where(
            or_(
                Event.title.icontains(filters.q, autoescape=True),
                Event.description_md.icontains(filters.q, autoescape=True),
                Event.city.icontains(filters.q, autoescape=True),
            )
        )
    if filters.org is not None:
        query = query.where(hosted_by(filters.org.id))
    if filters.cause:
        query = query.where(
            exists().where(EventCause.event_id == Event.id, EventCause.cause == filters.cause)
        )
    if filters.region:
        query = query.where(Event.region == filters.region)
    if filters.kind:
        query = query.where(Event.kind == filters.kind)
    if filters.online is not None:
        query = query.where(Event.is_online.is_(filters.online))
    if filters.date_from:
        start = _local_midnight_utc(filters.date_from, filters.timezone)
        query = query.where(Event.ends_at > start)
    if filters.date_to:
        end = _local_midnight_utc(filters.date_to + timedelta(days=1), filters.timezone)
        query = query.where(Event.starts_at < end)
    return query


def search_events(
    filters: EventFilters, now: datetime, page: int = 1, per_page: int = 20
) -> EventPage:
    """One page of upcoming public actions, soonest first: always the same few queries."""
    page = max(1, page)
    base = _filtered(listed_events(now), filters)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    events = list(
        db.session.scalars(
            base.options(*card_options())
            .order_by(Event.starts_at, Event.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).unique()
    )
    counts = signup_service.counts_by_event([e.id for e in events])
    return EventPage(events=events, counts=counts, page=page, per_page=per_page, total=total)


def upcoming_sections(
    now: datetime, week_limit: int = 9, later_limit: int = 6
) -> tuple[list[Event], list[Event], dict[int, dict[str, int]]]:
    """For the home page: this week's actions and what comes after, in a fixed number of queries."""
    week_end = now + timedelta(days=7)
    listed = listed_events(now).with_only_columns(Event.id).order_by(Event.starts_at, Event.id)
    week_ids = list(db.session.scalars(listed.where(Event.starts_at < week_end).limit(week_limit)))
    later_ids = list(
        db.session.scalars(listed.where(Event.starts_at >= week_end).limit(later_limit))
    )
    loaded = {
        e.id: e
        for e in db.session.scalars(
            select(Event).where(Event.id.in_(week_ids + later_ids)).options(*card_options())
        ).unique()
    }
    counts = signup_service.counts_by_event(week_ids + later_ids)
    return [loaded[i] for i in week_ids], [loaded[i] for i in later_ids], counts


def calendar_events(now: datetime, limit: int = 1000) -> list[Event]:
    """Every upcoming public action, for the site-wide calendar feed (one query)."""
    query = listed_events(now).order_by(Event.starts_at, Event.id).limit(limit)
    return list(db.session.scalars(query))


def load_event(event_id: int) -> Event | None:
    return db.session.scalar(select(Event).where(Event.id == event_id).options(*card_options()))


def organizations_with_upcoming(now: datetime, limit: int = 12) -> list[tuple[Organization, int]]:
    """Organizations with how many public actions they host next, busiest first (one query)."""
    upcoming = func.count(Event.id)
    rows = db.session.execute(
        select(Organization, upcoming)
        .outerjoin(
            Event,
            (Event.organization_id == Organization.id)
            & (Event.status == ev.STATUS_PUBLISHED)
            & (Event.visibility == ev.VISIBILITY_PUBLIC)
            & (Event.ends_at > now),
        )
        .group_by(Organization.id)
        .order_by(upcoming.desc(), Organization.name)
        .limit(limit)
    ).all()
    return [(org, count) for org, count in rows]
