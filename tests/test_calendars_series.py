"""A recurring series in the organization's feed: one VEVENT with RRULE, EXDATE for dates that
won't happen, RECURRENCE-ID for a date moved on its own; elsewhere, one VEVENT per date.

The series are built straight from the models, as `flask events extend` leaves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
import vobject

from organizer.extensions import db
from organizer.models import Event, EventHost, EventSeries

from . import factories
from .calendar_checks import check_ics, forget_vobject_zones

ZONE = ZoneInfo("Asia/Jerusalem")
WEEKS = 34  # longer than summer time (about 31 weeks): crosses a change whatever the date


def next_friday_13(weeks_ahead: int = 1) -> datetime:
    """A Friday at 13:00 on Jerusalem's clock, naive (as EventSeries.local_start)."""
    today = factories.now().astimezone(ZONE).date() + timedelta(weeks=weeks_ahead)
    friday = today + timedelta(days=(4 - today.weekday()) % 7)
    return datetime(friday.year, friday.month, friday.day, 13, 0)


def make_series(org, *, local_start: datetime, rule: str = "FREQ=WEEKLY;BYDAY=FR", count=WEEKS):
    series = EventSeries(
        organization=org,
        rule=rule,
        timezone="Asia/Jerusalem",
        local_start=local_start,
        duration_minutes=120,
        sequence=2,
    )
    db.session.add(series)
    db.session.commit()
    occurrences = []
    for week in range(count):
        slot = (local_start + timedelta(weeks=week)).replace(tzinfo=ZONE).astimezone(UTC)
        occurrences.append(
            factories.make_event(
                org,
                title="Friday vigil",
                starts_at=slot,
                ends_at=slot + timedelta(hours=2),
                series_id=series.id,
                occurrence_start=slot,
                timezone="Asia/Jerusalem",
            )
        )
    series.materialized_until = occurrences[-1].occurrence_start
    db.session.commit()
    return series, occurrences


def local(event: Event) -> datetime:
    return event.occurrence_start.astimezone(ZONE)


@pytest.fixture()
def weekly(app):
    """A weekly vigil: date 2 cancelled, date 3 moved an hour later on its own, date 4
    unlisted; and a one-off action of the same organization."""
    org = factories.make_org(owner=factories.make_user(), name="Women Wage Peace")
    series, dates = make_series(org, local_start=next_friday_13())
    dates[2].status, dates[2].sequence = "cancelled", 1
    dates[3].starts_at += timedelta(hours=1)
    dates[3].ends_at += timedelta(hours=1)
    dates[3].detached, dates[3].sequence, dates[3].title = True, 1, "Friday vigil (later)"
    dates[4].visibility = "unlisted"
    db.session.commit()
    single = factories.make_event(org, title="Harvest day")
    return {"org": org, "series": series, "dates": dates, "single": single}


def org_feed(client, org):
    data = client.get(f"/orgs/{org.slug}/events.ics").data
    return data, check_ics(data)


def test_organization_feed_has_the_series_as_one_rrule(client, weekly):
    series, dates = weekly["series"], weekly["dates"]
    data, calendar = org_feed(client, weekly["org"])
    items = calendar.walk("VEVENT")
    series_uid = f"series-{series.id}@localhost"
    (master,) = [v for v in items if str(v["UID"]) == series_uid and "RECURRENCE-ID" not in v]
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=FR"
    assert master["DTSTART"].params["TZID"] == "Asia/Jerusalem"
    assert master.decoded("DTSTART") == local(dates[0])
    assert master.decoded("DTEND") - master.decoded("DTSTART") == timedelta(hours=2)
    assert str(master["SUMMARY"]) == "Friday vigil"
    # SEQUENCE: the series' own, plus one for the cancelled date (which added an EXDATE).
    assert int(master["SEQUENCE"]) == series.sequence + 1

    excluded = {d for prop in [master["EXDATE"]] for d in (x.dt for x in prop.dts)}
    assert excluded == {local(dates[2]), local(dates[4])}  # cancelled; unlisted
    (moved,) = [v for v in items if "RECURRENCE-ID" in v]
    assert str(moved["UID"]) == series_uid
    assert moved.decoded("RECURRENCE-ID") == local(dates[3])  # its slot in the rule
    assert moved.decoded("DTSTART") == local(dates[3]) + timedelta(hours=1)
    assert str(moved["SUMMARY"]) == "Friday vigil (later)"
    assert int(moved["SEQUENCE"]) == series.sequence + dates[3].sequence
    assert f"/events/{dates[3].id}".encode() in data

    # The dates are not listed one by one as well; the one-off action is.
    uids = {str(v["UID"]) for v in items}
    assert uids == {series_uid, f"event-{weekly['single'].id}@localhost"}


def test_the_rule_expands_to_the_real_dates_at_13_00_across_daylight_saving(client, weekly):
    """Expanded by vobject from our RRULE, EXDATE and VTIMEZONE: every listed date, at 13:00
    Jerusalem time on both sides of a clock change, and no cancelled or unlisted one."""
    dates = weekly["dates"]
    data, _calendar = org_feed(client, weekly["org"])
    forget_vobject_zones()
    parsed = vobject.readOne(data.decode())
    master = next(v for v in parsed.vevent_list if hasattr(v, "rrule"))
    expected = [d for i, d in enumerate(dates) if i not in (2, 4)]
    instances = list(islice(master.getrruleset(addRDate=True), len(expected)))
    assert [i.astimezone(UTC) for i in instances] == [d.occurrence_start for d in expected]
    assert {i.hour for i in instances} == {13}
    offsets = {i.utcoffset() for i in instances}
    assert {d.occurrence_start.astimezone(ZONE).utcoffset() for d in expected} == offsets
    assert len(offsets) == 2  # the series crosses a daylight-saving change


def test_site_feed_lists_each_date_on_its_own(client, weekly):
    dates = weekly["dates"]
    calendar = check_ics(client.get("/calendar/events.ics").data)
    items = {str(v["UID"]): v for v in calendar.walk("VEVENT")}
    assert not any("RRULE" in v for v in items.values())
    listed = [d for i, d in enumerate(dates) if i != 4]  # the unlisted date is not public
    assert set(items) == {f"event-{d.id}@localhost" for d in [*listed, weekly["single"]]}
    assert str(items[f"event-{dates[2].id}@localhost"]["STATUS"]) == "CANCELLED"
    moved = items[f"event-{dates[3].id}@localhost"]
    assert moved.decoded("DTSTART") == dates[3].starts_at


def test_an_ended_series_and_a_local_until_are_published_in_utc(client):
    """RFC 5545: next to a DTSTART with TZID, UNTIL is UTC. A floating UNTIL (on the series'
    clock) is turned into UTC; one already in UTC stays as it is."""
    org = factories.make_org()
    start = next_friday_13()
    make_series(org, local_start=start, rule="FREQ=WEEKLY;BYDAY=FR;UNTIL=20991231T235959", count=3)
    ended, _ = make_series(
        org, local_start=start, rule="FREQ=WEEKLY;UNTIL=20990101T100000Z", count=2
    )
    ended.ended_at = factories.now()
    db.session.commit()
    data, calendar = org_feed(client, org)
    rules = sorted(v["RRULE"].to_ical().decode() for v in calendar.walk("VEVENT") if "RRULE" in v)
    assert rules == [
        "FREQ=WEEKLY;UNTIL=20990101T100000Z",
        "FREQ=WEEKLY;UNTIL=20991231T215959Z;BYDAY=FR",
    ]


def test_a_date_the_rule_no_longer_makes_is_listed_on_its_own(client):
    """After the rule changed (a split), a date outside it can't be a RECURRENCE-ID."""
    org = factories.make_org()
    series, dates = make_series(org, local_start=next_friday_13(), count=3)
    stray = dates[1].occurrence_start + timedelta(days=1)  # a Saturday: not in the rule
    dates[1].occurrence_start = stray
    dates[1].starts_at, dates[1].ends_at = stray, stray + timedelta(hours=2)
    db.session.commit()
    _data, calendar = org_feed(client, org)
    uids = [str(v["UID"]) for v in calendar.walk("VEVENT")]
    assert sorted(uids) == sorted(
        [f"series-{series.id}@localhost", f"event-{dates[1].id}@localhost"]
    )
    master = next(v for v in calendar.walk("VEVENT") if "RRULE" in v)
    # Its Friday, never made, is excluded too: the rule shows only real dates.
    assert local(dates[0]) + timedelta(weeks=1) in [x.dt for x in master["EXDATE"].dts]


def test_a_series_of_drafts_is_not_in_any_feed(client):
    org = factories.make_org()
    series, dates = make_series(org, local_start=next_friday_13(), count=2)
    for date in dates:
        date.status = "draft"
    db.session.commit()
    for url in (f"/orgs/{org.slug}/events.ics", "/calendar/events.ics"):
        calendar = check_ics(client.get(url).data)
        assert calendar.walk("VEVENT") == []


def test_another_organizations_series_co_hosted_is_listed_date_by_date(client):
    host = factories.make_org(name="Host")
    guest = factories.make_org(name="Guest")
    series, dates = make_series(host, local_start=next_friday_13(), count=2)
    dates[0].cohosts = [EventHost(organization=guest, status="accepted")]
    db.session.commit()
    _data, calendar = org_feed(client, guest)
    assert [str(v["UID"]) for v in calendar.walk("VEVENT")] == [f"event-{dates[0].id}@localhost"]


def test_a_rule_that_cannot_be_read_lists_the_dates_one_by_one(client):
    org = factories.make_org()
    series, dates = make_series(org, local_start=next_friday_13(), count=2)
    series.rule = "FREQ=SOMETIMES;BYDAY=XX"
    db.session.commit()
    _data, calendar = org_feed(client, org)
    assert sorted(str(v["UID"]) for v in calendar.walk("VEVENT")) == sorted(
        f"event-{d.id}@localhost" for d in dates
    )


def test_an_unlisted_date_called_off_by_ending_the_series_stays_out_of_the_feed(client):
    """Ending the series cancels its later dates, which leave the rule: a public one is listed
    on its own as cancelled, an unlisted one never (its title, time and place are not public)."""
    from organizer.services import series as series_service

    org = factories.make_org()
    series, dates = make_series(org, local_start=next_friday_13(), count=8)
    dates[5].visibility, dates[5].title = "unlisted", "SECRET meeting"
    dates[5].address = "Hidden courtyard 7"
    db.session.commit()
    series_service.end_series(series.id, local(dates[2]).date(), factories.now())
    db.session.expire_all()
    assert db.session.get(Event, dates[5].id).status == "cancelled"

    data, calendar = org_feed(client, org)

    assert b"SECRET" not in data and b"Hidden courtyard" not in data
    uids = {str(v["UID"]) for v in calendar.walk("VEVENT")}
    assert f"event-{dates[5].id}@localhost" not in uids
    assert f"event-{dates[4].id}@localhost" in uids  # public and cancelled: still listed
    # A rule the feed can't read lists the dates one by one: the same holds.
    db.session.get(EventSeries, series.id).rule = "FREQ=SOMETIMES"
    db.session.commit()
    data, calendar = org_feed(client, org)
    assert b"SECRET" not in data
    assert f"event-{dates[4].id}@localhost" in {str(v["UID"]) for v in calendar.walk("VEVENT")}
