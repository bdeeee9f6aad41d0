"""Calendar feeds: all public actions, one organization's, and a volunteer's personal feed.

Feeds keep actions that ended in the last FEED_KEEPS_PAST and cancelled ones (with
STATUS:CANCELLED): a subscribed calendar app mirrors the feed, so an action that simply
vanished would vanish from the volunteer's calendar too, and a cancelled one must stay long
enough for every app to see it was called off.

The organization's feed shows each recurring series as one VEVENT with RRULE and EXDATE; the
site-wide and personal feeds list each occurrence on its own, like any action: each has its
own page, sign-ups and (in the personal feed) its own meeting point, and a volunteer usually
joins some occurrences, not the whole series.

Only the personal feed, behind a secret URL, may carry a hidden place: for a confirmed
volunteer from the reveal time on (signups.can_see_location), as in their emails.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..ics import CalendarBuilder
from ..models import Event, EventSeries, Organization, Signup, User
from ..models import event as ev
from ..models import signup as st
from ..web import url_context
from . import events as event_service
from .attendance import signups_of
from .signups import can_see_location

FEED_KEEPS_PAST = timedelta(days=14)
FEED_LIMIT = 1000
FEED_STATUSES = (ev.STATUS_PUBLISHED, ev.STATUS_CANCELLED)


def _in_feed(now: datetime):
    """Public actions in a feed: published or cancelled, not over for long."""
    return select(Event).where(
        Event.status.in_(FEED_STATUSES),
        Event.visibility == ev.VISIBILITY_PUBLIC,
        Event.ends_at > now - FEED_KEEPS_PAST,
    )


def _listed(event: Event) -> bool:
    return event.status == ev.STATUS_PUBLISHED and event.visibility == ev.VISIBILITY_PUBLIC


def public_feed(now: datetime, name: str = "Organizer") -> bytes:
    """Every public action (one query); occurrences of series one by one."""
    query = _in_feed(now).order_by(Event.starts_at, Event.id).limit(FEED_LIMIT)
    builder = CalendarBuilder(now, name=name, refresh=True)
    with url_context():
        for event in db.session.scalars(query):
            builder.add_event(event)
    return builder.to_ical()


def organization_feed(org: Organization, now: datetime) -> bytes:
    """The actions `org` hosts or co-hosts (a network: and those of its active members), its
    own series as one RRULE each (three queries)."""
    hosts = event_service.in_network(org.id) if org.is_network else event_service.hosted_by(org.id)
    query = _in_feed(now).where(hosts).order_by(Event.starts_at, Event.id).limit(FEED_LIMIT)
    events = list(db.session.scalars(query))
    series_ids = sorted({e.series_id for e in events if e.series_id is not None})
    series = {
        s.id: s
        for s in db.session.scalars(
            select(EventSeries)
            .where(EventSeries.id.in_(series_ids), EventSeries.organization_id == org.id)
            .options(joinedload(EventSeries.organization))
        )
    }
    occurrences: dict[int, list[Event]] = {series_id: [] for series_id in series}
    if series:
        for event in db.session.scalars(
            select(Event)
            .where(Event.series_id.in_(list(series)))
            .order_by(Event.occurrence_start, Event.id)
        ):
            occurrences[event.series_id].append(event)

    builder = CalendarBuilder(now, name=org.name, refresh=True)
    since = now - FEED_KEEPS_PAST
    with url_context():
        for event in events:
            if event.series_id not in series:
                builder.add_event(event)  # a single action, or another organization's series
        for series_id, one in series.items():
            builder.add_series(one, occurrences[series_id], _listed, since)
    return builder.to_ical()


# --- the personal feed -------------------------------------------------------------------------


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)


def calendar_token(user: User) -> str:
    """The user's feed token, made on first request; two requests at once agree on one."""
    if user.calendar_token is None:
        db.session.execute(
            update(User)
            .where(User.id == user.id, User.calendar_token.is_(None))
            .values(calendar_token=new_calendar_token())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        db.session.refresh(user, ["calendar_token"])
    return user.calendar_token


def reset_calendar_token(user: User) -> str:
    """A new secret: the old feed URL stops working at once (404)."""
    user.calendar_token = new_calendar_token()
    db.session.commit()
    return user.calendar_token


def user_for_calendar_token(token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(User).where(User.calendar_token == token))


def personal_signups(user: User, now: datetime) -> list[Signup]:
    """The active sign-ups the personal feed lists, with their actions and shifts (one query)."""
    query = (
        select(Signup)
        .join(Signup.event)
        .where(
            signups_of(user),
            Signup.status.in_(st.ACTIVE_STATUSES),
            Event.status.in_(FEED_STATUSES),
            Event.ends_at > now - FEED_KEEPS_PAST,
        )
        .options(joinedload(Signup.event), joinedload(Signup.shift))
        # Confirmed first: of two shift sign-ups listed as one action, it is what counts.
        .order_by(Event.starts_at, Event.id, (Signup.status != st.CONFIRMED), Signup.id)
        .limit(FEED_LIMIT)
    )
    return list(db.session.scalars(query))


def _note(signup: Signup) -> str:
    if signup.status == st.WAITLISTED:
        return _("You are on the waitlist.")
    if signup.status == st.PENDING:
        return _("Your sign-up is waiting for the organizers' approval.")
    return ""


def personal_feed(user: User, now: datetime) -> bytes:
    """The actions the user signed up for, in their language; hidden places once they may see
    them. A sign-up for a shift with its own times is listed at those times."""
    with url_context(), force_locale(user.locale or current_app.config["DEFAULT_LOCALE"]):
        builder = CalendarBuilder(now, name=_("My actions on Organizer"), refresh=True)
        listed: set[tuple[int, int | None]] = set()
        for signup in personal_signups(user, now):
            event = signup.event
            shift = signup.shift if signup.shift and signup.shift.starts_at else None
            key = (event.id, shift.id if shift else None)
            if key in listed:
                continue  # two shifts without times of their own: the action once
            listed.add(key)
            builder.add_event(
                event,
                reveal_location=can_see_location(event, signup, now),
                shift=shift,
                tentative=signup.status != st.CONFIRMED,
                note=_note(signup),
            )
        return builder.to_ical()
