"""Highlights: up to three actions an organization puts first in a week's digests.

A network may also highlight its active members' public actions, for the digests of those who
follow the network (digest_selection.py).

A week is the ISO week on the organization's own clock ("this week" at `now`, or the next).
The limit holds under concurrent requests: `_lock_organization` takes the organization's row
lock on PostgreSQL (SELECT ... FOR UPDATE) before counting; on SQLite, where FOR UPDATE does
nothing, the INSERT comes before the count, and that first write of the transaction takes the
database's write lock, so the count read after it is the truth (as in services/signups.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..database import transaction
from ..extensions import db
from ..models import Event, EventHost, Highlight, Organization, User
from ..models import event as ev
from . import networks, permissions
from .digest_selection import week_of
from .errors import DomainError, InvalidInput, NotAllowed, NotFound
from .events import hosted_by, in_network

MAX_PER_WEEK = 3
ELIGIBLE_LIMIT = 100  # actions listed on the highlights page


class HighlightRefused(DomainError):
    """The action cannot be highlighted (the subclass says why)."""


class HighlightLimitReached(HighlightRefused):
    """The organization already highlights MAX_PER_WEEK actions that week."""


class NotHostedByOrganization(HighlightRefused):
    """Only an action the organization hosts, or co-hosts and accepted to, may be highlighted."""


class NotInNetwork(NotHostedByOrganization):
    """A network highlights only actions it or one of its active members hosts."""


class NotEligible(HighlightRefused):
    """The action is not published, not public (unlisted) or not upcoming."""


def weeks(org: Organization, now: datetime) -> tuple[str, str]:
    """This week and next, as ISO weeks on the organization's clock."""
    return week_of(now, org.timezone), week_of(now + timedelta(days=7), org.timezone)


def _week(org: Organization, now: datetime, week: str | None) -> str:
    this_week, next_week = weeks(org, now)
    if week is None:
        return this_week
    if week not in (this_week, next_week):
        raise InvalidInput({"week": "week"})
    return week


def event_to_highlight(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(event_id)
    return event


def _member_ids(network: Organization) -> set[int]:
    return set(db.session.scalars(networks.active_member_ids(network.id)))


def check_eligible(org: Organization, event: Event, now: datetime) -> None:
    """Raise unless `org` hosts `event` (a network: or one of its active members does) and the
    action is published, public and upcoming."""
    if org.id not in event.host_ids:  # asked first, so nothing is said of others' actions
        if not org.is_network:
            raise NotHostedByOrganization()
        if not event.host_ids & _member_ids(org):
            raise NotInNetwork()
    if not event.is_public or event.starts_at <= now:
        raise NotEligible()


def _lock_organization(org_id: int) -> None:
    """The organization's row lock on PostgreSQL; nothing on SQLite (see the module docstring)."""
    db.session.execute(
        select(Organization.id).where(Organization.id == org_id).with_for_update()
    ).first()


def _count(org_id: int, week: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Highlight)
        .where(Highlight.organization_id == org_id, Highlight.week == week)
    )


def _existing(org_id: int, event_id: int, week: str) -> Highlight | None:
    return db.session.scalar(
        select(Highlight).where(
            Highlight.organization_id == org_id,
            Highlight.event_id == event_id,
            Highlight.week == week,
        )
    )


def highlight(
    org: Organization, event: Event, acting_user: User, now: datetime, week: str | None = None
) -> Highlight:
    """Put `event` first in `org`'s followers' digests for `week` (default this week); commits.

    Highlighting the same action twice is harmless. Raises NotAllowed, NotHostedByOrganization,
    NotEligible, HighlightLimitReached (nothing written), InvalidInput for another week.
    """
    if not permissions.is_organizer_of(acting_user, org):
        raise NotAllowed()
    week = _week(org, now, week)
    check_eligible(org, event, now)
    existing = _existing(org.id, event.id, week)
    if existing is not None:
        return existing
    org_id, event_id, user_id = org.id, event.id, acting_user.id
    try:
        with transaction():
            _lock_organization(org_id)
            created = Highlight(
                organization_id=org_id, event_id=event_id, week=week, created_by_id=user_id
            )
            db.session.add(created)
            db.session.flush()  # on SQLite: the write lock, before counting
            if _count(org_id, week) > MAX_PER_WEEK:
                raise HighlightLimitReached()
    except IntegrityError:
        # The same highlight, added at the same moment by someone else.
        existing = _existing(org_id, event_id, week)
        if existing is None:
            raise
        return existing
    return created


def unhighlight(
    org: Organization, event: Event, acting_user: User, now: datetime, week: str | None = None
) -> bool:
    """Take `event` out of `org`'s highlights for `week`; commits. False if it was not there."""
    if not permissions.is_organizer_of(acting_user, org):
        raise NotAllowed()
    week = _week(org, now, week)
    with transaction():
        result = db.session.execute(
            delete(Highlight).where(
                Highlight.organization_id == org.id,
                Highlight.event_id == event.id,
                Highlight.week == week,
            )
        )
    return bool(result.rowcount)


@dataclass
class HighlightsPage:
    now: datetime
    this_week: str
    next_week: str
    chosen: dict[str, list[Highlight]]  # week -> highlights, soonest action first
    eligible: list[Event]  # the organization's (a network's: and members') upcoming public actions

    def highlighted(self, week: str) -> set[int]:
        return {h.event_id for h in self.chosen[week]}

    def room_left(self, week: str) -> int:
        return max(MAX_PER_WEEK - len(self.chosen[week]), 0)


def highlights_page(org: Organization, now: datetime) -> HighlightsPage:
    """What the organizers' highlights page shows, in three queries plus eager loads."""
    this_week, next_week = weeks(org, now)
    card = (
        joinedload(Event.organization),
        selectinload(Event.cohosts).joinedload(EventHost.organization),
        selectinload(Event.causes),
    )
    chosen: dict[str, list[Highlight]] = {this_week: [], next_week: []}
    for item in db.session.scalars(
        select(Highlight)
        .join(Event, Event.id == Highlight.event_id)
        .where(Highlight.organization_id == org.id, Highlight.week.in_(chosen))
        .options(joinedload(Highlight.event).options(*card))
        .order_by(Event.starts_at, Event.id)
    ).unique():
        chosen[item.week].append(item)
    eligible = list(
        db.session.scalars(
            select(Event)
            .where(
                in_network(org.id) if org.is_network else hosted_by(org.id),
                Event.status == ev.STATUS_PUBLISHED,
                Event.visibility == ev.VISIBILITY_PUBLIC,
                Event.starts_at > now,
            )
            .options(*card)
            .order_by(Event.starts_at, Event.id)
            .limit(ELIGIBLE_LIMIT)
        ).unique()
    )
    return HighlightsPage(now, this_week, next_week, chosen, eligible)
