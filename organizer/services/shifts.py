"""Shifts or roles of an action (sorting 08:00–12:00, drivers), each with its own places.

Organizers add, edit, reorder and delete them; each change runs with the action's roster
locked (services/signups.py), because shifts decide who holds a place: a new capacity fills
that shift from its waitlist, and a shift is deleted only once nobody holds anything in it
(or with their sign-ups cancelled and the volunteers told). Once the action is cancelled or
over, its shifts stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete, func, select

from ..email import build_email, send_many
from ..extensions import db
from ..models import Event, Shift, Signup
from ..models import signup as st
from ..models import webhook as wh
from ..web import absolute_url, url_context
from . import webhooks
from .errors import InvalidInput, InvalidTransition, NotFound
from .signups import (
    _fill_from_waitlist,
    _roster_transaction,
    _taken,
    counts_by_shift,
    places_left,
)

MAX_SHIFTS = 30
NAME_MAX = 120


@dataclass
class ShiftData:
    """What an organizer enters for a shift, already in UTC."""

    name: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = None


@dataclass(frozen=True)
class ShiftCount:
    """A shift with its sign-up counts, as pages show it."""

    shift: Shift
    counts: dict[str, int]

    @property
    def confirmed(self) -> int:
        return self.counts.get(st.CONFIRMED, 0)

    @property
    def waitlisted(self) -> int:
        return self.counts.get(st.WAITLISTED, 0)

    @property
    def pending(self) -> int:
        return self.counts.get(st.PENDING, 0)

    @property
    def active(self) -> int:
        return sum(self.counts.get(status, 0) for status in st.ACTIVE_STATUSES)

    @property
    def places_left(self) -> int | None:
        return places_left(self.shift, self.confirmed)

    @property
    def full(self) -> bool:
        return self.places_left == 0


@dataclass
class DeletedShift:
    name: str
    cancelled: int  # sign-ups cancelled with it
    emailed: int


class ShiftInUse(InvalidTransition):
    """Volunteers still hold places, waitlist spots or requests in the shift."""

    def __init__(self, active: int) -> None:
        super().__init__("in_use")
        self.active = active


def shifts_of(event_id: int) -> list[Shift]:
    return list(
        db.session.scalars(
            select(Shift).where(Shift.event_id == event_id).order_by(Shift.position, Shift.id)
        )
    )


def shift_counts(event_id: int) -> list[ShiftCount]:
    """Every shift of an action with its counts, in order: two queries."""
    counts = counts_by_shift(event_id)
    return [ShiftCount(shift, counts.get(shift.id, {})) for shift in shifts_of(event_id)]


def shift_on(event: Event, shift_id: int) -> Shift:
    """A shift of this action (NotFound for another action's)."""
    shift = db.session.get(Shift, shift_id)
    if shift is None or shift.event_id != event.id:
        raise NotFound(shift_id)
    return shift


PAST = "past"


def locked_reason(event: Event, now: datetime) -> str | None:
    """Why the shifts of this action can no longer change: "cancelled", "past" (it has ended:
    its sign-ups and attendance are history, and nobody is to be told a shift was called
    off), or None."""
    if event.is_cancelled:
        return event.status
    if event.ends_at <= now:
        return PAST
    return None


def _check_editable(event: Event, now: datetime) -> None:
    reason = locked_reason(event, now)
    if reason is not None:
        raise InvalidTransition(reason)


def _check(event: Event, data: ShiftData, shift_id: int | None) -> str:
    """The cleaned name, or InvalidInput naming the field at fault."""
    name = " ".join((data.name or "").split())
    if not name:
        raise InvalidInput({"name": _l("Please name the shift or role.")})
    if len(name) > NAME_MAX:
        raise InvalidInput({"name": _l("Please keep the name under 120 characters.")})
    same_name = select(Shift.id).where(
        Shift.event_id == event.id, func.lower(Shift.name) == name.lower()
    )
    if shift_id is not None:
        same_name = same_name.where(Shift.id != shift_id)
    if db.session.scalar(same_name.limit(1)) is not None:
        # Also what makes a double-submitted "Add" harmless.
        raise InvalidInput({"name": _l("This action already has a shift with this name.")})
    if (data.starts_at is None) != (data.ends_at is None):
        raise InvalidInput({"end_time": _l("Please give both the start and the end, or neither.")})
    if data.starts_at is not None and data.ends_at is not None:
        if data.ends_at <= data.starts_at:
            raise InvalidInput({"end_time": _l("The end must be after the start.")})
        if data.starts_at < event.starts_at or data.ends_at > event.ends_at:
            raise InvalidInput(
                {"start_time": _l("A shift must fall within the action's start and end.")}
            )
    if data.capacity is not None and data.capacity < 1:
        raise InvalidInput({"capacity": _l("Please enter at least 1, or leave it empty.")})
    return name


def add_shift(event: Event, data: ShiftData, now: datetime | None = None) -> Shift:
    """A new shift at the end of the list; commits. InvalidTransition once the action is
    cancelled or over."""
    now = now or datetime.now(UTC)
    _check_editable(event, now)
    with _roster_transaction(event.id) as locked:
        _check_editable(locked, now)
        name = _check(locked, data, None)
        count, last = db.session.execute(
            select(func.count(), func.max(Shift.position)).where(Shift.event_id == event.id)
        ).one()
        if count >= MAX_SHIFTS:
            raise InvalidInput({"name": _l("An action can have at most 30 shifts.")})
        shift = Shift(
            event_id=event.id,
            name=name,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            capacity=data.capacity,
            position=(last + 1) if last is not None else 0,
        )
        db.session.add(shift)
    return shift


def update_shift(event: Event, shift_id: int, data: ShiftData, now: datetime) -> list[Signup]:
    """Save an edit; a higher capacity fills the shift from its waitlist. Returns who moved up
    (the caller emails them). InvalidInput, and nothing written, when more volunteers already
    hold a place than the new capacity allows; InvalidTransition once the action is cancelled
    or over."""
    _check_editable(event, now)
    with _roster_transaction(event.id) as locked:
        _check_editable(locked, now)
        shift = shift_on(locked, shift_id)
        db.session.refresh(shift)
        name = _check(locked, data, shift.id)
        taken = _taken(event.id, shift.id)
        if data.capacity is not None and data.capacity < taken:
            raise InvalidInput(
                {
                    "capacity": lazy_ngettext(
                        "%(num)d volunteer is already confirmed in this shift; the places "
                        "can't be fewer. Cancel sign-ups from the roster first.",
                        "%(num)d volunteers are already confirmed in this shift; the places "
                        "can't be fewer. Cancel sign-ups from the roster first.",
                        taken,
                    )
                }
            )
        shift.name = name
        shift.starts_at, shift.ends_at = data.starts_at, data.ends_at
        shift.capacity = data.capacity
        db.session.flush()
        return _fill_from_waitlist(locked, now, shift)


def move_shift(event: Event, shift_id: int, step: int, now: datetime | None = None) -> None:
    """Move a shift one place up (-1) or down (+1) in the list; at either end, nothing.
    InvalidTransition once the action is cancelled or over."""
    now = now or datetime.now(UTC)
    _check_editable(event, now)
    with _roster_transaction(event.id) as locked:
        _check_editable(locked, now)
        shifts = shifts_of(event.id)
        index = next((i for i, s in enumerate(shifts) if s.id == shift_id), None)
        if index is None:
            raise NotFound(shift_id)
        other = index + (1 if step > 0 else -1)
        if 0 <= other < len(shifts):
            shifts[index], shifts[other] = shifts[other], shifts[index]
        for position, shift in enumerate(shifts):
            shift.position = position


def delete_shift(
    event: Event, shift_id: int, now: datetime, cancel_signups: bool = False
) -> DeletedShift:
    """Delete a shift. With volunteers still in it, ShiftInUse unless `cancel_signups`: then
    their sign-ups go with it, and each of them is emailed (after the commit). InvalidTransition
    once the action is cancelled or over: its sign-ups (attendance included) are kept."""
    _check_editable(event, now)
    with _roster_transaction(event.id) as locked:
        _check_editable(locked, now)
        shift = shift_on(locked, shift_id)
        active = list(
            db.session.scalars(
                select(Signup)
                .where(Signup.shift_id == shift.id, Signup.status.in_(st.ACTIVE_STATUSES))
                .order_by(Signup.id)
            )
        )
        if active and not cancel_signups:
            raise ShiftInUse(len(active))
        name = shift.name
        messages = _shift_cancelled_emails(locked, name, active, now)
        webhooks.emit_signups(wh.SIGNUP_CANCELLED, locked, active, now, status=st.CANCELLED)
        db.session.execute(delete(Signup).where(Signup.shift_id == shift.id))
        db.session.execute(delete(Shift).where(Shift.id == shift.id))
        for position, other in enumerate(s for s in shifts_of(event.id) if s.id != shift.id):
            other.position = position
    db.session.expire_all()
    return DeletedShift(name=name, cancelled=len(active), emailed=send_many(messages))


def _shift_cancelled_emails(event: Event, shift_name: str, signups: list[Signup], now: datetime):
    """The emails telling volunteers their shift was called off, built before the rows go."""
    with url_context():
        event_url = absolute_url("events.detail", event_id=event.id)
        return [
            build_email(
                signup.email,
                "shift_cancelled",
                signup.locale,
                event=event,
                signup=signup,
                shift_name=shift_name,
                event_url=event_url,
            )
            for signup in signups
        ]


def follow_move(event: Event, old_start: datetime) -> None:
    """When an action's times change, its shifts move by as much as its start did, and stay
    inside it: a shift that no longer fits keeps only its name (no commit: part of the edit)."""
    delta = event.starts_at - old_start
    for shift in shifts_of(event.id):
        if shift.starts_at is None or shift.ends_at is None:
            continue
        start = max(shift.starts_at + delta, event.starts_at)
        end = min(shift.ends_at + delta, event.ends_at)
        if end <= start:
            start = end = None
        shift.starts_at, shift.ends_at = start, end
