"""Emails to volunteers about their sign-ups, each in the volunteer's own language.

Sending never raises: the sign-up is already committed, and a failing mail server is logged
by organizer.email.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import current_app, has_request_context, url_for
from sqlalchemy import select

from ..email import Attachment, build_email, send_email, send_many
from ..extensions import db
from ..ics import calendar_for
from ..models import Event, Signup
from ..models import signup as st
from ..tokens import make_token
from ..web import now_utc
from .signups import can_see_location, waitlist_position

MANAGE_PURPOSE = "signup-manage"


def manage_token(signup: Signup) -> str:
    """The signed token that lets a volunteer see or cancel their sign-up without an account."""
    return make_token(MANAGE_PURPOSE, signup.id)


@contextmanager
def _url_context() -> Iterator[None]:
    """url_for needs a request; commands and workers that send email have none."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context("/"):
        yield


def _absolute(endpoint: str, **values) -> str:
    return current_app.config["PUBLIC_URL"] + url_for(endpoint, **values)


def manage_url(signup: Signup) -> str:
    with _url_context():
        return _absolute("signups.manage", token=manage_token(signup))


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
        "manage_url": _absolute("signups.manage", token=manage_token(signup)),
        "event_url": _absolute("events.detail", event_id=event.id),
        "waitlist_position": waitlist_position(signup),
    }


def _calendar(signup: Signup, now: datetime) -> Attachment:
    event = signup.event
    content = calendar_for([event], now, reveal_location=can_see_location(event, signup, now))
    return Attachment(f"action-{event.id}.ics", content, "text/calendar")


def _send(signup: Signup, template: str, now: datetime | None, with_calendar: bool) -> bool:
    now = now or now_utc()
    with _url_context():
        attachments = [_calendar(signup, now)] if with_calendar else []
        return send_email(
            signup.email,
            template,
            signup.locale,
            attachments=attachments,
            **_context(signup, now),
        )


def notify_signup(signup: Signup, now: datetime | None = None) -> bool:
    """The confirmation right after signing up, worded by the status the volunteer got."""
    if signup.status == st.CONFIRMED:
        return _send(signup, "signup_confirmed", now, with_calendar=True)
    if signup.status == st.WAITLISTED:
        return _send(signup, "signup_waitlisted", now, with_calendar=False)
    if signup.status == st.PENDING:
        return _send(signup, "signup_pending", now, with_calendar=False)
    if signup.status == st.DECLINED:
        return notify_declined(signup, now)
    return False


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


def message_volunteers(event: Event, subject: str, body: str, now: datetime | None = None) -> int:
    """An organizer's message to every confirmed volunteer: one email each, one SMTP connection.

    Returns how many were handed to the mail server.
    """
    now = now or now_utc()
    signups = db.session.scalars(
        select(Signup)
        .where(Signup.event_id == event.id, Signup.status == st.CONFIRMED)
        .order_by(Signup.id)
    ).all()
    with _url_context():
        messages = [
            build_email(
                signup.email,
                "volunteer_message",
                signup.locale,
                subject=subject,
                message_subject=subject,
                body=body,
                signup=signup,
                event=event,
                manage_url=_absolute("signups.manage", token=manage_token(signup)),
                event_url=_absolute("events.detail", event_id=event.id),
            )
            for signup in signups
        ]
    return send_many(messages)
