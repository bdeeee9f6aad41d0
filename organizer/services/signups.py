"""Sign-ups: capacity, waitlist, approval and promotion, safe under concurrent requests.

Every operation that changes who holds a place starts with `_lock_roster`, a write to the
action's row. On PostgreSQL that takes the row lock (like SELECT ... FOR UPDATE); on SQLite,
where FOR UPDATE does nothing, the first write of a transaction takes the database's write
lock. Either way concurrent sign-ups for one action run one after another, and the count of
confirmed places read after the lock is the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Event, Signup, User
from ..models import signup as st
from .errors import AlreadySignedUp, InvalidTransition, SignupClosed

CLOSED_NOT_PUBLISHED = "not_published"
CLOSED_CANCELLED = "cancelled"
CLOSED_PAST = "past"
CLOSED_FULL = "full"


def normalize_email(address: str) -> str:
    """Lower-cased, validated syntax only (no DNS: sign-ups must work offline and fast)."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized.lower()


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
        raise LookupError(event_id)
    return event


def confirmed_count(event_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Signup)
        .where(Signup.event_id == event_id, Signup.status == st.CONFIRMED)
    )


def places_left(event: Event, confirmed: int) -> int | None:
    if event.capacity is None:
        return None
    return max(event.capacity - confirmed, 0)


def closed_reason(event: Event, now: datetime, confirmed: int | None = None) -> str | None:
    """Why nobody can sign up right now, or None when sign-ups are open.

    Given the number of confirmed places, a full action without a waitlist counts as closed.
    """
    if event.status == "cancelled":
        return CLOSED_CANCELLED
    if event.status != "published":
        return CLOSED_NOT_PUBLISHED
    if event.ends_at <= now:
        return CLOSED_PAST
    if confirmed is not None and places_left(event, confirmed) == 0 and not event.waitlist_enabled:
        return CLOSED_FULL
    return None


def _status_for_newcomer(event: Event) -> str:
    full = event.capacity is not None and confirmed_count(event.id) >= event.capacity
    if full and not event.waitlist_enabled:
        # Nobody could be given a place, not even after approval.
        raise SignupClosed(CLOSED_FULL)
    if event.approval_required:
        return st.PENDING
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

    Raises AlreadySignedUp when the address already holds an active sign-up (or was
    declined), SignupClosed when the action does not take sign-ups.
    """
    email = normalize_email(email)
    try:
        event = _lock_roster(event_id)
        reason = closed_reason(event, now)
        if reason:
            raise SignupClosed(reason)
        existing = db.session.scalar(
            select(Signup).where(Signup.event_id == event_id, Signup.email == email)
        )
        if existing is not None and existing.status != st.CANCELLED:
            raise AlreadySignedUp(existing)
        status = _status_for_newcomer(event)
        signup = existing or Signup(event_id=event_id, email=email)
        signup.name = name.strip()
        signup.phone = (phone or "").strip()
        signup.locale = locale
        signup.user_id = user.id if user is not None else signup.user_id
        signup.status = status
        signup.attendance = None
        signup.queued_at = now
        signup.updated_at = now
        signup.cancelled_at = None
        signup.confirmed_at = now if status == st.CONFIRMED else None
        if existing is None:
            signup.created_at = now
            db.session.add(signup)
        db.session.commit()
    except IntegrityError:
        # Only reachable if a row was written without taking the roster lock.
        db.session.rollback()
        existing = db.session.scalar(
            select(Signup).where(Signup.event_id == event_id, Signup.email == email)
        )
        if existing is None:
            raise
        raise AlreadySignedUp(existing) from None
    except Exception:
        db.session.rollback()
        raise
    return signup


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
    if event.status != "published" or event.ends_at <= now:
        return []
    if event.capacity is None:
        free = None
    else:
        free = event.capacity - confirmed_count(event.id)
        if free <= 0:
            return []
    query = (
        select(Signup)
        .where(Signup.event_id == event.id, Signup.status == st.WAITLISTED)
        .order_by(Signup.queued_at, Signup.id)
    )
    if free is not None:
        query = query.limit(free)
    promoted = list(db.session.scalars(query))
    for signup in promoted:
        signup.status = st.CONFIRMED
        signup.confirmed_at = now
        signup.updated_at = now
    return promoted


def cancel(signup_id: int, now: datetime) -> RosterChange:
    """The volunteer gives up their place (or waitlist spot); the next in line moves up."""
    try:
        signup = db.session.get(Signup, signup_id)
        if signup is None:
            raise LookupError(signup_id)
        event = _lock_roster(signup.event_id)
        db.session.refresh(signup)
        if signup.status == st.CANCELLED:
            db.session.rollback()
            return RosterChange(signup)
        if signup.status == st.DECLINED:
            raise InvalidTransition("declined")
        signup.status = st.CANCELLED
        signup.cancelled_at = now
        signup.updated_at = now
        db.session.flush()
        promoted = _fill_from_waitlist(event, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return RosterChange(signup, promoted)


def approve(signup_id: int, now: datetime) -> RosterChange:
    """An organizer accepts a pending volunteer: a place if one is free, else the waitlist."""
    try:
        signup = db.session.get(Signup, signup_id)
        if signup is None:
            raise LookupError(signup_id)
        event = _lock_roster(signup.event_id)
        db.session.refresh(signup)
        if signup.status not in (st.PENDING, st.DECLINED):
            raise InvalidTransition(signup.status)
        full = event.capacity is not None and confirmed_count(event.id) >= event.capacity
        if full and not event.waitlist_enabled:
            raise SignupClosed(CLOSED_FULL)
        signup.status = st.WAITLISTED if full else st.CONFIRMED
        signup.confirmed_at = None if full else now
        signup.queued_at = now
        signup.updated_at = now
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return RosterChange(signup)


def decline(signup_id: int, now: datetime) -> RosterChange:
    """An organizer turns a request down; a freed place goes to the waitlist."""
    try:
        signup = db.session.get(Signup, signup_id)
        if signup is None:
            raise LookupError(signup_id)
        event = _lock_roster(signup.event_id)
        db.session.refresh(signup)
        if signup.status in (st.DECLINED, st.CANCELLED):
            raise InvalidTransition(signup.status)
        was_confirmed = signup.status == st.CONFIRMED
        signup.status = st.DECLINED
        signup.updated_at = now
        db.session.flush()
        promoted = _fill_from_waitlist(event, now) if was_confirmed else []
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return RosterChange(signup, promoted)


def fill_after_capacity_change(event_id: int, now: datetime) -> list[Signup]:
    """After an organizer raises the capacity (or removes it), the waitlist moves up."""
    try:
        event = _lock_roster(event_id)
        promoted = _fill_from_waitlist(event, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return promoted


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
