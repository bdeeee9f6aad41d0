"""Actions: create, edit, publish, cancel, delete drafts, and find them.

Every mutation commits, then tells the volunteers what they need to know: a change of time
or place, a cancellation, a promotion from the waitlist after the capacity went up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..choices import CAUSES, EVENT_KINDS, LANGUAGE_NAMES, REGIONS
from ..email import build_email, send_many
from ..extensions import db
from ..markdown import render_markdown
from ..models import (
    Event,
    EventCause,
    EventHost,
    EventTranslation,
    Membership,
    NetworkMembership,
    Organization,
    Signup,
    User,
)
from ..models import audit as au
from ..models import event as ev
from ..models import network as nw
from ..models import webhook as wh
from ..web import absolute_url, url_context
from . import audit, notifications, permissions, webhooks
from . import shifts as shift_service
from . import signups as signup_service
from .errors import InvalidInput, InvalidTransition, NotAllowed, NotFound

# The action's own columns an organizer edits (causes and co-hosts are rows of their own).
EDITABLE_COLUMNS = (
    "title", "description_md", "language", "kind", "region", "city", "starts_at", "ends_at",
    "is_online", "address", "online_url", "capacity", "waitlist_enabled", "approval_required",
    "visibility", "location_visibility", "reveal_hours_before", "reminder_hours",
    "second_reminder",
)  # fmt: skip
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
    # Emailed this many hours before the start (None: never), and again two hours before.
    reminder_hours: int | None = ev.DEFAULT_REMINDER_HOURS
    second_reminder: bool = False
    # Checked with the rest (a bad slug writes nothing), but saved by set_cohosts, which knows
    # who is asking: co-hosts must accept first. None: the form had no say over co-hosts.
    cohost_slugs: list[str] | None = None
    # Other languages' (title, description) by locale; None: leave the translations as they are.
    translations: dict[str, tuple[str, str]] | None = None


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


def _resolve_cohosts(primary: Organization, slugs: list[str] | None) -> list[Organization]:
    """Co-hosting organizations by slug; the primary host can't co-host its own action."""
    wanted = list(dict.fromkeys(s.strip().lower() for s in slugs or () if s.strip()))
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


def _columns(data: EventData) -> dict[str, object]:
    """The action's own columns (EDITABLE_COLUMNS) exactly as `data` sets them."""
    hidden = data.location_visibility == ev.LOCATION_CONFIRMED
    return {
        "title": data.title.strip(),
        "description_md": data.description_md,
        "language": data.language,
        "kind": data.kind,
        "region": data.region,
        "city": data.city.strip(),
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "is_online": data.is_online,
        # Only the half that applies is kept: an old address must not linger on an online action.
        "address": "" if data.is_online else data.address.strip(),
        "online_url": data.online_url.strip() if data.is_online else "",
        "capacity": data.capacity,
        "waitlist_enabled": data.waitlist_enabled,
        "approval_required": data.approval_required,
        "visibility": data.visibility,
        "location_visibility": data.location_visibility,
        "reveal_hours_before": data.reveal_hours_before if hidden else None,
        "reminder_hours": data.reminder_hours,
        "second_reminder": data.second_reminder,
    }


def _apply(event: Event, data: EventData, cohosts: list[Organization]) -> None:
    """Copy the form onto the action. Not the co-hosts (`cohosts` is only checked): those are
    asked by set_cohosts, which knows who asks and emails the organizations asked."""
    for name, value in _columns(data).items():
        setattr(event, name, value)
    event.description_html = render_markdown(data.description_md)
    if data.translations is not None:
        _apply_translations(event, data.translations)
    wanted_causes = list(dict.fromkeys(data.causes))
    event.causes = [c for c in event.causes if c.cause in wanted_causes] + [
        EventCause(cause=c) for c in wanted_causes if c not in event.cause_slugs
    ]


def _apply_translations(event: Event, wanted: dict[str, tuple[str, str]]) -> None:
    """Keep a translation for each other language given a title; drop the rest, including
    one in what is now the action's own language."""
    kept = []
    existing = {t.locale: t for t in event.translations}
    for locale, (title, description_md) in wanted.items():
        title = title.strip()
        if locale == event.language or locale not in LANGUAGE_NAMES or not title:
            continue
        translation = existing.get(locale) or EventTranslation(locale=locale)
        translation.title = title
        translation.description_md = description_md
        translation.description_html = render_markdown(description_md)
        kept.append(translation)
    event.translations = sorted(kept, key=lambda t: t.locale)


def _translations_of(event: Event) -> list[tuple[str, str, str]]:
    return sorted((t.locale, t.title, t.description_md) for t in event.translations)


def create_event(org: Organization, author: User | None, data: EventData, now: datetime) -> Event:
    """A new action, saved as a draft of `org`; the same form sent twice makes one draft."""
    _check_vocabulary(data)
    cohosts = _resolve_cohosts(org, data.cohost_slugs)
    twin = _recent_twin(org, author, data, cohosts, now)
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
    event.translations = []
    _apply(event, data, cohosts)
    db.session.add(event)
    db.session.commit()
    return event


def _snapshot(event: Event) -> dict[str, object]:
    return {name: getattr(event, name) for name in EDITABLE_COLUMNS} | {
        "causes": sorted(event.cause_slugs),
        "cohosts": sorted(
            h.organization_id if h.organization_id is not None else h.organization.id
            for h in event.cohosts
        ),
        "translations": _translations_of(event),
    }


def _recent_twin(
    org: Organization,
    author: User | None,
    data: EventData,
    cohosts: list[Organization],
    now: datetime,
) -> Event | None:
    """A draft the same author saved moments ago from exactly the same form: every field and
    cause equal, and the co-hosts it asked. Another action with the same title and start is
    not one."""
    candidates = db.session.scalars(
        select(Event)
        .where(
            Event.organization_id == org.id,
            Event.status == ev.STATUS_DRAFT,
            Event.title == data.title.strip(),
            Event.starts_at == data.starts_at,
            Event.created_by_id == (author.id if author is not None else None),
            Event.created_at >= now - DOUBLE_SUBMIT_WINDOW,
        )
        .order_by(Event.id)
    )
    wanted = _columns(data) | {"causes": sorted(set(data.causes))}
    if data.translations is not None:
        wanted["translations"] = sorted(
            (locale, title.strip(), text)
            for locale, (title, text) in data.translations.items()
            if title.strip() and locale != data.language and locale in LANGUAGE_NAMES
        )
    asked = {o.id for o in cohosts}
    for event in candidates:
        snapshot = _snapshot(event)
        same_fields = {name: snapshot[name] for name in wanted} == wanted
        hosts = {h.organization_id for h in event.cohosts}
        if same_fields and (data.cohost_slugs is None or hosts == asked):
            return event
    return None


def _new_version(event: Event, now: datetime) -> None:
    """Calendars replace their copy of an action when its SEQUENCE goes up."""
    event.sequence += 1
    event.updated_at = now


def _to_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def update_event(event: Event, data: EventData, now: datetime) -> EventChanges:
    """Save an edit; volunteers hear about a new time or place, the waitlist moves up."""
    if event.is_cancelled:
        raise InvalidTransition(ev.STATUS_CANCELLED)
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
    _new_version(event, now)
    if changes.time_changed:
        shift_service.follow_move(event, changes.old.get("starts_at", event.starts_at))
    if event.is_published:  # queued with the edit, committed (or refused) with it
        webhooks.emit_action(wh.ACTION_UPDATED, event, now, changed=changes.fields)
    if "capacity" in changes.fields:
        # Checked against the places already taken, saved with the rest of the edit and filled
        # from the waitlist in one transaction with the roster locked: no sign-up gets between.
        changes.promoted = signup_service.apply_capacity_change(event.id, data.capacity, now)
    else:
        db.session.commit()

    if event.is_published and (changes.time_changed or changes.place_changed):
        changes.notified = notifications.notify_volunteers(
            event,
            "event_changed",
            now,
            changes=changes,
            saw_old_place=_old_place_seen_by(event, changes, now),
        )
    notifications.notify_promoted(changes.promoted, now)
    return changes


def _old_place_seen_by(
    event: Event, changes: EventChanges, now: datetime
) -> Callable[[Signup], bool]:
    """Whether a volunteer could see the exact place as it was before an edit: by the old
    visibility and reveal time, and the status they held then (the promoted were waiting)."""
    as_was = Event(
        id=event.id,
        **{
            name: changes.old.get(name, getattr(event, name))
            for name in ("starts_at", "location_visibility", "reveal_hours_before")
        },
    )
    promoted = {signup.id for signup in changes.promoted}

    def saw(signup: Signup) -> bool:
        if signup.id in promoted:
            return not as_was.location_hidden
        return signup_service.can_see_location(as_was, signup, now)

    return saw


def _move(event: Event, expected: str, status: str, now: datetime) -> None:
    """Change the status of an action that is not over yet, if it is `expected`."""
    if event.status != expected:
        raise InvalidTransition(event.status)
    if event.ends_at <= now:
        raise InvalidTransition("past")
    event.status = status
    _new_version(event, now)


def publish_event(event: Event, now: datetime) -> Event:
    """Make a draft visible (and open for sign-ups)."""
    _move(event, ev.STATUS_DRAFT, ev.STATUS_PUBLISHED, now)
    event.published_at = now
    db.session.commit()
    return event


def cancel_event(event: Event, now: datetime, message: str = "", actor: User | None = None) -> int:
    """Call the action off and email every volunteer who still held a place, spot or request.

    Returns how many volunteers were emailed. The hosts' audit logs get `actor` (None when a
    series' dates are called off for it) in the same transaction.
    """
    _move(event, ev.STATUS_PUBLISHED, ev.STATUS_CANCELLED, now)
    event.cancelled_at = now
    webhooks.emit_action(wh.ACTION_CANCELLED, event, now)
    details = {"volunteers": signup_service.active_count(event.id)}
    audit.record_for_event(event, actor, au.EVENT_CANCELLED, now, details)
    db.session.commit()
    return notifications.notify_volunteers(event, "event_cancelled", now, message=message.strip())


def delete_draft(event: Event) -> None:
    """Drafts may be deleted; a published action is cancelled instead, so volunteers hear of it."""
    if event.status != ev.STATUS_DRAFT:
        raise InvalidTransition(event.status)
    db.session.delete(event)
    db.session.commit()


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
    # A network's page: actions the network or one of its active members hosts or co-hosts.
    network: Organization | None = None


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
    """What a card shows (hosts, translated titles), loaded with the actions in one query
    whatever the page size: these collections hold a row or two, so joining them costs the
    database little and saves a query, and its ORM work, for each (see bench/RESULTS.md).
    Callers take `.unique()` of the result."""
    return (
        joinedload(Event.organization),
        joinedload(Event.cohosts).joinedload(EventHost.organization),
        joinedload(Event.translations),
    )


def detail_options():
    """A card's loads and the causes, which the action's page and the API show (one query
    more, whatever the number of actions)."""
    return (*card_options(), selectinload(Event.causes))


# The forms and the API refuse longer actions (events.forms.MAX_DURATION; a test holds the two
# equal), so an action not over yet started at most this long ago.
LONGEST_ACTION = timedelta(days=31)


def _public():
    return (Event.status == ev.STATUS_PUBLISHED, Event.visibility == ev.VISIBILITY_PUBLIC)


def listed_events(now: datetime):
    """The public listing: published, public, not yet over.

    The redundant lower bound on the start lets the listing index (status, visibility,
    starts_at) skip the archive of past actions, however long it grows.
    """
    return select(Event).where(
        *_public(), Event.starts_at > now - LONGEST_ACTION, Event.ends_at > now
    )


def count_listed(filters: EventFilters, now: datetime) -> int:
    """How many actions the listing holds, in one statement of two counts that PostgreSQL
    answers from the listing index: those starting from now on (an action ends after it
    starts, so none of them is over; the index alone answers), and those under way (a range of
    LONGEST_ACTION). One count of the listing itself reads every row of the table instead."""
    unfiltered = replace(filters, timezone="UTC") == EventFilters()
    statement = _unfiltered_count() if unfiltered else _count_statement(filters)
    params = {"listing_now": now, "listing_since": now - LONGEST_ACTION}
    return db.session.scalar(statement, params) or 0


@cache
def _unfiltered_count():
    """The plain listing's count (most visits), built once: the times are given at execution."""
    return _count_statement(EventFilters())


def _count_statement(filters: EventFilters):
    now, since = bindparam("listing_now"), bindparam("listing_since")
    ahead = select(func.count()).select_from(Event).where(*_public(), Event.starts_at >= now)
    under_way = (
        select(func.count())
        .select_from(Event)
        .where(*_public(), Event.starts_at > since, Event.starts_at < now, Event.ends_at > now)
    )
    total = _filtered(ahead, filters).scalar_subquery()
    return select(total + _filtered(under_way, filters).scalar_subquery())


def hosted_by(org_id: int):
    """Condition: `org_id` hosts the action, or co-hosts it and accepted to."""
    return or_(
        Event.organization_id == org_id,
        exists().where(
            EventHost.event_id == Event.id,
            EventHost.organization_id == org_id,
            EventHost.status == ev.COHOST_ACCEPTED,
        ),
    )


def in_network(network_id: int):
    """Condition: the network or one of its active members hosts the action, or co-hosts it and
    accepted to. The members come from a subquery, never as a list of ids."""
    members = select(NetworkMembership.member_id).where(
        NetworkMembership.network_id == network_id,
        NetworkMembership.status == nw.NETWORK_ACTIVE,
    )
    return or_(
        hosted_by(network_id),
        Event.organization_id.in_(members),
        exists().where(
            EventHost.event_id == Event.id,
            EventHost.organization_id.in_(members),
            EventHost.status == ev.COHOST_ACCEPTED,
        ),
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
                Event.translations.any(
                    or_(
                        EventTranslation.title.icontains(filters.q, autoescape=True),
                        EventTranslation.description_md.icontains(filters.q, autoescape=True),
                    )
                ),
            )
        )
    if filters.org is not None:
        query = query.where(hosted_by(filters.org.id))
    if filters.network is not None:
        query = query.where(in_network(filters.network.id))
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
    total = count_listed(filters, now)
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


def events_after(
    filters: EventFilters, now: datetime, after: tuple[datetime, int] | None, limit: int
) -> tuple[list[Event], dict[int, dict[str, int]]]:
    """The same listing as search_events, by a (starts_at, id) cursor instead of page numbers:
    pages stay put while actions are added before them (the API's). Always the same few queries."""
    query = _filtered(listed_events(now), filters)
    if after is not None:
        starts_at, event_id = after
        query = query.where(
            or_(
                Event.starts_at > starts_at,
                and_(Event.starts_at == starts_at, Event.id > event_id),
            )
        )
    events = list(
        db.session.scalars(
            query.options(*detail_options()).order_by(Event.starts_at, Event.id).limit(limit)
        ).unique()
    )
    return events, signup_service.counts_by_event([e.id for e in events])


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


def load_event(event_id: int) -> Event | None:
    return (
        db.session.scalars(select(Event).where(Event.id == event_id).options(*detail_options()))
        .unique()
        .first()
    )


def visible_event(event_id: int, user) -> Event:
    """The action; a draft exists only for those who may manage it (NotFound for the rest)."""
    event = load_event(event_id)
    if event is None or (
        event.status == ev.STATUS_DRAFT and not permissions.can_manage_event(user, event)
    ):
        raise NotFound(event_id)
    return event


def managed_event(event_id: int, user) -> Event:
    """The action if `user` organizes one of its hosts: NotAllowed, or NotFound for a draft."""
    event = load_event(event_id)
    if event is None:
        raise NotFound(event_id)
    if not permissions.can_manage_event(user, event):
        raise NotFound(event_id) if event.status == ev.STATUS_DRAFT else NotAllowed()
    return event


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


# --- co-hosts --------------------------------------------------------------------------------
# Listing an organization as co-host is a request: until one of its organizers accepts, it is
# not shown as a host, its calendar doesn't carry the action and its organizers see no roster.


@dataclass
class CohostChanges:
    """What set_cohosts changed, and how many organizers it emailed."""

    requested: list[Organization] = field(default_factory=list)
    removed: list[Organization] = field(default_factory=list)
    emailed: int = 0

    @property
    def any(self) -> bool:
        return bool(self.requested or self.removed)


def set_cohosts(
    event: Event, slugs: list[str] | None, acting_user: User, now: datetime
) -> CohostChanges:
    """Ask the organizations newly listed to co-host, and drop those left out (asked or accepted).

    Only organizers of the primary host, and admins, may change the list; for anyone else an
    unchanged list is a no-op and a changed one NotAllowed. `slugs` None leaves it as it is.
    """
    if slugs is None:
        return CohostChanges()
    wanted = _resolve_cohosts(event.organization, slugs)
    wanted_ids = {o.id for o in wanted}
    current_ids = {h.organization_id for h in event.cohosts}
    if wanted_ids == current_ids:
        return CohostChanges()
    if not permissions.can_change_cohosts(acting_user, event):
        raise NotAllowed()
    changes = CohostChanges(
        requested=[o for o in wanted if o.id not in current_ids],
        removed=[h.organization for h in event.cohosts if h.organization_id not in wanted_ids],
    )
    event.cohosts = [h for h in event.cohosts if h.organization_id in wanted_ids] + [
        EventHost(
            organization=o,
            status=ev.COHOST_PENDING,
            requested_by_id=acting_user.id,
            requested_at=now,
        )
        for o in changes.requested
    ]
    try:
        db.session.commit()
    except IntegrityError:  # the same request sent twice at once: the other one asked already
        db.session.rollback()
        return CohostChanges()
    changes.emailed = send_cohost_requests(event, changes.requested, acting_user)
    return changes


def send_cohost_requests(
    event: Event, organizations: list[Organization], requested_by: User | None
) -> int:
    """Email the owners and organizers of each organization asked, each in their language,
    with a link to the page where they accept or decline. Returns how many were sent."""
    if not organizations:
        return 0
    by_id = {o.id: o for o in organizations}
    members = db.session.scalars(
        select(Membership)
        .where(Membership.organization_id.in_(by_id))
        .options(joinedload(Membership.user))
        .order_by(Membership.id)
    )
    messages = []
    with url_context():
        for member in members:
            if requested_by is not None and member.user_id == requested_by.id:
                continue  # they asked: they know
            org = by_id[member.organization_id]
            locale = member.user.locale
            messages.append(
                build_email(
                    member.user.email,
                    "cohost_request",
                    locale if locale in LANGUAGE_NAMES else org.default_locale,
                    event=event,
                    org=org,
                    host=event.organization,
                    requested_by=requested_by,
                    manage_url=absolute_url("orgs.manage", slug=org.slug, _anchor="cohosting"),
                )
            )
    return send_many(messages)


def cohost_requests(org: Organization, now: datetime) -> list[EventHost]:
    """Requests waiting for `org` to answer, for actions not over or cancelled (one query)."""
    return list(
        db.session.scalars(
            select(EventHost)
            .join(EventHost.event)
            .where(
                EventHost.organization_id == org.id,
                EventHost.status == ev.COHOST_PENDING,
                Event.status != ev.STATUS_CANCELLED,
                Event.ends_at > now,
            )
            .options(
                contains_eager(EventHost.event).joinedload(Event.organization),
                joinedload(EventHost.requested_by),
            )
            .order_by(Event.starts_at, Event.id)
        )
    )


def _answerable(event_id: int, org: Organization, acting_user: User) -> Event:
    """The action `org` was asked to co-host, if `acting_user` may answer for `org`."""
    if not permissions.is_organizer_of(acting_user, org):
        raise NotAllowed()
    event = db.session.scalar(
        select(Event)
        .join(EventHost, EventHost.event_id == Event.id)
        .where(Event.id == event_id, EventHost.organization_id == org.id)
    )
    if event is None:
        raise NotFound(event_id)
    return event


def accept_cohost(event_id: int, org: Organization, acting_user: User, now: datetime) -> Event:
    """`org` co-hosts the action from now on: shown as a host, its organizers manage it.
    Accepting twice changes nothing."""
    event = _answerable(event_id, org, acting_user)
    db.session.execute(
        update(EventHost)
        .where(
            EventHost.event_id == event_id,
            EventHost.organization_id == org.id,
            EventHost.status == ev.COHOST_PENDING,
        )
        .values(status=ev.COHOST_ACCEPTED, responded_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.expire(event, ["cohosts"])
    return event


def decline_cohost(event_id: int, org: Organization, acting_user: User, now: datetime) -> Event:
    """`org` says no to a request, or stops co-hosting an action it had accepted.

    The row goes: the primary host may ask again later, which makes a new request.
    """
    event = _answerable(event_id, org, acting_user)
    db.session.execute(
        delete(EventHost)
        .where(EventHost.event_id == event_id, EventHost.organization_id == org.id)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.expire(event, ["cohosts"])
    return event
