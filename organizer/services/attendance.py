"""Attendance: check-in and check-out at the action, counts, and volunteers' histories.

Checking in or out changes nobody's place, so it needs no roster lock: each is one
conditional UPDATE, which makes it idempotent and safe when two organizers tap at once or a
phone on a bad connection sends the same form twice (the first check-in time stays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..models import Event, Organization, Signup, User
from ..models import event as ev
from ..models import signup as st
from . import permissions
from .errors import InvalidTransition, NotFound
from .events import hosted_by
from .signups import signup_on

# What the check-in page lists: everyone confirmed, or only some of them.
SHOW_ALL = "all"
SHOW_WAITING = "waiting"  # not arrived yet
SHOW_ON_SITE = "on_site"  # checked in, not out
SHOW_LEFT = "left"  # checked out
SHOW_CHOICES = (SHOW_ALL, SHOW_WAITING, SHOW_ON_SITE, SHOW_LEFT)

HISTORY_LIMIT = 200


def signups_of(user: User) -> ColumnElement[bool]:
    """A user's sign-ups: by account, or made as a guest with the address they confirmed."""
    condition = Signup.user_id == user.id
    if user.email_confirmed:
        condition = or_(condition, Signup.email == user.email.strip().lower())
    return condition


# --- counts ----------------------------------------------------------------------------------


@dataclass
class AttendanceCounts:
    """Confirmed sign-ups of one action (rows: a volunteer in two shifts counts twice)."""

    signed_up: int = 0
    attended: int = 0
    marked_no_show: int = 0
    unmarked: int = 0
    on_site: int = 0
    left: int = 0
    over: bool = False

    @property
    def taken(self) -> bool:
        """Whether the organizers recorded attendance at all."""
        return bool(self.attended or self.marked_no_show)

    @property
    def no_show(self) -> int:
        """Marked no-shows; once the action is over and attendance was taken, everyone
        confirmed who was never checked in too. (Without any check-in, nobody is counted:
        the organizers simply did not take attendance.)"""
        if self.over and self.taken:
            return self.marked_no_show + self.unmarked
        return self.marked_no_show

    @property
    def waiting(self) -> int:
        """Confirmed, not checked in yet."""
        return self.signed_up - self.attended


def _flag(condition) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def attendance_counts(events: list[Event], now: datetime) -> dict[int, AttendanceCounts]:
    """AttendanceCounts for each action, in one query whatever their number."""
    result = {e.id: AttendanceCounts(over=e.ends_at <= now) for e in events}
    if not result:
        return result
    checked_in = Signup.checked_in_at.is_not(None)
    rows = db.session.execute(
        select(
            Signup.event_id,
            func.count(),
            _flag(Signup.attendance == st.ATTENDED),
            _flag(Signup.attendance == st.NO_SHOW),
            _flag(Signup.attendance.is_(None)),
            _flag(checked_in & Signup.checked_out_at.is_(None)),
            _flag(checked_in & Signup.checked_out_at.is_not(None)),
        )
        .where(Signup.event_id.in_(list(result)), Signup.status == st.CONFIRMED)
        .group_by(Signup.event_id)
    )
    for event_id, signed_up, attended, no_show, unmarked, on_site, left in rows:
        counts = result[event_id]
        counts.signed_up, counts.attended, counts.marked_no_show = signed_up, attended, no_show
        counts.unmarked, counts.on_site, counts.left = unmarked, on_site, left
    return result


# --- the check-in page -------------------------------------------------------------------------


def checkin_list(event_id: int, q: str = "", show: str = SHOW_ALL) -> list[Signup]:
    """Confirmed volunteers by name (with their shift), in one query; `q` matches names."""
    query = (
        select(Signup)
        .options(joinedload(Signup.shift))
        .where(Signup.event_id == event_id, Signup.status == st.CONFIRMED)
    )
    if q:
        query = query.where(Signup.name.icontains(q, autoescape=True))
    if show == SHOW_WAITING:
        query = query.where(Signup.checked_in_at.is_(None))
    elif show == SHOW_ON_SITE:
        query = query.where(Signup.checked_in_at.is_not(None), Signup.checked_out_at.is_(None))
    elif show == SHOW_LEFT:
        query = query.where(Signup.checked_out_at.is_not(None))
    return list(db.session.scalars(query.order_by(func.lower(Signup.name), Signup.id)))


@dataclass
class CheckinResult:
    signup: Signup
    changed: bool  # False: it was already so (a second tap, a resent form)


def _checkable(event: Event, signup_id: int) -> Signup:
    signup = signup_on(event, signup_id)
    if event.status != ev.STATUS_PUBLISHED:
        raise InvalidTransition(event.status)  # cancelled (or a draft): nobody comes
    return signup


def _apply(signup: Signup, condition, values: dict) -> bool:
    result = db.session.execute(
        update(Signup)
        .where(Signup.id == signup.id, Signup.status == st.CONFIRMED, condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(signup)
    return result.rowcount == 1


def check_in(event: Event, signup_id: int, now: datetime) -> CheckinResult:
    """The volunteer arrived: attended, and the time of the first check-in is kept."""
    signup = _checkable(event, signup_id)
    changed = _apply(
        signup,
        Signup.checked_in_at.is_(None),
        {"checked_in_at": now, "attendance": st.ATTENDED, "updated_at": now},
    )
    if signup.status != st.CONFIRMED:
        raise InvalidTransition(signup.status)
    return CheckinResult(signup, changed)


def check_out(event: Event, signup_id: int, now: datetime) -> CheckinResult:
    """The volunteer left (only after checking in); the first check-out time is kept."""
    signup = _checkable(event, signup_id)
    changed = _apply(
        signup,
        Signup.checked_in_at.is_not(None) & Signup.checked_out_at.is_(None),
        {"checked_out_at": now, "updated_at": now},
    )
    if signup.status != st.CONFIRMED:
        raise InvalidTransition(signup.status)
    if signup.checked_in_at is None:
        raise InvalidTransition("not_checked_in")
    return CheckinResult(signup, changed)


def back_on_site(event: Event, signup_id: int, now: datetime) -> CheckinResult:
    """Undo a check-out (a wrong tap, or they came back): on site again."""
    signup = _checkable(event, signup_id)
    changed = _apply(
        signup,
        Signup.checked_out_at.is_not(None),
        {"checked_out_at": None, "updated_at": now},
    )
    if signup.status != st.CONFIRMED:
        raise InvalidTransition(signup.status)
    return CheckinResult(signup, changed)


# --- histories ---------------------------------------------------------------------------------


@dataclass
class History:
    """Sign-ups with their actions, split into those to come and those over."""

    upcoming: list[Signup] = field(default_factory=list)
    past: list[Signup] = field(default_factory=list)

    @property
    def attended(self) -> int:
        return sum(1 for s in self.past if s.attendance == st.ATTENDED)

    @property
    def no_show(self) -> int:
        return sum(1 for s in self.past if s.attendance == st.NO_SHOW)

    @property
    def confirmed_past(self) -> int:
        return sum(1 for s in self.past if s.status == st.CONFIRMED)


def _history(condition, now: datetime) -> History:
    rows = db.session.scalars(
        select(Signup)
        .join(Signup.event)
        .where(condition, Event.status != ev.STATUS_DRAFT)
        .options(
            contains_eager(Signup.event).joinedload(Event.organization),
            joinedload(Signup.shift),
        )
        .order_by(Event.starts_at.desc(), Event.id.desc(), Signup.id)
        .limit(HISTORY_LIMIT)
    )
    history = History()
    for signup in rows:
        (history.upcoming if signup.event.ends_at > now else history.past).append(signup)
    history.upcoming.reverse()  # soonest first; the past, latest first
    return history


@dataclass
class VolunteerHistory:
    """One volunteer as an organization knows them: only its own actions."""

    name: str
    email: str
    phone: str
    history: History


def volunteer_history(org: Organization, signup_id: int, now: datetime) -> VolunteerHistory:
    """The person behind a sign-up to one of `org`'s actions, and their sign-ups to the actions
    `org` hosts or co-hosts (by the same address, or the same account). NotFound for a sign-up
    to an action `org` does not host: an organization never sees what people do elsewhere."""
    anchor = db.session.scalar(
        select(Signup).join(Signup.event).where(Signup.id == signup_id, hosted_by(org.id))
    )
    if anchor is None:
        raise NotFound(signup_id)
    same_person = Signup.email == anchor.email
    if anchor.user_id is not None:
        same_person = or_(same_person, Signup.user_id == anchor.user_id)
    history = _history(same_person & hosted_by(org.id), now)
    phone = anchor.phone or next((s.phone for s in history.past if s.phone), "")
    return VolunteerHistory(anchor.name, anchor.email, phone, history)


def my_history(user: User, now: datetime) -> History:
    """A volunteer's own sign-ups to every organization's actions."""
    return _history(signups_of(user), now)


def history_organization(user: User, event: Event) -> Organization | None:
    """Through which host a roster's reader sees a volunteer's history: an organization of
    theirs that hosts the action (the primary host for an administrator)."""
    mine = permissions.organization_ids_of(user)
    for org in event.host_organizations:
        if org.id in mine:
            return org
    return event.organization if getattr(user, "is_admin", False) else None
