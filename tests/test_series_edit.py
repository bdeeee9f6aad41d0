"""Editing a series: this date only, or this and all following (copied onto later dates, or a
new series from this date when the time or rule changes); volunteers are told."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Event, EventSeries, StandingSignup
from organizer.services import events as event_service
from organizer.services import series as service
from organizer.services.errors import InvalidInput, InvalidTransition

from . import factories
from .helpers import text_part

JERUSALEM = ZoneInfo("Asia/Jerusalem")
FIRST = datetime(2026, 12, 4, 13, 0, tzinfo=JERUSALEM).astimezone(UTC)  # a Friday
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def dates(series_id: int) -> list[Event]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Event).where(Event.series_id == series_id).order_by(Event.occurrence_start)
        )
    )


def data_for(event: Event, **changes) -> event_service.EventData:
    """The action form as it would come back for `event`, with `changes`."""
    data = event_service.EventData(
        title=event.title,
        region=event.region,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        description_md=event.description_md,
        language=event.language,
        kind=event.kind,
        causes=event.cause_slugs,
        city=event.city,
        is_online=event.is_online,
        address=event.address,
        online_url=event.online_url,
        capacity=event.capacity,
        waitlist_enabled=event.waitlist_enabled,
        approval_required=event.approval_required,
        visibility=event.visibility,
        location_visibility=event.location_visibility,
        reveal_hours_before=event.reveal_hours_before,
    )
    return replace(data, **changes)


def at(event: Event, hour: int, day_shift: int = 0) -> dict:
    """New start and end for `event`: the same day (moved by `day_shift`) at `hour` local."""
    local = event.starts_at.astimezone(JERUSALEM) + timedelta(days=day_shift)
    start = local.replace(hour=hour).astimezone(UTC)
    return {"starts_at": start, "ends_at": start + (event.ends_at - event.starts_at)}


@pytest.fixture()
def series(app):
    return factories.make_series(
        first=FIRST, rule="FREQ=WEEKLY;BYDAY=FR", created=NOW, title="Vigil"
    )


def test_this_date_only(series, mailbox):
    third = dates(series.id)[2]
    factories.make_signup(third, email="third@example.org")
    factories.make_signup(dates(series.id)[3], email="fourth@example.org")

    changes = service.update_this(
        third, data_for(third, title="Special", **at(third, 12)), NOW, None
    )

    assert changes.time_changed
    after = dates(series.id)
    assert after[2].title == "Special" and after[2].detached
    assert after[2].local_start.hour == 12
    assert after[2].occurrence_start == FIRST + timedelta(weeks=2)  # keeps its slot
    assert {o.title for o in after if o.id != third.id} == {"Vigil"}
    assert {o.local_start.hour for o in after if o.id != third.id} == {13}
    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == ["third@example.org"]
    assert "12:00" in text_part(messages[0])
    # Later series-wide edits leave it be.
    second = after[1]
    service.update_following(second, data_for(second, title="Renamed"), NOW, None)
    assert [o.title for o in dates(series.id)][1:4] == ["Renamed", "Special", "Renamed"]


def test_an_unchanged_form_does_not_detach(series):
    second = dates(series.id)[1]
    changes = service.update_this(second, data_for(second), NOW, None)
    assert not changes.any
    assert not dates(series.id)[1].detached


def test_this_date_only_cannot_change_the_rule(series):
    second = dates(series.id)[1]
    with pytest.raises(InvalidInput) as excinfo:
        service.update_this(second, data_for(second, title="X"), NOW, "FREQ=WEEKLY;BYDAY=FR,SA")
    assert "repeat" in excinfo.value.errors
    assert dates(series.id)[1].title == "Vigil"


def test_this_and_following_copies_the_edit_onto_later_dates(series, mailbox):
    occurrences = dates(series.id)
    occurrences[5].detached = True
    occurrences[5].title = "Edited alone"
    db.session.commit()
    for i in (1, 2, 6):
        factories.make_signup(occurrences[i], email=f"v{i}@example.org")
    sequence = series.sequence

    edit = service.update_following(
        occurrences[2],
        data_for(occurrences[2], title="Vigil at the station", address="Central station"),
        NOW,
        None,
    )

    after = dates(series.id)
    assert [o.title for o in after[:2]] == ["Vigil"] * 2
    assert after[5].title == "Edited alone" and after[5].address == "Paris Square"
    for o in after[2:5] + after[6:]:
        assert (o.title, o.address) == ("Vigil at the station", "Central station")
        assert o.sequence == 1
    assert {o.local_start.hour for o in after} == {13}  # times untouched
    assert edit.updated == 8 and edit.new_series is None
    assert edit.notified == 2
    assert sorted(m["To"] for m in mailbox.wait_for(2)) == ["v2@example.org", "v6@example.org"]
    db.session.refresh(series)
    assert series.sequence == sequence + 1
    # New dates copy the edit.
    created = service.extend_series(series.id, NOW + timedelta(weeks=1)).created
    assert db.session.get(Event, created[0]).title == "Vigil at the station"


def test_a_new_time_for_following_dates_starts_a_new_series(series, mailbox):
    occurrences = dates(series.id)
    factories.make_signup(occurrences[1], email="before@example.org")
    factories.make_signup(occurrences[4], email="after@example.org")
    standing = StandingSignup(series_id=series.id, name="Sam", email="sam@example.org")
    db.session.add(standing)
    db.session.commit()
    third = occurrences[2]

    edit = service.update_following(third, data_for(third, **at(third, 12)), NOW, None)

    old = dates(series.id)
    assert [o.id for o in old] == [o.id for o in occurrences[:2]]
    assert {o.local_start.hour for o in old} == {13}
    db.session.refresh(series)
    assert series.ended_at is not None
    assert series.rule == "FREQ=WEEKLY;BYDAY=FR;UNTIL=20261218T105959Z"  # just before 13:00 (UTC+2)
    new = edit.new_series
    assert new.local_start == datetime(2026, 12, 18, 12, 0)
    assert new.rule == "FREQ=WEEKLY;BYDAY=FR"
    moved = dates(new.id)
    assert [o.id for o in moved[:10]] == [o.id for o in occurrences[2:]]
    assert {o.local_start.hour for o in moved} == {12}
    assert all(o.occurrence_start == o.starts_at for o in moved)
    assert len(moved) == 10 and edit.updated == 9
    assert db.session.get(StandingSignup, standing.id).series_id == new.id
    # The moved date's volunteer hears of the new time; the earlier one hears nothing. The
    # standing volunteer now holds the new series' dates (one confirmation each).
    messages = mailbox.wait_for(11)
    assert [m["To"] for m in messages].count("after@example.org") == 1
    assert "12:00" in text_part(mailbox.to("after@example.org")[0])
    assert not mailbox.to("before@example.org")
    assert len(mailbox.to("sam@example.org")) == 10
    # The old series makes nothing more; the new one goes on at 12:00.
    created = service.extend_series(new.id, NOW + timedelta(weeks=1)).created
    assert [db.session.get(Event, i).local_start.hour for i in created] == [12]
    assert service.extend_series(series.id, NOW + timedelta(weeks=3)).created == []


def test_moving_following_dates_to_another_day_cancels_the_days_no_longer_in_the_rule(
    series, mailbox
):
    occurrences = dates(series.id)
    factories.make_signup(occurrences[4], email="friday@example.org")
    third = occurrences[2]

    edit = service.update_following(
        third, data_for(third, **at(third, 13, day_shift=-1)), NOW, "FREQ=WEEKLY;BYDAY=TH"
    )

    assert edit.cancelled == 9
    assert [o.status for o in dates(series.id)[2:]] == ["cancelled"] * 9
    thursdays = dates(edit.new_series.id)
    assert thursdays[0].id == third.id
    assert {o.local_start.strftime("%a %H:%M") for o in thursdays} == {"Thu 13:00"}
    assert len(thursdays) == 10  # up to the horizon
    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == ["friday@example.org"]
    assert "cancel" in text_part(messages[0]).lower()


def test_editing_following_from_the_first_date_replaces_the_series(series):
    first = dates(series.id)[0]
    edit = service.update_following(first, data_for(first, **at(first, 18)), NOW, None)
    assert db.session.get(EventSeries, series.id) is None
    assert db.session.scalar(select(func.count()).select_from(EventSeries)) == 1
    assert {o.local_start.hour for o in dates(edit.new_series.id)} == {18}
    assert len(dates(edit.new_series.id)) == 12


def test_a_counted_series_keeps_what_is_left_of_its_count(app):
    series = factories.make_series(first=FIRST, rule="FREQ=WEEKLY;COUNT=10", created=NOW)
    fourth = dates(series.id)[3]
    edit = service.update_following(fourth, data_for(fourth, **at(fourth, 11)), NOW, None)
    assert edit.new_series.rule == "FREQ=WEEKLY;COUNT=7"
    assert len(dates(series.id)) + len(dates(edit.new_series.id)) == 10


def test_a_capacity_below_a_later_dates_confirmed_writes_nothing(series):
    occurrences = dates(series.id)
    for _ in range(3):
        factories.make_signup(occurrences[6])
    with pytest.raises(InvalidInput) as excinfo:
        service.update_following(
            occurrences[2], data_for(occurrences[2], title="New", capacity=2), NOW, None
        )
    assert "capacity" in excinfo.value.errors
    assert {o.title for o in dates(series.id)} == {"Vigil"}
    assert {o.capacity for o in dates(series.id)} == {None}


def test_a_bad_rule_for_following_dates_writes_nothing(series):
    third = dates(series.id)[2]
    with pytest.raises(InvalidInput):
        service.update_following(third, data_for(third, title="New"), NOW, "FREQ=WEEKLY;BYDAY=MO")
    assert {o.title for o in dates(series.id)} == {"Vigil"}
    assert db.session.scalar(select(func.count()).select_from(EventSeries)) == 1


def test_an_ended_series_is_edited_date_by_date(series):
    service.end_series(series.id, FIRST.date() + timedelta(days=30), NOW)
    second = dates(series.id)[1]
    with pytest.raises(InvalidTransition):
        service.update_following(second, data_for(second, title="X"), NOW, None)


LAST_FRIDAY = datetime(2027, 1, 29, 13, 0, tzinfo=JERUSALEM).astimezone(UTC)


@pytest.fixture()
def last_fridays(app):
    """29 Jan, 26 Feb, 26 Mar, 30 Apr (a fifth Friday), 28 May, 25 Jun 2027..."""
    return factories.make_series(
        first=LAST_FRIDAY,
        rule="FREQ=MONTHLY;BYDAY=-1FR",
        created=datetime(2027, 1, 20, 9, 0, tzinfo=UTC),
        horizon_weeks=26,
        title="Last Friday",
    )


def local_days(series_id: int) -> list[str]:
    return [o.local_start.strftime("%d %b") for o in dates(series_id)]


def test_a_last_friday_series_edited_without_touching_repeat_keeps_its_rule(last_fridays, mailbox):
    """The form shows -1FR as "monthly, on the same weekday"; read again from 26 February
    (days 22-28: a fourth Friday) it became +4FR, refused "this date only" and, for the
    following dates, cancelled 30 April and never made 23 April."""
    assert local_days(last_fridays.id)[:6] == [
        "29 Jan", "26 Feb", "26 Mar", "30 Apr", "28 May", "25 Jun",
    ]  # fmt: skip
    occurrences = dates(last_fridays.id)
    for occurrence in occurrences:
        factories.make_signup(occurrence, email=f"v{occurrence.id}@example.org")
    feb = occurrences[1]
    shown = service.repeat_for(last_fridays)
    assert shown.choice == service.REPEAT_MONTHLY
    mailbox.clear()

    edit = service.save_edit(
        feb, data_for(feb, title="Renamed"), shown, service.SCOPE_FOLLOWING, NOW
    ).series_edit

    assert edit.cancelled == 0 and edit.new_series is None
    db.session.refresh(last_fridays)
    assert last_fridays.rule == "FREQ=MONTHLY;BYDAY=-1FR"
    after = dates(last_fridays.id)
    assert [o.id for o in after] == [o.id for o in occurrences]
    assert "cancelled" not in {o.status for o in after}
    assert [o.title for o in after] == ["Last Friday"] + ["Renamed"] * (len(after) - 1)
    assert mailbox.wait_for(1, timeout=0.5) == []

    changes = service.save_edit(
        feb, data_for(feb, title="Only in February"), shown, service.SCOPE_THIS, NOW
    ).changes
    assert changes.any
    assert dates(last_fridays.id)[1].title == "Only in February"
    assert dates(last_fridays.id)[1].detached

    # A new time for the following dates: a new series, still on the last Friday.
    mar = dates(last_fridays.id)[2]
    edit = service.save_edit(
        mar, data_for(mar, **at(mar, 18)), shown, service.SCOPE_FOLLOWING, NOW
    ).series_edit
    assert edit.new_series.rule == "FREQ=MONTHLY;BYDAY=-1FR"
    assert edit.cancelled == 0
    assert local_days(edit.new_series.id)[:4] == ["26 Mar", "30 Apr", "28 May", "25 Jun"]


def test_a_changed_end_builds_the_rule_from_the_series_first_date(last_fridays):
    feb = dates(last_fridays.id)[1]
    repeat = replace(service.repeat_for(last_fridays), until=date(2027, 6, 30))
    rule = service.rule_for_edit(
        last_fridays, repeat, feb.starts_at, "Asia/Jerusalem", following=True
    )
    assert rule.startswith("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20270630")
    # Moved to another week of the month, "the same weekday" follows the new date.
    moved = feb.starts_at - timedelta(weeks=2)
    shown = service.repeat_for(last_fridays)
    assert (
        service.rule_for_edit(last_fridays, shown, moved, "Asia/Jerusalem", following=True)
        == "FREQ=MONTHLY;BYDAY=+2FR"
    )
    # For this date alone, moving it keeps the rule.
    assert service.rule_for_edit(last_fridays, shown, moved, "Asia/Jerusalem") is None


def test_a_new_rule_makes_its_dates_the_old_one_did_not_have(last_fridays, mailbox):
    """-1FR to +4FR from February: 30 April (a fifth Friday) is cancelled, and 23 April, before
    the last date moved, is made (extending starts after it)."""
    occurrences = dates(last_fridays.id)
    factories.make_signup(occurrences[3], email="april30@example.org")
    feb = occurrences[1]

    edit = service.update_following(feb, data_for(feb), NOW, "FREQ=MONTHLY;BYDAY=+4FR")

    assert edit.cancelled == 1 and edit.added == 1
    assert occurrences[3].id in [o.id for o in dates(last_fridays.id)]
    assert dates(last_fridays.id)[-1].status == "cancelled"
    assert local_days(edit.new_series.id)[:5] == ["26 Feb", "26 Mar", "23 Apr", "28 May", "25 Jun"]
    added = dates(edit.new_series.id)[2]
    assert (added.title, added.address, added.status) == ("Last Friday", feb.address, feb.status)
    assert [m["To"] for m in mailbox.wait_for(1)] == ["april30@example.org"]


def test_a_day_added_to_a_weekly_rule_fills_the_weeks_already_made(series):
    third = dates(series.id)[2]
    edit = service.update_following(third, data_for(third), NOW, "FREQ=WEEKLY;BYDAY=FR,SA")
    days = [o.local_start.strftime("%a") for o in dates(edit.new_series.id)]
    fridays = days.count("Fri")
    assert fridays == 10 and edit.cancelled == 0
    assert days.count("Sat") >= fridays - 1  # every week already made has its Saturday
    assert days[:4] == ["Fri", "Sat", "Fri", "Sat"]
