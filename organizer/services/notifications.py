"""Emails to volunteers about their sign-ups, each in the volunteer's own language.

Sending never raises: the sign-up is already committed, and a failing mail server is logged
by organizer.email.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from ..email import Attachment, build_email, send_email, send_many
from ..extensions import db
from ..ics import calendar_for
from ..models import Event, Signup
from ..models import signup as st
from ..tokens import InvalidToken, make_token, read_token
from ..web import absolute_url, now_utc, url_context
from .signups import can_see_location, waitlist_position

MANAGE_PURPOSE = "signup-manage"


def manage_token(signup: Signup) -> str:
    """The signed token that lets a volunteer see or cancel their sign-up without an account."""
    return make_token(MANAGE_PURPOSE, signup.id)


def signup_from_token(token: str) -> Signup | None:
    """The sign-up a manage link points to; None for a tampered link or a deleted sign-up."""
    try:
        signup_id = read_token(MANAGE_PURPOSE, token)
    except InvalidToken:
        return None
    return db.session.get(Signup, signup_id) if isinstance(signup_id, int) else None


def manage_url(signup: Signup) -> str:
    with url_context():
        return absolute_url("signups.manage", token=manage_token(signup))


def _context(signup: Signup, now: datetime) -> dict:
    event = signup.event
    show_place = can_see_location(event, signup, now)
    reveal_at = event.reveal_at()
    return {
        "signup": signup,
        "event": event,
        "show_place": show_place,
        # A confirmed volunteer who will see the hidden place later is told when.
        "reveal_later": (
            event.location_hidden
            and not show_place
            and signup.status == st.CONFIRMED
            and reveal_at is not None
        ),
        "reveal_at": reveal_at,
        "manage_url": manage_url(signup),
        "event_url": absolute_url("events.detail", event_id=event.id),
        "waitlist_position": waitlist_position(signup),
    }


def _calendar(event: Event, signup: Signup, now: datetime) -> Attachment:
    """The action for the volunteer's calendar, with the hidden place once they may see it."""
    content = calendar_for([event], now, reveal_location=can_see_location(event, signup, now))
    return Attachment(f"action-{event.id}.ics", content, "text/calendar")


def _send(
    signup: Signup, template: str, now: datetime | None, with_calendar: bool, **extra
) -> bool:
    now = now or now_utc()
    with url_context():
        attachments = [_calendar(signup.event, signup, now)] if with_calendar else []
        return send_email(
            signup.email,
            template,
            signup.locale,
            attachments=attachments,
            **_context(signup, now),
            **extra,
        )


def notify_signup(signup: Signup, now: datetime | None = None, repeated: bool = False) -> bool:
    """The confirmation right after signing up, worded by the status the volunteer got.

    `repeated`: the address was already signed up; only its inbox is told so.
    """
    templates = {
        st.CONFIRMED: ("signup_confirmed", True),
        st.WAITLISTED: ("signup_waitlisted", False),
        st.PENDING: ("signup_pending", False),
        st.DECLINED: ("signup_declined", False),
    }
    if signup.status not in templates:
        return False
    template, with_calendar = templates[signup.status]
    return _send(signup, template, now, with_calendar=with_calendar, repeated=repeated)


def notify_shift_signup(
    signups: list[Signup], now: datetime | None = None, repeated: bool = False
) -> bool:
    """One email for a sign-up to several shifts, listing each shift and its status, with the
    calendar file once one of them is confirmed.

    `repeated`: the address already held every chosen shift; only its inbox is told so.
    """
    if not signups:
        return False
    now = now or now_utc()
    first = signups[0]
    event = first.event
    confirmed = [s for s in signups if s.status == st.CONFIRMED]
    # The place, when shown, is shown by a confirmed sign-up's right to see it.
    lead = confirmed[0] if confirmed else first
    with url_context():
        return send_email(
            first.email,
            "signup_shifts",
            first.locale,
            attachments=[_calendar(event, lead, now)] if confirmed else [],
            **_context(lead, now),
            shift_signups=[(s, waitlist_position(s)) for s in signups],
            any_confirmed=bool(confirmed),
            all_pending=all(s.status == st.PENDING for s in signups),
            repeated=repeated,
        )


def notify_promoted(signups: Iterable[Signup], now: datetime | None = None) -> int:
    """A place opened up: the volunteers moved from the waitlist get the full details."""
    return sum(
        _send(signup, "signup_promoted", now, with_calendar=True)
        for signup in signups
        if signup.status == st.CONFIRMED
    )


def notify_approved(signup: Signup, now: datetime | None = None) -> bool:
    """An organizer accepted the request: a place (with details) or, when full, the waitlist."""
    return _send(signup, "signup_approved", now, with_calendar=signup.status == st.CONFIRMED)


def notify_declined(signup: Signup, now: datetime | None = None) -> bool:
    return _send(signup, "signup_declined", now, with_calendar=False)


def _signups_of(event: Event, statuses: Iterable[str]) -> list[Signup]:
    """One sign-up per volunteer (someone in two shifts gets one email), a confirmed one
    when they have it, so a hidden place is shown by what they may see."""
    rows = db.session.scalars(
        select(Signup)
        .where(Signup.event_id == event.id, Signup.status.in_(statuses))
        .order_by((Signup.status == st.CONFIRMED).desc(), Signup.id)
    )
    first: dict[str, Signup] = {}
    for signup in rows:
        first.setdefault(signup.email, signup)
    return sorted(first.values(), key=lambda signup: signup.id)


def _email_each(
    event: Event, statuses: Iterable[str], template: str, now: datetime, calendar: bool, **context
) -> int:
    """One email to each volunteer of `event` in `statuses`, all over one SMTP connection;
    returns how many the mail server took."""
    with url_context():
        event_url = absolute_url("events.detail", event_id=event.id)
        listing_url = absolute_url("events.index")
        messages = [
            build_email(
                signup.email,
                template,
                signup.locale,
                attachments=[_calendar(event, signup, now)] if calendar else [],
                event=event,
                signup=signup,
                show_place=can_see_location(event, signup, now),
                event_url=event_url,
                listing_url=listing_url,
                manage_url=manage_url(signup),
                **context,
            )
            for signup in _signups_of(event, statuses)
        ]
    return send_many(messages)


def notify_volunteers(event: Event, template: str, now: datetime, **context) -> int:
    """Tell every volunteer still holding a place, spot or request that the action changed or
    was cancelled, with the calendar file that updates it."""
    return _email_each(event, st.ACTIVE_STATUSES, template, now, calendar=True, **context)


def message_volunteers(event: Event, subject: str, body: str) -> int:
    """An organizer's message to every confirmed volunteer, each in an email of their own."""
    return _email_each(
        event,
        [st.CONFIRMED],
        "volunteer_message",
        now_utc(),
        calendar=False,
        subject=subject,
        message_subject=subject,
        body=body,
    )
