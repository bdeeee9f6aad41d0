"""iCalendar (RFC 5545) files and feeds for actions; hidden places appear only when allowed.

Every file is built by `CalendarBuilder`: a stable UID per action (`event-<id>@host`) or
series (`series-<id>@host`), SEQUENCE from the database, STATUS:CANCELLED for a cancelled
action, times in the action's own zone (TZID) with a VTIMEZONE for each zone used, CRLF line
endings and lines folded at 75 octets (the icalendar library does both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from flask import Response, current_app
from icalendar import Calendar, vDuration, vRecur
from icalendar import Event as IEvent

from .models import Event, EventSeries, Shift
from .models.event import STATUS_CANCELLED, VISIBILITY_PUBLIC
from .web import absolute_url

# Calendar apps ask again this often; a hidden place appears in the personal feed at its
# reveal time, so an hour is as late as it can show up.
REFRESH = timedelta(hours=1)
# How far ahead the VTIMEZONE rules reach for a series with no end.
OPEN_SERIES_ZONE_YEARS = 5
# Guard for expanding a rule (a series materializes at most a few months ahead).
MAX_EXPANDED = 2000


def _host() -> str:
    return current_app.config["PUBLIC_URL"].split("://", 1)[-1].split("/", 1)[0]


def event_uid(event: Event) -> str:
    return f"event-{event.id}@{_host()}"


def shift_uid(event: Event, shift: Shift) -> str:
    return f"event-{event.id}-shift-{shift.id}@{_host()}"


def series_uid(series: EventSeries) -> str:
    return f"series-{series.id}@{_host()}"


def _location(event: Event, reveal_location: bool) -> str:
    if reveal_location or not event.location_hidden:
        where = event.online_url if event.is_online else event.address
        return ", ".join(p for p in (where, event.public_place) if p)
    return event.public_place


def _description(event: Event, url: str, reveal_location: bool, note: str = "") -> str:
    description = event.description_md
    if reveal_location and event.is_online and event.online_url:
        description = f"{event.online_url}\n\n{description}"
    if note:
        description = f"{note}\n\n{description}"
    return f"{description}\n\n{url}".strip()


def _local(value: datetime, zone: str) -> datetime:
    return value.astimezone(ZoneInfo(zone))


@dataclass
class _Span:
    """The dates the calendar's VTIMEZONE components must cover."""

    first: date | None = None
    last: date | None = None

    def cover(self, start: date, end: date) -> None:
        self.first = start if self.first is None else min(self.first, start)
        self.last = end if self.last is None else max(self.last, end)


class CalendarBuilder:
    """One VCALENDAR: add actions and series, then `to_ical()`."""

    def __init__(self, now: datetime, name: str | None = None, refresh: bool = False) -> None:
        self.now = now
        self.calendar = Calendar()
        self.calendar.add("prodid", "-//Organizer//organizer//EN")
        self.calendar.add("version", "2.0")
        self.calendar.add("calscale", "GREGORIAN")
        self.calendar.add("method", "PUBLISH")
        if name:
            self.calendar.add("x-wr-calname", name)
        if refresh:
            self.calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
            self.calendar.add("x-published-ttl", vDuration(REFRESH))
        self._span = _Span()

    def _cover(self, start: datetime, end: datetime) -> None:
        self._span.cover(start.date() - timedelta(days=1), end.date() + timedelta(days=1))

    def add_event(
        self,
        event: Event,
        *,
        reveal_location: bool = False,
        shift: Shift | None = None,
        tentative: bool = False,
        note: str = "",
    ) -> IEvent:
        """One action as one VEVENT; with `shift`, that shift's own times (if it has any)."""
        item = IEvent()
        starts_at, ends_at = event.starts_at, event.ends_at
        title = event.title
        if shift is not None:
            item.add("uid", shift_uid(event, shift))
            starts_at = shift.starts_at or starts_at
            ends_at = shift.ends_at or ends_at
            title = f"{event.title} – {shift.name}"
        else:
            item.add("uid", event_uid(event))
        item.add("dtstamp", self.now)
        self._times(item, starts_at, ends_at, event.timezone)
        item.add("summary", title)
        item.add("sequence", event.sequence)
        url = absolute_url("events.detail", event_id=event.id)
        item.add("url", url)
        item.add("description", _description(event, url, reveal_location, note))
        item.add("location", _location(event, reveal_location))
        if event.status == STATUS_CANCELLED:
            status = "CANCELLED"
        else:
            status = "TENTATIVE" if tentative else "CONFIRMED"
        item.add("status", status)
        self.calendar.add_component(item)
        return item

    def _times(self, item: IEvent, starts_at: datetime, ends_at: datetime, zone: str) -> None:
        start, end = _local(starts_at, zone), _local(ends_at, zone)
        item.add("dtstart", start)
        item.add("dtend", end)
        self._cover(start, end)

    def add_series(
        self,
        series: EventSeries,
        occurrences: list[Event],
        listed: Callable[[Event], bool],
        since: datetime,
    ) -> None:
        """A recurring series as one VEVENT with RRULE (the organization's feed).

        `occurrences` are all of the series' materialized actions; those `listed` (published
        and public) appear through the rule. Every slot of the rule that has no listed action
        (cancelled, unlisted, never made) gets an EXDATE. An occurrence edited or moved on
        its own gets its own VEVENT with the same UID and RECURRENCE-ID = its slot: RFC 5545
        overrides an instance that way, so its slot is not also an EXDATE (an excluded slot
        has no instance left to override, and some apps would drop the moved one). An action
        whose slot the rule no longer makes (the rule changed, the series ended) is listed as
        a plain action if it is listed, or public and cancelled, and ends after `since` (as the
        feed's other actions); an unlisted one never is.
        """
        shown = [e for e in occurrences if listed(e)]
        if not shown:
            return
        zone = ZoneInfo(series.timezone)
        try:
            rule, expand = _rule_of(series)
        except (ValueError, KeyError, TypeError):
            # A rule we can't read is never worth a broken feed: list the dates one by one.
            for event in occurrences:
                if event.ends_at > since and _loose(event, listed):
                    self.add_event(event)
            return
        template = _template(shown)
        start = series.local_start.replace(tzinfo=zone)
        master = IEvent()
        master.add("uid", series_uid(series))
        master.add("dtstamp", self.now)
        master.add("dtstart", start)
        master.add("dtend", start + timedelta(minutes=series.duration_minutes))
        master.add("rrule", rule)
        # Cancelling one occurrence adds an EXDATE here: counted in, so SEQUENCE goes up.
        cancelled = sum(1 for e in occurrences if e.status == STATUS_CANCELLED)
        master.add("sequence", series.sequence + cancelled)
        master.add("summary", template.title)
        url = absolute_url("orgs.public", slug=series.organization.slug)
        master.add("url", url)
        master.add("description", _description(template, url, False))
        master.add("location", _location(template, False))
        master.add("status", "CONFIRMED")
        self.calendar.add_component(master)

        by_slot: dict[datetime, Event] = {}
        loose: list[Event] = []
        for event in occurrences:
            slot = _slot(event, zone)
            if slot is not None and slot in expand:
                by_slot[slot] = event
            elif event.ends_at > since and _loose(event, listed):
                loose.append(event)  # not (or no longer) a slot of the rule
        last_slot = max(by_slot, default=series.local_start)
        if series.materialized_until is not None:
            made = _local(series.materialized_until, series.timezone).replace(tzinfo=None)
            last_slot = max(last_slot, made)
        excluded = []
        for count, slot in enumerate(expand):
            if slot > last_slot or count >= MAX_EXPANDED:
                break
            event = by_slot.get(slot)
            if event is None or not listed(event):
                excluded.append(slot.replace(tzinfo=zone))
            elif _overridden(event, template, series):
                self._override(series, event, slot.replace(tzinfo=zone))
        if excluded:
            master.add("exdate", excluded)
        for event in loose:
            self.add_event(event)

        self._cover(start, _rule_last(rule, series, self.now))

    def _override(self, series: EventSeries, event: Event, slot: datetime) -> None:
        item = IEvent()
        item.add("uid", series_uid(series))
        item.add("recurrence-id", slot)
        item.add("dtstamp", self.now)
        self._times(item, event.starts_at, event.ends_at, event.timezone)
        # Both only ever go up, so their sum goes up with a change to either.
        item.add("sequence", series.sequence + event.sequence)
        item.add("summary", event.title)
        url = absolute_url("events.detail", event_id=event.id)
        item.add("url", url)
        item.add("description", _description(event, url, False))
        item.add("location", _location(event, False))
        item.add("status", "CONFIRMED")
        self.calendar.add_component(item)

    def to_ical(self) -> bytes:
        """The file, with a VTIMEZONE for every zone its times use."""
        if self._span.first is not None:
            self.calendar.add_missing_timezones(self._span.first, self._span.last)
        return self.calendar.to_ical()


def _loose(event: Event, listed: Callable[[Event], bool]) -> bool:
    """Whether a date outside the rule is listed on its own: a listed one, or a public one
    that was cancelled (kept so calendar apps see it was called off). An unlisted date never
    is, cancelled or not: its title, time and place are for those with its link."""
    if listed(event):
        return True
    return event.status == STATUS_CANCELLED and event.visibility == VISIBILITY_PUBLIC


def _slot(event: Event, zone: ZoneInfo) -> datetime | None:
    """The occurrence's slot in the rule as naive wall-clock time (how the rule counts)."""
    if event.occurrence_start is None:
        return None
    return event.occurrence_start.astimezone(zone).replace(tzinfo=None)


def _template(shown: list[Event]) -> Event:
    """What the series looks like now: its latest occurrence not edited on its own."""
    kept = [e for e in shown if not e.detached] or shown
    return max(kept, key=lambda e: (e.occurrence_start or e.starts_at, e.id))


def _overridden(event: Event, template: Event, series: EventSeries) -> bool:
    """Whether an occurrence differs from what the rule and the template say about it."""
    if event.detached or event.starts_at != event.occurrence_start:
        return True
    if event.ends_at - event.starts_at != timedelta(minutes=series.duration_minutes):
        return True
    if event.timezone != series.timezone:
        return True
    fields = ("title", "description_md", "is_online", "city", "region", "location_visibility")
    if any(getattr(event, f) != getattr(template, f) for f in fields):
        return True
    return not event.location_hidden and _location(event, False) != _location(template, False)


def _until_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        return aware.astimezone(UTC)
    return datetime.combine(value, time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def _rule_of(series: EventSeries):
    """The RRULE to publish and a dateutil rule to expand slots with (naive wall-clock).

    With a TZID'd DTSTART, RFC 5545 wants UNTIL in UTC: a floating or all-day UNTIL is read
    on the series' clock. (Ending a series puts its end in the rule's UNTIL; `ended_at` only
    says when that was decided, and dates before the end still happen.)
    """
    zone = ZoneInfo(series.timezone)
    parts = vRecur.from_ical(series.rule)
    until = _until_utc(parts["UNTIL"][0], zone) if "UNTIL" in parts else None
    if until is not None:
        parts["UNTIL"] = [until.replace(microsecond=0)]
    local = vRecur(parts)
    if until is not None:
        local["UNTIL"] = [until.astimezone(zone).replace(tzinfo=None, microsecond=0)]
    expand = rrulestr(local.to_ical().decode(), dtstart=series.local_start, cache=True)
    return vRecur(parts), expand


def _rule_last(rule: vRecur, series: EventSeries, now: datetime) -> datetime:
    """Until when the series runs, for the VTIMEZONE: its UNTIL, or some years ahead."""
    zone = ZoneInfo(series.timezone)
    if "UNTIL" in rule:
        return rule["UNTIL"][0].astimezone(zone) + timedelta(minutes=series.duration_minutes)
    start = series.local_start.replace(tzinfo=zone)
    return max(start, now.astimezone(zone)) + timedelta(days=365 * OPEN_SERIES_ZONE_YEARS)


def calendar_for(
    events: Iterable[Event], now: datetime, reveal_location: bool = False, name: str | None = None
) -> bytes:
    """Plain actions, one VEVENT each (emails' attachments and the one-action file)."""
    builder = CalendarBuilder(now, name=name)
    for event in events:
        builder.add_event(event, reveal_location=reveal_location)
    return builder.to_ical()


def calendar_response(body: bytes, filename: str, private: bool = False) -> Response:
    """An .ics file to download; calendar apps can also subscribe to its address.

    `private`: a personal feed behind a secret URL, never cached or indexed anywhere.
    """
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if private:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
