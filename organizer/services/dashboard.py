"""Organizers' dashboard: sign-ups per week, attendance per kind of action, actions that need
attention, and digest subscribers over time.

Every figure is aggregated in SQL, in a fixed number of queries whatever the history's length.
Weeks run Monday to Sunday on the organization's clock; their boundaries are computed here in
Python (so daylight-saving changes fall where they should) and handed to the database as
plain comparisons in a CASE, which SQLite and PostgreSQL read alike.

A volunteer is their account, or for a guest their lower-cased email address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Event, EventHost, Organization, Signup, Subscription, SubscriptionOrganization
from ..models import event as ev
from ..models import signup as st
from ..models.digest import SUB_SUSPENDED
from .errors import NotFound

WEEKS = 12
# Actions that need attention: one that starts within SOON with fewer confirmed volunteers than
# FEW_SHARE of its places (or, without a cap, fewer than FEW_MINIMUM) is short of people.
SOON = timedelta(days=3)
FEW_SHARE = 0.25
FEW_MINIMUM = 5
ATTENTION_LIMIT = 20

NOT_BEFORE = -1  # the bucket of instants before the first week shown


# --- what the dashboard shows -----------------------------------------------------------------


@dataclass(frozen=True)
class WeekSignups:
    """One week's volunteers: new (their first sign-up ever with the organization was this
    week) and returning; `signups` counts rows (a volunteer in two actions counts twice)."""

    starts_on: date
    new: int = 0
    returning: int = 0
    signups: int = 0

    @property
    def volunteers(self) -> int:
        return self.new + self.returning


@dataclass(frozen=True)
class KindAttendance:
    """Past actions of one kind where attendance was taken, over the weeks shown."""

    kind: str
    actions: int
    confirmed: int
    attended: int

    @property
    def rate(self) -> float | None:
        return self.attended / self.confirmed if self.confirmed else None


@dataclass(frozen=True)
class Attention:
    """A coming action and why it needs an organizer: volunteers waiting for approval, a full
    action with a waitlist, or too few volunteers a few days before."""

    event: Event
    confirmed: int
    pending: int
    waitlisted: int
    few: bool

    @property
    def full_with_waitlist(self) -> bool:
        return self.waitlisted > 0


@dataclass(frozen=True)
class WeekCount:
    starts_on: date
    count: int


@dataclass
class Dashboard:
    weeks: list[WeekSignups]
    attendance: list[KindAttendance]
    subscribers: list[WeekCount]
    attention: list[Attention] = field(default_factory=list)
    more_attention: bool = False

    @property
    def has_signups(self) -> bool:
        return any(w.signups for w in self.weeks)


@dataclass
class NetworkDashboard:
    """Counts only, summed over the network's active member organizations: no names."""

    organizations: int
    weeks: list[WeekSignups]
    attendance: list[KindAttendance]
    subscribers: list[WeekCount]


# --- weeks ------------------------------------------------------------------------------------


def week_bounds(now: datetime, timezone: str, weeks: int = WEEKS) -> list[datetime]:
    """`weeks + 1` instants (UTC-aware): the local Monday midnights starting each week shown,
    the last week being the one `now` falls in, and the Monday after it."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    return [
        datetime.combine(first + timedelta(weeks=i), time(0), tzinfo=zone) for i in range(weeks + 1)
    ]


def _week_starts(bounds: Sequence[datetime]) -> list[date]:
    return [b.date() for b in bounds[:-1]]


def _bucket(column, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """Which week shown an instant falls in: 0 for the first, NOT_BEFORE before it."""
    whens = [(column < bounds[0], NOT_BEFORE)]
    whens += [(column < bounds[i + 1], i) for i in range(len(bounds) - 1)]
    return case(*whens, else_=len(bounds) - 1)


# --- whose actions ----------------------------------------------------------------------------


def _hosted_by_any(org_ids: Sequence[int]) -> ColumnElement[bool]:
    """Actions one of `org_ids` hosts, or co-hosts and accepted to."""
    return or_(
        Event.organization_id.in_(org_ids),
        exists().where(
            EventHost.event_id == Event.id,
            EventHost.organization_id.in_(org_ids),
            EventHost.status == ev.COHOST_ACCEPTED,
        ),
    )


def _volunteer_key() -> ColumnElement[str]:
    return case(
        (Signup.user_id.is_not(None), literal("u:") + cast(Signup.user_id, String)),
        else_=literal("e:") + func.lower(Signup.email),
    )


# --- the figures ------------------------------------------------------------------------------


def signups_per_week(org_ids: Sequence[int], bounds: Sequence[datetime]) -> list[WeekSignups]:
    """Volunteers per week, new and returning, in one query: each volunteer's first sign-up
    with these organizations (over the whole history) is found in SQL, then the sign-ups of
    the weeks shown are counted by (their week, the week of that first sign-up).

    Grouping happens on subquery columns, never on expressions with parameters: PostgreSQL
    does not know that two bound copies of one CASE are the same expression."""
    keyed = (
        select(_volunteer_key().label("volunteer"), Signup.created_at.label("at"))
        .join(Event, Event.id == Signup.event_id)
        .where(_hosted_by_any(org_ids))
        .cte("keyed")
    )
    firsts = (
        select(keyed.c.volunteer, func.min(keyed.c.at).label("first_at"))
        .group_by(keyed.c.volunteer)
        .subquery("firsts")
    )
    recent = (
        select(
            keyed.c.volunteer,
            _bucket(keyed.c.at, bounds).label("week"),
            _bucket(firsts.c.first_at, bounds).label("first_week"),
        )
        .join(firsts, firsts.c.volunteer == keyed.c.volunteer)
        .where(keyed.c.at >= bounds[0], keyed.c.at < bounds[-1])
        .subquery("recent")
    )
    rows = db.session.execute(
        select(
            recent.c.week,
            recent.c.first_week,
            func.count(distinct(recent.c.volunteer)),
            func.count(),
        ).group_by(recent.c.week, recent.c.first_week)
    ).all()
    new = [0] * (len(bounds) - 1)
    returning = [0] * len(new)
    signups = [0] * len(new)
    for index, first_index, volunteers, count in rows:
        if not 0 <= index < len(new):
            continue
        signups[index] += count
        if first_index == index:
            new[index] += volunteers
        else:
            returning[index] += volunteers
    return [
        WeekSignups(day, new[i], returning[i], signups[i])
        for i, day in enumerate(_week_starts(bounds))
    ]


def attendance_by_kind(
    org_ids: Sequence[int], bounds: Sequence[datetime], now: datetime
) -> list[KindAttendance]:
    """Attended / confirmed per kind of action, over the past actions of the weeks shown whose
    attendance was taken (as on the manage page: without any check-in nobody is counted, and
    once it was taken, every confirmed volunteer not checked in was absent)."""
    attended = func.coalesce(func.sum(case((Signup.attendance == st.ATTENDED, 1), else_=0)), 0)
    marked = func.coalesce(
        func.sum(case((Signup.attendance.in_((st.ATTENDED, st.NO_SHOW)), 1), else_=0)), 0
    )
    per_action = (
        select(
            Event.kind.label("kind"),
            func.count().label("confirmed"),
            attended.label("attended"),
        )
        .select_from(Signup)
        .join(Event, Event.id == Signup.event_id)
        .where(
            _hosted_by_any(org_ids),
            Event.status == ev.STATUS_PUBLISHED,
            Event.ends_at <= now,
            Event.starts_at >= bounds[0],
            Signup.status == st.CONFIRMED,
        )
        .group_by(Signup.event_id, Event.kind)
        .having(marked > 0)
        .subquery()
    )
    rows = db.session.execute(
        select(
            per_action.c.kind,
            func.count(),
            func.sum(per_action.c.confirmed),
            func.sum(per_action.c.attended),
        )
        .group_by(per_action.c.kind)
        .order_by(per_action.c.kind)
    ).all()
    return [
        KindAttendance(kind, int(actions), int(confirmed), int(came))
        for kind, actions, confirmed, came in rows
    ]


def subscribers_per_week(
    org_ids: Sequence[int], bounds: Sequence[datetime], now: datetime
) -> list[WeekCount]:
    """Digest subscribers following any of `org_ids` at the end of each week (now, for this
    week), from when each confirmed and unsubscribed: one query, one row. Suspended addresses
    (bounced too often) carry no date and are left out."""
    ends = [min(b, now) for b in bounds[1:]]
    following = exists().where(
        SubscriptionOrganization.subscription_id == Subscription.id,
        SubscriptionOrganization.organization_id.in_(org_ids),
    )
    columns = [
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(
                            Subscription.confirmed_at <= end,
                            or_(
                                Subscription.unsubscribed_at.is_(None),
                                Subscription.unsubscribed_at > end,
                            ),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            0,
        )
        for end in ends
    ]
    row = db.session.execute(
        select(*columns).where(
            following,
            Subscription.confirmed_at.is_not(None),
            Subscription.status != SUB_SUSPENDED,
        )
    ).one()
    return [
        WeekCount(day, int(count)) for day, count in zip(_week_starts(bounds), row, strict=True)
    ]


def needs_attention(org: Organization, now: datetime) -> tuple[list[Attention], bool]:
    """Coming published actions with volunteers waiting for approval, a waitlist (so full), or
    few volunteers soon; soonest first, at most ATTENTION_LIMIT (and whether there are more).
    One query for the actions and their counts, one for their translated titles."""
    coming = select(Event.id).where(
        _hosted_by_any([org.id]), Event.status == ev.STATUS_PUBLISHED, Event.ends_at > now
    )

    def flag(status: str):
        return func.coalesce(func.sum(case((Signup.status == status, 1), else_=0)), 0)

    counts = (
        select(
            Signup.event_id.label("event_id"),
            flag(st.CONFIRMED).label("confirmed"),
            flag(st.PENDING).label("pending"),
            flag(st.WAITLISTED).label("waitlisted"),
        )
        .where(Signup.event_id.in_(coming))
        .group_by(Signup.event_id)
        .subquery()
    )
    confirmed = func.coalesce(counts.c.confirmed, 0)
    pending = func.coalesce(counts.c.pending, 0)
    waitlisted = func.coalesce(counts.c.waitlisted, 0)
    threshold = case((Event.capacity.is_(None), FEW_MINIMUM), else_=Event.capacity * FEW_SHARE)
    few = and_(Event.starts_at > now, Event.starts_at <= now + SOON, confirmed < threshold)
    rows = db.session.execute(
        select(Event, confirmed, pending, waitlisted, few)
        .outerjoin(counts, counts.c.event_id == Event.id)
        .where(Event.id.in_(coming), or_(pending > 0, waitlisted > 0, few))
        .options(selectinload(Event.translations))
        .order_by(Event.starts_at, Event.id)
        .limit(ATTENTION_LIMIT + 1)
    ).all()
    items = [Attention(event, int(c), int(p), int(w), bool(f)) for event, c, p, w, f in rows]
    return items[:ATTENTION_LIMIT], len(items) > ATTENTION_LIMIT


def organization_dashboard(org: Organization, now: datetime) -> Dashboard:
    """Everything on an organization's dashboard, in five queries however long its history."""
    bounds = week_bounds(now, org.timezone)
    attention, more = needs_attention(org, now)
    return Dashboard(
        weeks=signups_per_week([org.id], bounds),
        attendance=attendance_by_kind([org.id], bounds, now),
        subscribers=subscribers_per_week([org.id], bounds, now),
        attention=attention,
        more_attention=more,
    )


def network_dashboard(org_ids: Sequence[int], timezone: str, now: datetime) -> NetworkDashboard:
    """The same weekly counts summed over a network's active member organizations (`org_ids`),
    with no names and no list of actions: a coordinator sees the network, not the people."""
    ids = sorted(set(org_ids))
    bounds = week_bounds(now, timezone)
    if not ids:
        starts = _week_starts(bounds)
        return NetworkDashboard(
            0, [WeekSignups(d) for d in starts], [], [WeekCount(d, 0) for d in starts]
        )
    return NetworkDashboard(
        organizations=len(ids),
        weeks=signups_per_week(ids, bounds),
        attendance=attendance_by_kind(ids, bounds, now),
        subscribers=subscribers_per_week(ids, bounds, now),
    )


def network_dashboard_of(network: Organization, now: datetime) -> NetworkDashboard:
    """A network's aggregate dashboard, over its active members (one query for their ids);
    NotFound for an organization that is not a network."""
    from .networks import active_member_ids

    if not network.is_network:
        raise NotFound()
    ids = list(db.session.scalars(active_member_ids(network.id)))
    return network_dashboard(ids, network.timezone, now)
