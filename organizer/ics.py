"""iCalendar (RFC 5545) files for actions; hidden places appear only when the caller allows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import Response, current_app
from icalendar import Calendar
from icalendar import Event as IEvent

from .models import Event
from .models.event import STATUS_CANCELLED
from .web import absolute_url


def event_uid(event: Event) -> str:
    host = current_app.config["PUBLIC_URL"].split("://", 1)[-1].split("/", 1)[0]
    return f"event-{event.id}@{host}"


def _vevent(event: Event, now: datetime, reveal_location: bool) -> IEvent:
    item = IEvent()
    item.add("uid", event_uid(event))
    item.add("dtstamp", now)
    item.add("dtstart", event.starts_at)
    item.add("dtend", event.ends_at)
    item.add("summary", event.title)
    item.add("sequence", event.sequence)
    url = absolute_url("events.detail", event_id=event.id)
    item.add("url", url)
    description = event.description_md
    if reveal_location and event.is_online and event.online_url:
        description = f"{event.online_url}\n\n{description}"
    item.add("description", f"{description}\n\n{url}".strip())
    if reveal_location or not event.location_hidden:
        where = event.online_url if event.is_online else event.address
        location = ", ".join(p for p in (where, event.public_place) if p)
    else:
        location = event.public_place
    item.add("location", location)
    item.add("status", "CANCELLED" if event.status == STATUS_CANCELLED else "CONFIRMED")
    return item


def calendar_for(
    events: Iterable[Event], now: datetime, reveal_location: bool = False, name: str | None = None
) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Organizer//organizer//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(_vevent(event, now, reveal_location))
    return cal.to_ical()


def calendar_response(body: bytes, filename: str) -> Response:
    """An .ics file to download; calendar apps can also subscribe to its address."""
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
