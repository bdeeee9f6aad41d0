"""Calendar files and feeds: valid RFC 5545 that matches the database, and never a hidden place
outside the personal feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from organizer.extensions import db
from organizer.models import Event
from organizer.services import events as event_service

from . import factories
from .calendar_checks import check_ics, vevents
from .helpers import count_queries

HEBREW = "משמרת מחאה שבועית מול משרד הביטחון למען הפסקת אש והחזרת כל החטופים הביתה עכשיו"
ARABIC = "وقفة أسبوعية أمام وزارة الأمن من أجل وقف إطلاق النار وعودة جميع المخطوفين إلى بيوتهم الآن"
SECRET = "Hidden Orchard Gate 7"


def uid(event: Event) -> str:
    return f"event-{event.id}@localhost"


@pytest.fixture()
def mixed(app):
    """Actions of every status and visibility, in two zones, with long right-to-left titles."""
    org = factories.make_org(owner=factories.make_user(), name="Standing Together")
    other = factories.make_org(name="Parents Circle", timezone="Europe/London")
    return {
        "hebrew": factories.make_event(org, title=HEBREW * 2, sequence=3),
        "arabic": factories.make_event(
            other, title=f"{ARABIC} 🕊️ {ARABIC}", timezone="Europe/London", sequence=1
        ),
        "hidden": factories.make_event(
            org, title="Olive harvest", location_visibility="confirmed", address=SECRET
        ),
        "cancelled": factories.make_event(org, title="Called off", status="cancelled", sequence=2),
        "recent": factories.make_event(org, title="Last week", starts_in=timedelta(days=-7)),
        "old": factories.make_event(org, title="Last month", starts_in=timedelta(days=-40)),
        "draft": factories.make_event(org, title="Draft", status="draft"),
        "unlisted": factories.make_event(org, title="Invite only", visibility="unlisted"),
        "org": org,
    }


IN_FEED = ("hebrew", "arabic", "hidden", "cancelled", "recent")


def test_site_feed_is_valid_and_matches_the_database(client, mixed):
    response = client.get("/calendar/events.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = check_ics(response.data)
    found = vevents(calendar)
    assert set(found) == {uid(mixed[key]) for key in IN_FEED}
    for key in IN_FEED:
        event = db.session.get(Event, mixed[key].id)
        vevent = found[uid(event)]
        assert int(vevent["SEQUENCE"]) == event.sequence
        assert str(vevent["STATUS"]) == ("CANCELLED" if event.is_cancelled else "CONFIRMED")
        start = vevent.decoded("DTSTART")
        assert start == event.starts_at.replace(microsecond=0)
        assert str(start.tzinfo) == event.timezone  # on the action's own clock, with a TZID
        assert vevent["DTSTART"].params["TZID"] == event.timezone
        assert vevent.decoded("DTEND") == event.ends_at.replace(microsecond=0)
    zones = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    assert zones == {"Asia/Jerusalem", "Europe/London"}
    assert SECRET.encode() not in response.data


def test_long_hebrew_and_arabic_titles_fold_without_breaking_characters(client, mixed):
    data = client.get("/calendar/events.ics").data
    lines = data.split(b"\r\n")
    assert any(line.startswith(b" ") for line in lines)  # folded
    calendar = check_ics(data)  # every physical line is whole UTF-8 and at most 75 octets
    summaries = {str(v["SUMMARY"]) for v in calendar.walk("VEVENT")}
    assert HEBREW * 2 in summaries
    assert f"{ARABIC} 🕊️ {ARABIC}" in summaries


def test_one_action_file(client, mixed):
    event = mixed["hidden"]
    response = client.get(f"/events/{event.id}.ics")
    calendar = check_ics(response.data)
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == uid(event)
    assert "Jerusalem" in str(vevent["LOCATION"])
    assert SECRET.encode() not in response.data
    cancelled = check_ics(client.get(f"/events/{mixed['cancelled'].id}.ics").data)
    assert str(cancelled.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    assert client.get(f"/events/{mixed['draft'].id}.ics").status_code == 404


def test_organization_feed_lists_its_actions_and_co_hosted_ones(client, mixed):
    org = mixed["org"]
    partner = factories.make_org(name="Partners")
    joint = factories.make_event(partner, title="Joint drive", cohosts=(org,))
    factories.make_event(partner, title="Partner only")
    response = client.get(f"/orgs/{org.slug}/events.ics")
    calendar = check_ics(response.data)
    expected = {uid(mixed[k]) for k in ("hebrew", "hidden", "cancelled", "recent")} | {uid(joint)}
    assert set(vevents(calendar)) == expected
    assert str(calendar["X-WR-CALNAME"]) == "Standing Together"
    assert SECRET.encode() not in response.data
    assert b"Partner only" not in response.data


def test_feeds_take_a_fixed_number_of_queries(app, client, mixed):
    org = mixed["org"]
    for url in ("/calendar/events.ics", f"/orgs/{org.slug}/events.ics"):
        client.get(url)
        with count_queries() as few:
            client.get(url)
        for _ in range(10):
            factories.make_event(org)
        with count_queries() as many:
            client.get(url)
        assert len(few) == len(many), url


def _edit(event: Event, now, **changes) -> None:
    columns = {name: getattr(event, name) for name in event_service.EDITABLE_COLUMNS}
    data = event_service.EventData(**columns | changes, causes=event.cause_slugs)
    event_service.update_event(event, data, now)


def test_sequence_goes_up_with_publishing_each_edit_and_cancelling(client, mailbox):
    event = factories.make_event(title="Vigil", status="draft")

    def sequence_and_status() -> tuple[int, str]:
        (vevent,) = check_ics(client.get(f"/events/{event.id}.ics").data).walk("VEVENT")
        return int(vevent["SEQUENCE"]), str(vevent["STATUS"])

    now = factories.now()
    event_service.publish_event(event, now)
    assert sequence_and_status() == (1, "CONFIRMED")
    _edit(event, now, title="Vigil at the square")
    assert sequence_and_status() == (2, "CONFIRMED")
    _edit(event, now, starts_at=event.starts_at + timedelta(hours=1))
    assert sequence_and_status() == (3, "CONFIRMED")
    _edit(event, now)  # nothing changed: the same version
    assert sequence_and_status() == (3, "CONFIRMED")
    event_service.cancel_event(event, now)
    assert sequence_and_status() == (4, "CANCELLED")
    # A cancelled action stays in the feeds, so subscribed calendars remove it.
    (vevent,) = check_ics(client.get("/calendar/events.ics").data).walk("VEVENT")
    assert str(vevent["STATUS"]) == "CANCELLED" and int(vevent["SEQUENCE"]) == 4


def test_an_action_in_utc_needs_no_vtimezone(client):
    event = factories.make_event(timezone="UTC")
    calendar = check_ics(client.get(f"/events/{event.id}.ics").data)
    assert calendar.walk("VTIMEZONE") == []
    assert calendar.walk("VEVENT")[0].decoded("DTSTART").utcoffset() == timedelta(0)


def test_vtimezone_follows_daylight_saving(client):
    """A summer and a winter action in Jerusalem: read with our VTIMEZONE alone (not a zone
    database), 13:00 is +03:00 in July and +02:00 in January."""
    import vobject

    org = factories.make_org(timezone="Asia/Jerusalem")
    zone = ZoneInfo("Asia/Jerusalem")
    year = factories.now().year + 1
    for month in (7, 1):
        start = datetime(year, month, 10, 13, tzinfo=zone).astimezone(UTC)
        factories.make_event(org, starts_at=start, ends_at=start + timedelta(hours=2))
    data = client.get(f"/orgs/{org.slug}/events.ics").data
    calendar = check_ics(data)
    (vtimezone,) = calendar.walk("VTIMEZONE")
    ours = vtimezone.to_tz(lookup_tzid=False)
    offsets = sorted(
        v.decoded("DTSTART").replace(tzinfo=None).replace(tzinfo=ours).utcoffset()
        for v in calendar.walk("VEVENT")
    )
    assert offsets == [timedelta(hours=2), timedelta(hours=3)]
    parsed = vobject.readOne(data.decode())  # vobject, too, reads the offsets from it
    assert sorted(v.dtstart.value.utcoffset() for v in parsed.vevent_list) == offsets


def test_parsed_feed_round_trips(client, mixed):
    """What we publish, icalendar reads back to the same bytes (nothing lost or mangled)."""
    data = client.get("/calendar/events.ics").data
    assert Calendar.from_ical(data).to_ical() == data
