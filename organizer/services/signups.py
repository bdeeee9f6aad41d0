"""Sign-ups: capacity, waitlist, approval and promotion, safe under concurrent requests.

Every operation that changes who holds a place runs in `_roster_transaction`, which starts
with `_lock_roster`, a write to the action's row. On PostgreSQL that takes the row lock (like
SELECT ... FOR UPDATE); on SQLite, where FOR UPDATE does nothing, the first write of a
transaction takes the database's write lock. Either way concurrent sign-ups for one action
run one after another, and the count of confirmed places read after the lock is the truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_ngettext
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..database import transaction
from ..extensions import db
from ..models import Event, Signup, User
from ..models import signup as st
from .accounts import normalize_email
from .errors import AlreadySignedUp, InvalidInput, InvalidTransition, NotFound, SignupClosed

CLOSED_NOT_PUBLISHED = "not_published"
CLOSED_CANCELLED = "cancelled"
CLOSED_PAST = "past"
CLOSED_FULL = "full"


@dataclass
class RosterChange:
    """What an operation did, so the caller can notify the right people."""

    signup: Signup
    promoted: list[Signup] = field(default_factory=list)


def _lock_roster(event_id: int) -> Event:
    db.session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(roster_version=Event.roster_version + 1)
        .execution_options(synchronize_session=False)
    )
    event = db.session.get(Event, event_id, populate_existing=True)
    if event is None:
        raise NotFound(event_id)
    return event


@contextmanager
def _roster_transaction(event_id: int) -> Iterator[Event]:
    """The action with its roster locked; commits at the end, rolls back on any error."""
    with transaction():
        yield _lock_roster(event_id)


@contextmanager
def _signup_transaction(signup_id: int) -> Iterator[tuple[Signup, Event]]:
    """The same for one sign-up, read again once its action's roster is locked."""
    signup = db.session.get(Signup, signup_id)
    if signup is None:
        raise NotFound(signup_id)
    with _roster_transaction(signup.event_id) as event:
        db.session.refresh(signup)
        yield signup, event


def _count(event_id: int, statuses: Iterable[str]) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Signup)
        .where(Signup.event_id == event_id, Signup.status.in_(statuses))
    )


def confirmed_count(event_id: int) -> int:
    return _count(event_id, [st.CONFIRMED])


def active_count(event_id: int) -> int:
    """Volunteers still holding a place, a waitlist spot or a request for approval."""
    return _count(event_id, st.ACTIVE_STATUSES)


def places_left(event: Event, confirmed: int) -> int | None:
    if event.capacity is None:
        return None
    return max(event.capacity - confirmed, 0)


def closed_reason(event: Event, now: datetime, confirmed: int | None = None) -> str | None:
    """Why nobody can sign up right now, or None when sign-ups are open.

    Given the number of confirmed places, a full action without a waitlist counts as closed.
    """
    if event.is_cancelled:
        return CLOSED_CANCELLED
    if not event.is_published:
        return CLOSED_NOT_PUBLISHED
    if event.ends_at <= now:
        return CLOSED_PAST
    if confirmed is not None and places_left(event, confirmed) == 0 and not event.waitlist_enabled:
        return CLOSED_FULL
    return None


def _place_or_waitlist(event: Event) -> str:
    """A place while one is free, else the waitlist; SignupClosed when full without one."""
    full = places_left(event, confirmed_count(event.id)) == 0
    if full and not event.waitlist_enabled:
        raise SignupClosed(CLOSED_FULL)  # nobody could be given a place, not even after approval
    return st.WAITLISTED if full else st.CONFIRMED


def sign_up(
    event_id: int,
    *,
    name: str,
    email: str,
    now: datetime,
    phone: str = "",
    locale: str = "en",
    user: User | None = None,
) -> Signup:
    """Take a place, a waitlist spot or a request for approval; commits.

    The sign-up is linked to `user` (the one logged in) only when the address is theirs and
    confirmed: they may be signing up someone else, or may not own the address at all.
    Raises AlreadySignedUp when the address already holds an active sign-up (or was
    declined), SignupClosed when the action does not take sign-ups.
    """
    email = normalize_email(email)
    if user is not None and (not user.email_confirmed or user.email.strip().lower() != email):
        user = None  # an unconfirmed account has not proved it owns the address
    try:
        with _roster_transaction(event_id) as event:
            reason = closed_reason(event, now)
            if reason:
                raise SignupClosed(reason)
            existing = _signup_by_email(event_id, email)
            if existing is not None and existing.status != st.CANCELLED:
                raise AlreadySignedUp(existing)
            status = _place_or_waitlist(event)
            if event.approval_required:
                status = st.PENDING
            signup = existing or Signup(event_id=event_id, email=email, created_at=now)
            signup.name = name.strip()
            signup.phone = (phone or "").strip()
            signup.locale = locale
            signup.user_id = user.id if user is not None else None
            signup.status = status
            signup.attendance = None
            signup.queued_at = now
            signup.updated_at = now
            signup.cancelled_at = None
            signup.confirmed_at = now if status == st.CONFIRMED else None
            db.session.add(signup)
    except IntegrityError:
        # Only reachable if a row was written without taking the roster lock.
        existing = _signup_by_email(event_id, email)
        if existing is None:
            raise
        raise AlreadySignedUp(existing) from None
    return signup


def _signup_by_email(event_id: int, email: str) -> Signup | None:
    return db.session.scalar(
        select(Signup).where(Signup.event_id == event_id, Signup.email == email)
    )


def find_signup_for_user(event_id: int, user: User | None) -> Signup | None:
    """The sign-up a logged-in user holds for an action: by account, or by confirmed email."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    mine = Signup.user_id == user.id
    if user.email_confirmed:
        mine = or_(mine, Signup.email == user.email.strip().lower())
    return db.session.scalar(
        select(Signup)
        .where(Signup.event_id == event_id, mine)
        .order_by(Signup.status.in_(st.ACTIVE_STATUSES).desc(), Signup.id)
        .limit(1)
    )


def belongs_to(signup: Signup, user: User | None) -> bool:
    """Whether the logged-in user has proved they own this sign-up's address."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if signup.user_id == user.id:
        return True
    return user.email_confirmed and signup.email == user.email.strip().lower()


def outcome_shown_to_guest(signup: Signup) -> str:
    """What the page after a repeated guest sign-up says: the same as for a newcomer.

    Whether an address was already on the roster is told only to that inbox, so nobody can
    probe who joined an action by typing in someone's email.
    """
    return signup.status if signup.status in (st.CONFIRMED, st.WAITLISTED) else st.PENDING


def signup_on(event: Event, signup_id: int) -> Signup:
    """A sign-up of this action (NotFound for another action's: organizers manage their own)."""
    signup = db.session.get(Signup, signup_id)
    if signup is None or signup.event_id != event.id:
        raise NotFound(signup_id)
    return signup


def roster(event_id: int, q: str = "") -> list[Signup]:
    """Everyone on the roster in one query: confirmed first, each group in waitlist order;
    `q` keeps those whose name or email contains it."""
    order = case({status: i for i, status in enumerate(st.STATUSES)}, value=Signup.status)
    query = select(Signup).where(Signup.event_id == event_id)
    if q:
        query = query.where(
            or_(
                Signup.name.icontains(q, autoescape=True),
                Signup.email.icontains(q, autoescape=True),
            )
        )
    return list(db.session.scalars(query.order_by(order, Signup.queued_at, Signup.id)))


def waitlist_position(signup: Signup) -> int | None:
    """1 for the next volunteer to get a place; None when not on the waitlist."""
    if signup.status != st.WAITLISTED:
        return None
    ahead = db.session.scalar(
        select(func.count())
        .select_from(Signup)
        .where(
            Signup.event_id == signup.event_id,
            Signup.status == st.WAITLISTED,
            or_(
                Signup.queued_at < signup.queued_at,
                (Signup.queued_at == signup.queued_at) & (Signup.id < signup.id),
            ),
        )
    )
    return ahead + 1


def _fill_from_waitlist(event: Event, now: datetime) -> list[Signup]:
    """Promote the longest-waiting volunteers into free places; the roster must be locked.

    Nobody is promoted into an action that is cancelled, unpublished or already over.
    """
    if not event.is_published or event.ends_at <= now:
        return []
    free = places_left(event, confirmed_count(event.id))
    if free == 0:
        return []
    query = (
        select(Signup)
        .where(Signup.event_id == event.id, Signup.status == st.WAITLISTED)
        .order_by(Signup.queued_at, Signup.id)
        .limit(free)
    )
    promoted = list(db.session.scalars(query))
    for signup in promoted:
        signup.status = st.CONFIRMED
        signup.confirmed_at = now
        signup.updated_at = now
    return promoted


def cancel(signup_id: int, now: datetime) -> RosterChange:
    """The volunteer gives up their place (or waitlist spot); the next in line moves up."""
    with _signup_transaction(signup_id) as (signup, event):
        if signup.status in (st.CANCELLED, st.DECLINED):
            raise InvalidTransition(signup.status)
        signup.status = st.CANCELLED
        signup.cancelled_at = now
        signup.updated_at = now
        db.session.flush()
        promoted = _fill_from_waitlist(event, now)
    return RosterChange(signup, promoted)


def approve(signup_id: int, now: datetime) -> RosterChange:
    """An organizer accepts a pending volunteer: a place if one is free, else the waitlist."""
    with _signup_transaction(signup_id) as (signup, event):
        if signup.status not in (st.PENDING, st.DECLINED):
            raise InvalidTransition(signup.status)
        reason = closed_reason(event, now)
        if reason:
            raise SignupClosed(reason)  # a cancelled or past action confirms nobody
        signup.status = _place_or_waitlist(event)
        signup.confirmed_at = now if signup.status == st.CONFIRMED else None
        signup.queued_at = now
        signup.updated_at = now
    return RosterChange(signup)


def decline(signup_id: int, now: datetime) -> RosterChange:
    """An organizer turns a request down; a freed place goes to the waitlist."""
    with _signup_transaction(signup_id) as (signup, event):
        if signup.status in (st.DECLINED, st.CANCELLED):
            raise InvalidTransition(signup.status)
        was_confirmed = signup.status == st.CONFIRMED
        signup.status = st.DECLINED
        signup.updated_at = now
        db.session.flush()
        promoted = _fill_from_waitlist(event, now) if was_confirmed else []
    return RosterChange(signup, promoted)


def apply_capacity_change(event_id: int, capacity: int | None, now: datetime) -> list[Signup]:
    """A new capacity, checked, set and filled from the waitlist with the roster locked; commits
    it together with the caller's other unsaved changes to the action, and returns who moved up.

    Nobody slips into a freed place ahead of the waitlist, and no sign-up lands between the
    check and the change. Raises InvalidInput (and writes nothing, the caller's changes included)
    when more volunteers already hold a place than the new capacity allows.
    """
    with transaction():
        db.session.flush()  # the caller's changes, before the lock reloads the action's row
        event = _lock_roster(event_id)
        confirmed = confirmed_count(event_id)
        if capacity is not None and capacity < confirmed:
            raise InvalidInput(
                {
                    "capacity": lazy_ngettext(
                        "%(num)d volunteer is already confirmed; the capacity can't be lower. "
                        "Cancel sign-ups from the roster first.",
                        "%(num)d volunteers are already confirmed; the capacity can't be lower. "
                        "Cancel sign-ups from the roster first.",
                        confirmed,
                    )
                }
            )
        event.capacity = capacity
        return _fill_from_waitlist(event, now)


def set_attendance(signup: Signup, attendance: str | None, now: datetime) -> Signup:
    if attendance not in (None, st.ATTENDED, st.NO_SHOW):
        raise InvalidTransition(str(attendance))
    if signup.status != st.CONFIRMED:
        raise InvalidTransition(signup.status)
    signup.attendance = attendance
    signup.checked_in_at = now if attendance == st.ATTENDED else None
    signup.updated_at = now
    db.session.commit()
    return signup


def can_see_location(event: Event, signup: Signup | None, now: datetime) -> bool:
    """A hidden place is shown to a confirmed volunteer, from the reveal time on."""
    if not event.location_hidden:
        return True
    if signup is None or signup.event_id != event.id or signup.status != st.CONFIRMED:
        return False
    reveal_at = event.reveal_at()
    return reveal_at is None or now >= reveal_at


def counts_by_event(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Sign-up counts per action and status, in one query for a whole page."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        select(Signup.event_id, Signup.status, func.count())
        .where(Signup.event_id.in_(event_ids))
        .group_by(Signup.event_id, Signup.status)
    )
    result: dict[int, dict[str, int]] = {event_id: {} for event_id in event_ids}
    for event_id, status, count in rows:
        result[event_id][status] = count
    return result
