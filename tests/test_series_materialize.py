"""Materializing a series: how many dates, up to the horizon, copied from the template, on the
organization's wall clock across daylight-saving changes, and `flask events extend`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from organizer.extensions import db
from organizer.models import Event, EventHost, EventSeries, EventTranslation, Shift
from organizer.services import events as event_service
from organizer.services import series as service

from . import factories

JERUSALEM = ZoneInfo("Asia/Jerusalem")
LONDON = ZoneInfo("Europe/London")
FIRST = datetime(2026, 12, 4, 13, 0, tzinfo=JERUSALEM).astimezone(UTC)  # a Friday
CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def dates(series_id: int) -> list[Event]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Event).where(Event.series_id == series_id).order_by(Event.occurrence_start)
        )
    )


def test_saving_a_series_makes_the_dates_of_the_next_twelve_weeks(app):
    series = factories.make_series(first=FIRST, rule="FREQ=WEEKLY;BYDAY=FR", created=CREATED)

    occurrences = dates(series.id)
    horizon = CREATED + timedelta(weeks=12)
    assert len(occurrences) == 12  # Fridays 4 December to 19 February
    assert occurrences[-1].starts_at <= horizon < occurrences[-1].starts_at + timedelta(weeks=1)
    assert [o.local_start.weekday() for o in occurrences] == [4] * 12
    assert all(o.local_start.hour == 13 for o in occurrences)
    assert all(o.ends_at - o.starts_at == timedelta(hours=2) for o in occurrences)
    assert [o.occurrence_start for o in occurrences] == [o.starts_at for o in occurrences]
    assert series.materialized_until == occurrences[-1].occurrence_start
    assert series.local_start == datetime(2026, 12, 4, 13, 0)
    assert series.duration_minutes == 120


def test_the_horizon_is_per_series(app):
    series = factories.make_series(
        first=FIRST, rule="FREQ=WEEKLY", created=CREATED, horizon_weeks=4
    )
    assert len(dates(series.id)) == 4


def test_an_end_date_stops_the_dates(app):
    series = factories.make_series(
        first=FIRST, rule="FREQ=WEEKLY;BYDAY=FR;UNTIL=20261225T215959Z", created=CREATED
    )
    assert [o.local_start.day for o in dates(series.id)] == [4, 11, 18, 25]
    service.extend_series(series.id, CREATED + timedelta(weeks=20))
    assert len(dates(series.id)) == 4


def test_each_date_copies_the_template(app):
    org = factories.make_org()
    partner, asked = factories.make_org(), factories.make_org()
    event = factories.make_event(
        org,
        starts_at=FIRST,
        ends_at=FIRST + timedelta(hours=2),
        title="Friday vigil",
        description_md="**Silent**, in white.",
        causes=("peace", "women"),
        cohosts=(partner,),
        pending_cohosts=(asked,),
        capacity=30,
        waitlist_enabled=False,
        approval_required=True,
        visibility="unlisted",
        location_visibility="confirmed",
        reveal_hours_before=24,
        reminder_hours=48,
        second_reminder=True,
        is_online=False,
        address="Paris Square",
        city="Jerusalem",
        language="he",
    )
    event.translations = [
        EventTranslation(locale="en", title="Vigil", description_md="x", description_html="x")
    ]
    event.shifts = [
        Shift(
            name="Signs",
            capacity=3,
            position=0,
            starts_at=FIRST - timedelta(minutes=30),
            ends_at=FIRST + timedelta(hours=1),
        ),
        Shift(name="Photos", capacity=None, position=1),
    ]
    db.session.commit()

    series = service.create_series(event, "FREQ=WEEKLY", CREATED, horizon_weeks=3)
    later = dates(series.id)[1:]

    assert len(later) == 2
    for copy in later:
        assert copy.id != event.id
        for name in service.COPIED_COLUMNS:
            assert getattr(copy, name) == getattr(event, name), name
        assert copy.status == "published" and copy.published_at == CREATED
        assert sorted(copy.cause_slugs) == ["peace", "women"]
        assert [(t.locale, t.title) for t in copy.translations] == [("en", "Vigil")]
        hosts = {(h.organization_id, h.status) for h in copy.cohosts}
        assert hosts == {(partner.id, "accepted")}  # a request not yet accepted is not copied
        assert copy.host_ids == {org.id, partner.id}
        signs, photos = copy.shifts
        assert (signs.name, signs.capacity, photos.name, photos.capacity) == (
            "Signs",
            3,
            "Photos",
            None,
        )
        assert signs.starts_at == copy.starts_at - timedelta(minutes=30)
        assert signs.ends_at == copy.starts_at + timedelta(hours=1)
        assert photos.starts_at is None
        assert copy.detached is False
        assert copy.sequence == 0
    assert db.session.scalar(select(db.func.count()).select_from(Shift)) == 6
    assert db.session.scalar(select(db.func.count()).select_from(EventHost)) == 4


def test_a_draft_series_makes_drafts(app):
    series = factories.make_series(first=FIRST, created=CREATED, status="draft")
    assert {o.status for o in dates(series.id)} == {"draft"}
    assert all(o.published_at is None for o in dates(series.id))


def test_extend_is_idempotent_and_adds_only_what_the_horizon_reaches(app, runner):
    series = factories.make_series(first=FIRST, rule="FREQ=WEEKLY", created=CREATED)
    assert len(dates(series.id)) == 12

    again = service.extend_series(series.id, CREATED)
    assert again.created == [] and len(dates(series.id)) == 12

    week_later = CREATED + timedelta(weeks=1)
    result = runner.invoke(args=["events", "extend", "--now", week_later.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Extended 1 series: 1 new dates" in result.output
    assert len(dates(series.id)) == 13

    result = runner.invoke(args=["events", "extend", "--now", week_later.isoformat()])
    assert "0 new dates" in result.output
    assert len(dates(series.id)) == 13


def test_a_run_that_missed_weeks_does_not_make_past_dates(app):
    series = factories.make_series(first=FIRST, rule="FREQ=WEEKLY", created=CREATED)
    much_later = CREATED + timedelta(weeks=30)
    created = service.extend_series(series.id, much_later).created
    new = [db.session.get(Event, i) for i in created]
    assert new and all(e.starts_at > much_later for e in new)
    assert len(new) == 12
    assert len(dates(series.id)) == 24


def test_a_date_made_by_another_run_is_skipped_in_its_savepoint(app):
    """As if a concurrent run made the dates after this one read materialized_until: the
    unique (series, slot) refuses each twin, and the run goes on."""
    series = factories.make_series(first=FIRST, rule="FREQ=WEEKLY", created=CREATED)
    before = [o.id for o in dates(series.id)]
    series.materialized_until = FIRST
    db.session.commit()

    result = service.extend_series(series.id, CREATED + timedelta(weeks=2))

    assert len(result.created) == 2  # only the two dates the later horizon adds
    assert [o.id for o in dates(series.id)][:12] == before
    assert len(dates(series.id)) == 14
    db.session.refresh(series)
    assert series.materialized_until == dates(series.id)[-1].occurrence_start


def test_a_cancelled_or_deleted_date_is_not_made_again(app):
    series = factories.make_series(first=FIRST, rule="FREQ=WEEKLY", created=CREATED)
    occurrences = dates(series.id)
    event_service.cancel_event(occurrences[3], CREATED)
    service.extend_series(series.id, CREATED)
    assert len(dates(series.id)) == 12
    assert dates(series.id)[3].status == "cancelled"


def test_new_dates_copy_the_latest_date_not_edited_alone(app):
    series = factories.make_series(first=FIRST, rule="FREQ=WEEKLY", created=CREATED, title="A")
    occurrences = dates(series.id)
    occurrences[-2].title = "B"  # a series-wide edit reached this one
    occurrences[-1].title = "Only this once"
    occurrences[-1].detached = True
    db.session.commit()

    created = service.extend_series(series.id, CREATED + timedelta(weeks=1)).created

    assert [db.session.get(Event, i).title for i in created] == ["B"]


def test_an_ended_series_makes_no_more_dates(app, runner):
    series = factories.make_series(first=FIRST, rule="FREQ=WEEKLY", created=CREATED)
    series.ended_at = CREATED
    db.session.commit()
    assert service.extend_series(series.id, CREATED + timedelta(weeks=5)).created == []
    result = runner.invoke(args=["events", "extend", "--now", "2027-01-01T00:00:00"])
    assert "Extended 0 series" in result.output


def test_a_failing_series_does_not_stop_the_others(app, runner, monkeypatch):
    good = factories.make_series(first=FIRST, rule="FREQ=WEEKLY", created=CREATED)
    bad = factories.make_series(first=FIRST, rule="FREQ=WEEKLY", created=CREATED)
    db.session.execute(
        EventSeries.__table__.update().where(EventSeries.id == bad.id).values(rule="FREQ=NOPE")
    )
    db.session.commit()

    result = runner.invoke(args=["events", "extend", "--now", "2026-12-20T00:00:00"])

    assert result.exit_code == 1
    assert f"Failed: series {bad.id}" in result.output
    assert len(dates(good.id)) == 15


# --- the wall clock across daylight-saving changes --------------------------------------------


def test_jerusalem_stays_at_13_00_across_the_october_2026_change(app):
    org = factories.make_org(timezone="Asia/Jerusalem")
    first = datetime(2026, 10, 2, 13, 0, tzinfo=JERUSALEM).astimezone(UTC)
    series = factories.make_series(
        org, first=first, rule="FREQ=WEEKLY;BYDAY=FR", created=first - timedelta(days=1)
    )
    occurrences = dates(series.id)
    assert len(occurrences) == 12
    local = [o.starts_at.astimezone(JERUSALEM) for o in occurrences]
    assert {(t.hour, t.minute) for t in local} == {(13, 0)}
    assert {(t.hour, t.minute) for t in (o.ends_at.astimezone(JERUSALEM) for o in occurrences)} == {
        (15, 0)
    }
    by_day = {t.date().isoformat(): o.starts_at for t, o in zip(local, occurrences, strict=True)}
    # Summer time (UTC+3) until Sunday 25 October 2026, winter time (UTC+2) after.
    assert by_day["2026-10-23"] == datetime(2026, 10, 23, 10, 0, tzinfo=UTC)
    assert by_day["2026-10-30"] == datetime(2026, 10, 30, 11, 0, tzinfo=UTC)
    assert by_day["2026-10-30"] - by_day["2026-10-23"] == timedelta(days=7, hours=1)


def test_london_stays_at_13_00_across_the_march_2027_change(app):
    org = factories.make_org(timezone="Europe/London")
    first = datetime(2027, 3, 5, 13, 0, tzinfo=LONDON).astimezone(UTC)
    series = factories.make_series(
        org, first=first, rule="FREQ=WEEKLY;BYDAY=FR", created=first - timedelta(days=1)
    )
    occurrences = dates(series.id)
    assert {(o.local_start.hour, o.local_start.minute) for o in occurrences} == {(13, 0)}
    by_day = {o.local_start.date().isoformat(): o.starts_at for o in occurrences}
    assert by_day["2027-03-26"] == datetime(2027, 3, 26, 13, 0, tzinfo=UTC)  # GMT
    assert by_day["2027-04-02"] == datetime(2027, 4, 2, 12, 0, tzinfo=UTC)  # BST
    assert series.timezone == "Europe/London"


def test_a_time_the_clocks_skip_is_read_with_the_offset_before_the_gap(app):
    """01:30 on 28 March 2027 does not exist in London: as RFC 5545 says, it is 01:30 GMT,
    which the clocks show as 02:30. The other weeks stay at 01:30."""
    org = factories.make_org(timezone="Europe/London")
    first = datetime(2027, 3, 14, 1, 30, tzinfo=LONDON).astimezone(UTC)
    series = factories.make_series(
        org, first=first, rule="FREQ=WEEKLY", created=first - timedelta(days=1), horizon_weeks=4
    )
    local = {o.local_start.date().isoformat(): o.local_start.time() for o in dates(series.id)}
    assert local["2027-03-21"].isoformat() == "01:30:00"
    assert local["2027-03-28"].isoformat() == "02:30:00"
    assert local["2027-04-04"].isoformat() == "01:30:00"


def test_shift_times_keep_their_wall_clock_across_the_change(app):
    org = factories.make_org(timezone="Europe/London")
    first = datetime(2027, 3, 19, 9, 0, tzinfo=LONDON).astimezone(UTC)
    event = factories.make_event(org, starts_at=first, ends_at=first + timedelta(hours=6))
    event.shifts = [
        Shift(
            name="Sorting",
            position=0,
            starts_at=first + timedelta(hours=1),
            ends_at=first + timedelta(hours=3),
        )
    ]
    db.session.commit()
    series = service.create_series(event, "FREQ=WEEKLY", first - timedelta(days=1), 3)
    after_change = dates(series.id)[-1]
    shift = after_change.shifts[0]
    assert after_change.local_start.date().isoformat() == "2027-04-02"
    assert shift.starts_at.astimezone(LONDON).hour == 10
    assert shift.ends_at.astimezone(LONDON).hour == 12


def test_monthly_and_quarterly_rules(app):
    monthly = factories.make_series(first=FIRST, rule="FREQ=MONTHLY;BYDAY=+1FR", created=CREATED)
    assert [o.local_start.date().isoformat() for o in dates(monthly.id)] == [
        "2026-12-04",
        "2027-01-01",
        "2027-02-05",
    ]
    quarterly = factories.make_series(
        first=FIRST, rule="FREQ=MONTHLY;INTERVAL=3;BYDAY=+1FR", created=CREATED, horizon_weeks=52
    )
    assert [o.local_start.date().isoformat() for o in dates(quarterly.id)] == [
        "2026-12-04",
        "2027-03-05",
        "2027-06-04",
        "2027-09-03",
    ]


def test_creating_twice_keeps_one_series(app):
    event = factories.make_event(starts_at=FIRST, ends_at=FIRST + timedelta(hours=2))
    first = service.create_series(event, "FREQ=WEEKLY", CREATED)
    second = service.create_series(event, "FREQ=WEEKLY", CREATED)
    assert first.id == second.id
    assert db.session.scalar(select(db.func.count()).select_from(EventSeries)) == 1
    assert len(dates(first.id)) == 12
