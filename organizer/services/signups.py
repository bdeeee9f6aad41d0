"""Sign-ups: capacity, waitlist, approval and promotion, safe under concurrent requests.

Every operation that changes who holds a place runs in `_roster_transaction`, which starts
with `_lock_roster`, a write to the action's row. On PostgreSQL that takes the row lock (like
SELECT ... FOR UPDATE); on SQLite, where FOR UPDATE does nothing, the first write of a
transaction takes the database's write lock. Either way concurrent sign-ups for one action
run one after another, and the count of confirmed places read after the lock is the truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import (
    bindparam,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.elements import ColumnElement

from ..database import transaction
from ..extensions import db
from ..models import Event, Shift, Signup, User
from ..models import signup as st
from ..models import webhook as wh
from . import webhooks
from .accounts import normalize_email
from .errors import AlreadySignedUp, InvalidInput, InvalidTransition, NotFound, SignupClosed

CLOSED_NOT_PUBLISHED = "not_published"
CLOSED_CANCELLED = "cancelled"
CLOSED_PAST = "past"
CLOSED_FULL = "full"
MAX_ID = 2**31  # ids are 32-bit integers


# Besides statuses, the counts of an action with shifts carry these keys (see counts_by_event).
SHIFTS = "shifts"  # how many shifts it has
SHIFTS_UNLIMITED = "shifts_unlimited"  # how many of them have no limit
SHIFT_PLACES_LEFT = "shift_places_left"  # free places over the shifts with a limit


@dataclass
class RosterChange:
    """What an operation did, so the caller can notify the right people."""

    signup: Signup
    promoted: list[Signup] = field(default_factory=list)


@dataclass
class ShiftSignups:
    """A sign-up to some shifts of an action: a row per chosen shift, in the shifts' order.

    `new` holds the rows this request created or took up again; empty when the address already
    held every chosen shift (a double submit), which only its inbox is told.
    """

    signups: list[Signup]
    new: list[Signup]


class ShiftFull(SignupClosed):
    """A chosen shift is full and the action keeps no waitlist: nothing was written."""

    def __init__(self, shift: Shift) -> None:
        super().__init__(CLOSED_FULL)
        self.shift = shift


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


def _shift_of(signup: Signup) -> Shift | None:
    """The shift a sign-up holds a place in (None: the action without shifts)."""
    return db.session.get(Shift, signup.shift_id) if signup.shift_id is not None else None


def _in_shift(shift_id: int | None) -> ColumnElement[bool]:
    """Rows of one shift, or (None) the rows of the action itself, without a shift."""
    return Signup.shift_id.is_(None) if shift_id is None else Signup.shift_id == shift_id


def _volunteers(event_id: int, statuses: Iterable[str]) -> int:
    """People, not rows: a volunteer in two shifts has two rows and counts once."""
    return db.session.scalar(
        select(func.count(distinct(Signup.email))).where(
            Signup.event_id == event_id, Signup.status.in_(statuses)
        )
    )


def _taken(event_id: int, shift_id: int | None) -> int:
    """Places held in one shift (or, for None, in the action without shifts)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Signup)
        .where(Signup.event_id == event_id, _in_shift(shift_id), Signup.status == st.CONFIRMED)
    )


def confirmed_count(event_id: int) -> int:
    """Confirmed volunteers (each once, however many shifts they hold)."""
    return _volunteers(event_id, [st.CONFIRMED])


def active_count(event_id: int) -> int:
    """Volunteers still holding a place, a waitlist spot or a request for approval."""
    return _volunteers(event_id, st.ACTIVE_STATUSES)


def places_left(event: Event | Shift, confirmed: int) -> int | None:
    """Free places of an action, or of one shift; None when there is no limit."""
    if event.capacity is None:
        return None
    return max(event.capacity - confirmed, 0)


def has_shifts(counts: Mapping[str, int]) -> bool:
    return bool(counts.get(SHIFTS))


def places_left_in(event: Event, counts: Mapping[str, int]) -> int | None:
    """Free places by an action's counts (from counts_by_event): in an action with shifts, the
    free places of all its shifts together, None when one of them has no limit."""
    if has_shifts(counts):
        return None if counts.get(SHIFTS_UNLIMITED) else counts.get(SHIFT_PLACES_LEFT, 0)
    return places_left(event, counts.get(st.CONFIRMED, 0))


def full_without_waitlist(event: Event, counts: Mapping[str, int]) -> bool:
    """Nobody can join: every place (of every shift) is taken and there is no waitlist."""
    return places_left_in(event, counts) == 0 and not event.waitlist_enabled


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


def _place_or_waitlist(event: Event, shift: Shift | None = None) -> str:
    """A place while one is free (in the shift, if any), else the waitlist; SignupClosed when
    full without one. The roster must be locked."""
    owner = shift if shift is not None else event
    full = places_left(owner, _taken(event.id, shift.id if shift else None)) == 0
    if full and not event.waitlist_enabled:
        # Nobody could be given a place, not even after approval.
        raise ShiftFull(shift) if shift is not None else SignupClosed(CLOSED_FULL)
    return st.WAITLISTED if full else st.CONFIRMED


def _has_shifts(event_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(Shift.event_id == event_id))))


def sign_up(
    event_id: int,
    *,
    name: str,
    email: str,
    now: datetime,
    phone: str = "",
    locale: str = "en",
    user: User | None = None,
    standing_signup_id: int | None = None,
) -> Signup:
    """Take a place, a waitlist spot or a request for approval; commits.

    The sign-up is linked to `user` (the one logged in) only when the address is theirs and
    confirmed: they may be signing up someone else, or may not own the address at all.
    Raises AlreadySignedUp when the address already holds an active sign-up (or was
    declined), SignupClosed when the action does not take sign-ups, InvalidInput when the
    action has shifts (see sign_up_for_shifts).
    """
    email = normalize_email(email)
    user = _owner(user, email)
    try:
        with _roster_transaction(event_id) as event:
            reason = closed_reason(event, now)
            if reason:
                raise SignupClosed(reason)
            if _has_shifts(event_id):
                raise InvalidInput({"shifts": _l("Please choose at least one shift.")})
            existing = _signup_by_email(event_id, email)
            if existing is not None and existing.status != st.CANCELLED:
                raise AlreadySignedUp(existing)
            status = _place_or_waitlist(event)
            if event.approval_required:
                status = st.PENDING
            signup = existing or Signup(event_id=event_id, email=email, created_at=now)
            _take(signup, status, now, name=name, phone=phone, locale=locale, user=user)
            signup.standing_signup_id = standing_signup_id  # made by an "every week" sign-up
            webhooks.emit_signups(wh.SIGNUP_CREATED, event, [signup], now)
    except IntegrityError:
        # Only reachable if a row was written without taking the roster lock.
        existing = _signup_by_email(event_id, email)
        if existing is None:
            raise
        raise AlreadySignedUp(existing) from None
    return signup


def _owner(user: User | None, email: str) -> User | None:
    """The logged-in user, if they proved they own `email` (an unconfirmed account has not)."""
    if user is not None and (not user.email_confirmed or user.email.strip().lower() != email):
        return None
    return user


def _take(
    signup: Signup, status: str, now: datetime, *, name: str, phone: str, locale: str, user
) -> None:
    """Fill a new (or cancelled, now taken up again) sign-up row."""
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


def _signup_by_email(event_id: int, email: str, shift_id: int | None = None) -> Signup | None:
    return db.session.scalar(
        select(Signup).where(
            Signup.event_id == event_id, _in_shift(shift_id), Signup.email == email
        )
    )


def sign_up_for_shifts(
    event_id: int,
    shift_ids: Sequence[int],
    *,
    name: str,
    email: str,
    now: datetime,
    phone: str = "",
    locale: str = "en",
    user: User | None = None,
) -> ShiftSignups:
    """Sign up for one or more shifts of an action: a row per shift, each with its own place,
    waitlist spot or request for approval; commits.

    All or nothing: InvalidInput when no shift is chosen or one is not (or no longer) a shift
    of this action, ShiftFull when a chosen shift is full and there is no waitlist,
    SignupClosed when the action does not take sign-ups. Shifts the address already holds are
    left as they are (a double submit changes nothing).
    """
    email = normalize_email(email)
    user = _owner(user, email)
    wanted = set(shift_ids)
    if not wanted:
        raise InvalidInput({"shifts": _l("Please choose at least one shift.")})
    gone = InvalidInput(
        {"shifts": _l("A shift you chose is no longer offered. Please choose again.")}
    )
    if not all(0 < shift_id < MAX_ID for shift_id in wanted):
        raise gone  # no such row could exist (and PostgreSQL refuses to compare it)
    try:
        with _roster_transaction(event_id) as event:
            reason = closed_reason(event, now)
            if reason:
                raise SignupClosed(reason)
            shifts = list(
                db.session.scalars(
                    select(Shift)
                    .where(Shift.event_id == event_id, Shift.id.in_(wanted))
                    .order_by(Shift.position, Shift.id)
                )
            )
            if len(shifts) != len(wanted):
                raise gone
            held = {
                s.shift_id: s
                for s in db.session.scalars(
                    select(Signup).where(
                        Signup.event_id == event_id,
                        Signup.shift_id.in_(wanted),
                        Signup.email == email,
                    )
                )
            }
            result = ShiftSignups([], [])
            for shift in shifts:
                signup = held.get(shift.id)
                if signup is not None and signup.status != st.CANCELLED:
                    result.signups.append(signup)  # already theirs: left as it is
                    continue
                status = _place_or_waitlist(event, shift)
                if event.approval_required:
                    status = st.PENDING
                signup = signup or Signup(
                    event_id=event_id, shift_id=shift.id, email=email, created_at=now
                )
                _take(signup, status, now, name=name, phone=phone, locale=locale, user=user)
                signup.shift = shift
                result.signups.append(signup)
                result.new.append(signup)
            webhooks.emit_signups(wh.SIGNUP_CREATED, event, result.new, now)
    except IntegrityError:
        # Only reachable if a row was written without taking the roster lock.
        existing = [_signup_by_email(event_id, email, shift_id) for shift_id in sorted(wanted)]
        if not all(existing):
            raise
        return ShiftSignups([s for s in existing if s is not None], [])
    return result


def find_signup_for_user(event_id: int, user: User | None) -> Signup | None:
    """The sign-up a logged-in user holds for an action: by account, or by confirmed email."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Signup)
        .where(Signup.event_id == event_id, _mine(user))
        .order_by(
            (Signup.status == st.CONFIRMED).desc(),
            Signup.status.in_(st.ACTIVE_STATUSES).desc(),
            Signup.id,
        )
        .limit(1)
    )


def _mine(user: User) -> ColumnElement[bool]:
    mine = Signup.user_id == user.id
    if user.email_confirmed:
        mine = or_(mine, Signup.email == user.email.strip().lower())
    return mine


def find_shift_signups_for_user(event_id: int, user: User | None) -> list[Signup]:
    """The shift sign-ups a logged-in user holds for an action, in the shifts' order."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(
        db.session.scalars(
            select(Signup)
            .join(Signup.shift)
            .where(Signup.event_id == event_id, _mine(user))
            .options(contains_eager(Signup.shift))
            .order_by(Shift.position, Shift.id, Signup.id)
        )
    )


def shift_signups_like(signup: Signup) -> list[Signup]:
    """All shift sign-ups of this sign-up's address for its action (the volunteer's own page
    shows them together: one inbox holds every one of their links)."""
    if signup.shift_id is None:
        return []
    return list(
        db.session.scalars(
            select(Signup)
            .join(Signup.shift)
            .where(Signup.event_id == signup.event_id, Signup.email == signup.email)
            .options(contains_eager(Signup.shift))
            .order_by(Shift.position, Shift.id)
        )
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
    """Everyone on the roster in one query: shift by shift (if the action has shifts), then
    confirmed first, each group in waitlist order; `q` keeps those whose name or email
    contains it."""
    order = case({status: i for i, status in enumerate(st.STATUSES)}, value=Signup.status)
    query = (
        select(Signup)
        .outerjoin(Signup.shift)
        .options(contains_eager(Signup.shift))
        .where(Signup.event_id == event_id)
    )
    if q:
        query = query.where(
            or_(
                Signup.name.icontains(q, autoescape=True),
                Signup.email.icontains(q, autoescape=True),
            )
        )
    # The action's own rows (signed up before it had shifts) first, then shift by shift.
    by_shift = (Signup.shift_id.is_not(None), Shift.position, Shift.id)
    return list(db.session.scalars(query.order_by(*by_shift, order, Signup.queued_at, Signup.id)))


def waitlist_position(signup: Signup) -> int | None:
    """1 for the next volunteer to get a place; None when not on the waitlist."""
    if signup.status != st.WAITLISTED:
        return None
    ahead = db.session.scalar(
        select(func.count())
        .select_from(Signup)
        .where(
            Signup.event_id == signup.event_id,
            _in_shift(signup.shift_id),
            Signup.status == st.WAITLISTED,
            or_(
                Signup.queued_at < signup.queued_at,
                (Signup.queued_at == signup.queued_at) & (Signup.id < signup.id),
            ),
        )
    )
    return ahead + 1


def _fill_from_waitlist(event: Event, now: datetime, shift: Shift | None = None) -> list[Signup]:
    """Promote the longest-waiting volunteers into free places of the action, or of one of
    its shifts; the roster must be locked.

    Nobody is promoted into an action that is cancelled, unpublished or already over.
    """
    if not event.is_published or event.ends_at <= now:
        return []
    shift_id = shift.id if shift is not None else None
    free = places_left(shift if shift is not None else event, _taken(event.id, shift_id))
    if free == 0:
        return []
    query = (
        select(Signup)
        .where(Signup.event_id == event.id, _in_shift(shift_id), Signup.status == st.WAITLISTED)
        .order_by(Signup.queued_at, Signup.id)
        .limit(free)
    )
    promoted = list(db.session.scalars(query))
    for signup in promoted:
        signup.status = st.CONFIRMED
        signup.confirmed_at = now
        signup.updated_at = now
    webhooks.emit_signups(wh.SIGNUP_PROMOTED, event, promoted, now)
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
        webhooks.emit_signups(wh.SIGNUP_CANCELLED, event, [signup], now)
        promoted = _fill_from_waitlist(event, now, _shift_of(signup))
    return RosterChange(signup, promoted)


def approve(signup_id: int, now: datetime) -> RosterChange:
    """An organizer accepts a pending volunteer: a place if one is free, else the waitlist."""
    with _signup_transaction(signup_id) as (signup, event):
        if signup.status not in (st.PENDING, st.DECLINED):
            raise InvalidTransition(signup.status)
        reason = closed_reason(event, now)
        if reason:
            raise SignupClosed(reason)  # a cancelled or past action confirms nobody
        signup.status = _place_or_waitlist(event, _shift_of(signup))
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
        promoted = _fill_from_waitlist(event, now, _shift_of(signup)) if was_confirmed else []
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
        confirmed = _taken(event_id, None)  # shifts have capacities of their own
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
    if attendance == st.ATTENDED:
        signup.checked_in_at = signup.checked_in_at or now  # the first check-in time stays
    else:
        signup.checked_in_at = signup.checked_out_at = None
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


def counts_by_event(event_ids) -> dict[int, dict[str, int]]:
    """Sign-up counts per action and status, in one query for a whole page.

    `event_ids` is a list, or a subquery selecting them. Rows are counted, so a volunteer in
    two shifts counts twice. An action with shifts also gets SHIFTS, SHIFTS_UNLIMITED and
    SHIFT_PLACES_LEFT (read them with places_left_in), from the same query.
    """
    listed = isinstance(event_ids, list | tuple | set | frozenset)
    if listed:
        event_ids = list(event_ids)
        if not event_ids:
            return {}
        statement, params = _counts_for_listed_ids(), {"counted_event_ids": event_ids}
    else:
        statement, params = _counts_statement(event_ids), {}
    result: dict[int, dict[str, int]] = {event_id: {} for event_id in event_ids} if listed else {}
    for event_id, key, count in db.session.execute(statement, params):
        counts = result.setdefault(event_id, {})
        if key != SHIFTS:
            counts[key] = count
            continue
        counts[SHIFTS] = counts.get(SHIFTS, 0) + 1
        if count < 0:
            counts[SHIFTS_UNLIMITED] = counts.get(SHIFTS_UNLIMITED, 0) + 1
        else:
            counts[SHIFT_PLACES_LEFT] = counts.get(SHIFT_PLACES_LEFT, 0) + count
    return result


@cache
def _counts_for_listed_ids():
    """counts_by_event's statement for a list of ids, built once: the ids are one expanding
    parameter given at execution, so a page's counts cost no statement building or keying."""
    return _counts_statement(bindparam("counted_event_ids", expanding=True))


def _counts_statement(ids):
    """Rows of (action, status, count), then a row per shift with its free places."""
    by_status = (
        select(Signup.event_id, Signup.status, func.count())
        .where(Signup.event_id.in_(ids))
        .group_by(Signup.event_id, Signup.status)
    )
    taken = (
        select(Signup.shift_id, func.count().label("taken"))
        .where(
            Signup.event_id.in_(ids),
            Signup.shift_id.is_not(None),
            Signup.status == st.CONFIRMED,
        )
        .group_by(Signup.shift_id)
        .subquery()
    )
    free = Shift.capacity - func.coalesce(taken.c.taken, 0)
    per_shift = (  # a row per shift: its free places, -1 for no limit
        select(
            Shift.event_id,
            literal(SHIFTS),
            case((Shift.capacity.is_(None), -1), (free > 0, free), else_=0),
        )
        .outerjoin(taken, taken.c.shift_id == Shift.id)
        .where(Shift.event_id.in_(ids))
    )
    return union_all(by_status, per_shift)


def counts_by_shift(event_id: int) -> dict[int | None, dict[str, int]]:
    """Sign-up counts of one action per shift and status (None: rows without a shift)."""
    result: dict[int | None, dict[str, int]] = {}
    for shift_id, status, count in db.session.execute(
        select(Signup.shift_id, Signup.status, func.count())
        .where(Signup.event_id == event_id)
        .group_by(Signup.shift_id, Signup.status)
    ):
        result.setdefault(shift_id, {})[status] = count
    return result
