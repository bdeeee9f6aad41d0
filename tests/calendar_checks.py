"""Checks every calendar file must pass: RFC 5545 as icalendar and vobject read it."""

from __future__ import annotations

import vobject
from icalendar import Calendar


def check_ics(data: bytes) -> Calendar:
    """Parse `data`, failing on anything a strict reader would refuse.

    CRLF after every line, no line over 75 octets, no UTF-8 sequence split by folding, a
    VTIMEZONE for every TZID, a DTSTAMP and a unique UID (per RECURRENCE-ID) on every VEVENT,
    and vobject's own validation of the whole calendar.
    """
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b""), "a bare LF"
    assert b"\r" not in data.replace(b"\r\n", b""), "a bare CR"
    for line in data.split(b"\r\n")[:-1]:
        assert len(line) <= 75, f"{len(line)} octets: {line!r}"
        line.decode("utf-8")  # folding never cuts a character in two
    text = data.decode("utf-8")

    calendar = Calendar.from_ical(data)
    assert calendar.get_missing_tzids() == set()
    seen = set()
    for vevent in calendar.walk("VEVENT"):
        assert "DTSTAMP" in vevent
        key = (str(vevent["UID"]), vevent.get("RECURRENCE-ID") and vevent.decoded("RECURRENCE-ID"))
        assert key not in seen, key
        seen.add(key)

    forget_vobject_zones()
    parsed = vobject.readOne(text, validate=True)
    assert parsed.validate(raiseException=True)
    assert len(list(vobject.readComponents(text, validate=True))) == 1
    return calendar


def forget_vobject_zones() -> None:
    """vobject keeps the first VTIMEZONE it read for a TZID, process-wide: forget them, so each
    file is read with its own."""
    vars(vobject.icalendar)["__tzidMap"].clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)


def vevents(calendar: Calendar) -> dict[str, object]:
    """The VEVENTs without RECURRENCE-ID, by UID."""
    return {str(v["UID"]): v for v in calendar.walk("VEVENT") if "RECURRENCE-ID" not in v}
