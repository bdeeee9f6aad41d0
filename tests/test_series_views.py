"""Recurring actions in the browser: the form's Repeat section, bad input, publishing, the
action page, the organization's manage page, cancelling one date and ending the series."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Event, EventSeries, Organization, Signup

from . import factories
from .helpers import count_queries, text_part

JERUSALEM = ZoneInfo("Asia/Jerusalem")


def next_friday(at_least_days: int = 10) -> date:
    day = (factories.now() + timedelta(days=at_least_days)).astimezone(JERUSALEM).date()
    return day + timedelta(days=(4 - day.weekday()) % 7)


def event_form(day: date | None = None, **overrides) -> dict:
    day = day or next_friday()
    data = {
        "title": "Friday vigil",
        "language": "en",
        "description": "Bring **candles**.",
        "kind": "demonstration",
        "causes": ["peace"],
        "region": "jerusalem",
        "city": "Jerusalem",
        "start_date": day.isoformat(),
        "start_time": "13:00",
        "end_date": day.isoformat(),
        "end_time": "15:00",
        "address": "Paris Square",
        "capacity": "",
        "waitlist_enabled": "y",
        "visibility": "public",
        "location_visibility": "public",
        "repeat": "none",
        "repeat_interval": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def counts() -> tuple[int, int]:
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(Event)),
        db.session.scalar(select(func.count()).select_from(EventSeries)),
    )


def dates(series_id: int) -> list[Event]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Event).where(Event.series_id == series_id).order_by(Event.occurrence_start)
        )
    )


@pytest.fixture()
def owner():
    user = factories.make_user(name="Host Owner")
    factories.make_org(slug="host", name="Host Org", owner=user)
    return user


def test_the_form_offers_a_repeat_section(client, auth, owner):
    auth.login(owner)
    html = client.get("/events/new?org=host").get_data(as_text=True)
    assert 'name="repeat"' in html
    assert "Monthly, on the same weekday (for example the first Friday)" in html
    assert 'name="repeat_weekdays"' in html and "Friday" in html
    assert 'name="repeat_until"' in html
    assert 'name="edit_scope"' not in html  # only when editing a date of a series


def test_creating_a_weekly_series(client, auth, owner, post_form):
    auth.login(owner)
    friday = next_friday()
    until = friday + timedelta(weeks=20)
    response = post_form(
        "/events/new?org=host",
        event_form(friday, repeat="weekly", repeat_weekdays=["4"], repeat_until=until.isoformat()),
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    series = db.session.scalars(select(EventSeries)).one()
    assert series.rule.startswith("FREQ=WEEKLY;BYDAY=FR;UNTIL=")
    occurrences = dates(series.id)
    assert 11 <= len(occurrences) <= 13  # up to twelve weeks from today
    assert {o.status for o in occurrences} == {"draft"}
    assert {o.local_start.strftime("%a %H:%M") for o in occurrences} == {"Fri 13:00"}

    first = occurrences[0]
    assert response.headers["Location"].endswith(f"/events/{first.id}")
    page = client.get(f"/events/{first.id}").get_data(as_text=True)
    assert f"Repeats every Friday until {until.day} {until.strftime('%B')}" in page

    # Publishing the first date publishes the series: the later dates too.
    assert post_form(f"/events/{first.id}/publish", {}, page=f"/events/{first.id}").status_code
    assert {o.status for o in dates(series.id)} == {"published"}
    page = client.get(f"/events/{occurrences[1].id}").get_data(as_text=True)
    assert "Other coming dates" in page
    assert f'href="/events/{occurrences[2].id}"' in page
    assert f"/events/{first.id}/series/end" not in client.get("/events/").get_data(as_text=True)


def test_the_same_form_sent_twice_makes_one_series(client, auth, owner, post_form):
    auth.login(owner)
    data = event_form(repeat="weekly")
    post_form("/events/new?org=host", data)
    post_form("/events/new?org=host", data)
    assert db.session.scalar(select(func.count()).select_from(EventSeries)) == 1
    assert len({o.occurrence_start for o in db.session.scalars(select(Event))}) == counts()[0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"repeat": "hourly"}, "Not a valid choice"),
        ({"repeat": "keep"}, "Not a valid choice"),
        ({"repeat": "weekly", "repeat_weekdays": ["9"]}, "not a valid choice"),
        ({"repeat": "weekly", "repeat_weekdays": ["0"]}, "The first date must be one"),
        ({"repeat": "weekly", "repeat_interval": "0"}, "Number must be between 1 and 52"),
        ({"repeat": "weekly", "repeat_until": "2001-01-01"}, "The last date must be after"),
        ({"repeat": "weekly", "repeat_until": "not a date"}, "Not a valid date value"),
        ({"repeat": "weekly", "repeat_until": "@@days:0"}, "only one date"),
        ({"repeat": "weekly", "repeat_until": "@@days:2200"}, "at most 260 dates"),
    ],
)
def test_bad_repeat_input_is_a_400_and_writes_nothing(
    client, auth, owner, post_form, overrides, message
):
    auth.login(owner)
    friday = next_friday()
    for key, value in overrides.items():
        if isinstance(value, str) and value.startswith("@@days:"):
            overrides[key] = (friday + timedelta(days=int(value[7:]))).isoformat()
    response = post_form("/events/new?org=host", event_form(friday, **overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert counts() == (0, 0)


def test_a_monthly_date_past_the_28th_is_refused_with_a_way_out(client, auth, owner, post_form):
    auth.login(owner)
    day = next_friday()
    while day.day <= 28:
        day += timedelta(days=1)
    response = post_form("/events/new?org=host", event_form(day, repeat="monthly_date"))
    assert response.status_code == 400
    assert "repeat on a weekday instead" in response.get_data(as_text=True)
    assert counts() == (0, 0)


def test_an_existing_action_can_start_repeating(client, auth, owner, post_form):
    auth.login(owner)
    post_form("/events/new?org=host", event_form())
    event = db.session.scalars(select(Event)).one()
    url = f"/events/{event.id}/edit"
    response = post_form(url, event_form(repeat="weekly", repeat_interval="2"))
    assert response.status_code == 302
    series = db.session.scalars(select(EventSeries)).one()
    assert series.rule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"
    assert 5 <= len(dates(series.id)) <= 7
    # The form now shows the rule and which dates an edit applies to.
    html = client.get(url).get_data(as_text=True)
    assert 'name="edit_scope"' in html and "This and all following dates" in html
    assert "Repeats every 2 weeks on Friday" in html


def test_editing_this_date_only_through_the_form(client, auth, owner, post_form, mailbox):
    auth.login(owner)
    friday = next_friday()
    post_form("/events/new?org=host", event_form(friday, repeat="weekly"))
    series = db.session.scalars(select(EventSeries)).one()
    third = dates(series.id)[2]
    day = third.local_start.date()
    factories.make_signup(third, email="vol@example.org")
    third.status = "published"
    db.session.commit()

    response = post_form(
        f"/events/{third.id}/edit",
        event_form(day, start_time="12:00", repeat="weekly", edit_scope="this"),
    )
    assert response.status_code == 302

    after = dates(series.id)
    assert after[2].local_start.hour == 12 and after[2].detached
    assert {o.local_start.hour for o in after if o.id != third.id} == {13}
    assert "12:00" in text_part(mailbox.wait_for(1)[0])


def test_changing_the_rule_for_one_date_alone_is_refused(client, auth, owner, post_form):
    auth.login(owner)
    post_form("/events/new?org=host", event_form(repeat="weekly"))
    series = db.session.scalars(select(EventSeries)).one()
    second = dates(series.id)[1]
    day = second.local_start.date()
    response = post_form(
        f"/events/{second.id}/edit",
        event_form(day, repeat="monthly", edit_scope="this", title="Changed"),
    )
    assert response.status_code == 400
    assert "apply the change to all following dates" in response.get_data(as_text=True)
    assert dates(series.id)[1].title == "Friday vigil"


def test_editing_all_following_dates_through_the_form(client, auth, owner, post_form):
    auth.login(owner)
    post_form("/events/new?org=host", event_form(repeat="weekly"))
    series = db.session.scalars(select(EventSeries)).one()
    third = dates(series.id)[2]
    day = third.local_start.date()
    response = post_form(
        f"/events/{third.id}/edit",
        event_form(day, repeat="weekly", edit_scope="following", title="Friday vigil, new place"),
    )
    assert response.status_code == 302
    titles = [o.title for o in dates(series.id)]
    assert titles[:2] == ["Friday vigil"] * 2
    assert set(titles[2:]) == {"Friday vigil, new place"}


def test_cancelling_one_date_emails_its_volunteers_only(client, auth, owner, post_form, mailbox):
    auth.login(owner)
    post_form("/events/new?org=host", event_form(repeat="weekly"))
    series = db.session.scalars(select(EventSeries)).one()
    first, second, third = dates(series.id)[:3]
    post_form(f"/events/{first.id}/publish", {}, page=f"/events/{first.id}")
    factories.make_signup(second, email="second@example.org")
    factories.make_signup(third, email="third@example.org")

    response = post_form(f"/events/{second.id}/cancel", {"message": "Storm warning."})
    assert response.status_code == 302

    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == ["second@example.org"]
    assert "Storm warning." in text_part(messages[0])
    statuses = [o.status for o in dates(series.id)]
    assert statuses[1] == "cancelled"
    assert statuses.count("cancelled") == 1


def test_ending_the_series(client, auth, owner, post_form, mailbox, runner):
    auth.login(owner)
    post_form("/events/new?org=host", event_form(repeat="weekly"))
    series = db.session.scalars(select(EventSeries)).one()
    occurrences = dates(series.id)
    first = occurrences[0]
    post_form(f"/events/{first.id}/publish", {}, page=f"/events/{first.id}")
    factories.make_signup(occurrences[1], email="kept@example.org")
    factories.make_signup(occurrences[4], email="gone@example.org", locale="en")
    last_kept = occurrences[2].local_start.date()

    page = client.get(f"/events/{first.id}/series/end").get_data(as_text=True)
    assert "End the series?" in page and 'name="last_day"' in page
    response = post_form(
        f"/events/{first.id}/series/end",
        {"last_day": last_kept.isoformat(), "message": "We won."},
    )
    assert response.status_code == 302

    db.session.expire_all()
    series = db.session.get(EventSeries, series.id)
    assert series.ended_at is not None
    statuses = [o.status for o in dates(series.id)]
    assert statuses[:3] == ["published"] * 3
    assert set(statuses[3:]) == {"cancelled"}
    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == ["gone@example.org"]
    assert "We won." in text_part(messages[0])

    # Nothing more is made, and the page says so.
    later = (factories.now() + timedelta(weeks=8)).isoformat()
    assert "Extended 0 series" in runner.invoke(args=["events", "extend", "--now", later]).output
    assert len(dates(series.id)) == len(statuses)
    page = client.get(f"/events/{first.id}").get_data(as_text=True)
    assert "This series has ended." in page
    assert f"until {last_kept.day} {last_kept.strftime('%B')}" in page
    # Sending the form again changes nothing.
    again = post_form(
        f"/events/{first.id}/series/end",
        {"last_day": last_kept.isoformat()},
        page=f"/events/{first.id}",
    )
    assert again.status_code == 302
    assert len(mailbox.messages) == 1


def test_ending_needs_an_organizer_and_a_series(client, auth, owner, post_form):
    auth.login(owner)
    post_form("/events/new?org=host", event_form())
    single = db.session.scalars(select(Event)).one()
    assert client.get(f"/events/{single.id}/series/end").status_code == 404
    post_form("/events/new?org=host", event_form(title="Weekly", repeat="weekly"))
    series = db.session.scalars(select(EventSeries)).one()
    first = dates(series.id)[0]
    first.status = "published"
    db.session.commit()
    auth.logout()
    outsider = factories.make_user()
    auth.login(outsider)
    assert client.get(f"/events/{first.id}/series/end").status_code == 403
    response = post_form(
        f"/events/{first.id}/series/end", {"last_day": "2026-01-01"}, page=f"/events/{first.id}"
    )
    assert response.status_code in (400, 403)
    db.session.expire_all()
    assert db.session.get(EventSeries, series.id).ended_at is None


def test_the_manage_page_groups_each_series(client, auth, owner, post_form):
    auth.login(owner)
    post_form("/events/new?org=host", event_form(title="One-off rally"))
    post_form("/events/new?org=host", event_form(title="Weekly vigil", repeat="weekly"))

    html = client.get("/orgs/host/manage").get_data(as_text=True)

    assert "Repeating actions" in html
    assert html.count("Weekly vigil") >= 12
    series_section = html.split("Repeating actions", 1)[1]
    assert "Repeats every Friday" in series_section
    assert "One-off rally" not in series_section


def test_the_manage_page_runs_the_same_queries_for_one_or_three_series(client, auth, owner):
    auth.login(owner)
    org = db.session.scalars(select(Organization).where(Organization.slug == "host")).one()
    now = factories.now()
    factories.make_series(org, first=now + timedelta(days=2), created=now)

    def queries() -> int:
        with count_queries() as statements:
            assert client.get("/orgs/host/manage").status_code == 200
        return len(statements)

    few = queries()
    factories.make_series(org, first=now + timedelta(days=3), created=now)
    factories.make_series(org, first=now + timedelta(days=4), created=now)
    assert queries() == few


def test_volunteers_see_no_series_box_on_a_one_off_action(client):
    event = factories.make_event()
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "series-box" not in html and "Every week" not in html
    assert db.session.scalar(select(func.count()).select_from(Signup)) == 0


def test_other_coming_dates_leave_out_unlisted_dates(client):
    now = factories.now()
    series = factories.make_series(first=now + timedelta(days=2), created=now, title="Vigil")
    occurrences = dates(series.id)
    for occurrence in occurrences:
        occurrence.status = "published"
    occurrences[2].visibility = "unlisted"
    db.session.commit()

    page = client.get(f"/events/{occurrences[0].id}").get_data(as_text=True)

    assert "Other coming dates" in page
    assert f'href="/events/{occurrences[1].id}"' in page
    assert f'href="/events/{occurrences[2].id}"' not in page


def test_a_repeat_end_far_in_the_future_is_a_field_error(client, auth, owner, post_form):
    """9999-12-31 once overflowed into a 500; on the form it is an error next to the field."""
    auth.login(owner)
    response = post_form(
        "/events/new?org=host", event_form(repeat="weekly", repeat_until="9999-12-31")
    )
    assert response.status_code == 400
    assert "Please enter a date between 2000 and 2100." in response.get_data(as_text=True)
    assert counts() == (0, 0)
    # Editing an action alone, and a date of a series, the same.
    post_form("/events/new?org=host", event_form())
    single = db.session.scalars(select(Event)).one()
    response = post_form(
        f"/events/{single.id}/edit", event_form(repeat="weekly", repeat_until="9999-12-31")
    )
    assert response.status_code == 400
    assert "Please enter a date between 2000 and 2100." in response.get_data(as_text=True)
    assert counts() == (1, 0)


def test_the_service_refuses_a_repeat_end_far_in_the_future(app):
    from organizer.services import series as service
    from organizer.services.errors import InvalidInput

    start = datetime(2027, 1, 29, 13, 0)
    for until in (date(9999, 12, 31), date(2101, 1, 1), date(1, 1, 1)):
        with pytest.raises(InvalidInput) as excinfo:
            service.build_rule(service.Repeat("weekly", [4], 1, until), start, "Asia/Jerusalem")
        assert "repeat_until" in excinfo.value.errors
    for text in ("FREQ=WEEKLY;UNTIL=99991231", "FREQ=WEEKLY;UNTIL=99991231T235959Z"):
        with pytest.raises(InvalidInput):
            service.check_rule(text, start, "Pacific/Kiritimati")
    with pytest.raises(InvalidInput):
        service.end_of_day(date.max, "Asia/Jerusalem")


def test_ending_a_series_on_a_day_out_of_range_writes_nothing(client, auth, owner, post_form):
    auth.login(owner)
    post_form("/events/new?org=host", event_form(repeat="weekly"))
    series = db.session.scalars(select(EventSeries)).one()
    first = dates(series.id)[0]
    response = post_form(f"/events/{first.id}/series/end", {"last_day": "9999-12-31"})
    assert response.status_code == 400
    assert "Please enter a date between 2000 and 2100." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(EventSeries, series.id).ended_at is None


def last_fridays_series(org, *, months: int = 6):
    """A monthly series on the last Friday, its first date the first fifth Friday ahead (a
    29th to 31st), with several months made: some last Fridays are fourth Fridays (22nd to
    28th), some fifth ones."""
    day = (factories.now() + timedelta(days=3)).astimezone(JERUSALEM).date()
    while not (day.weekday() == 4 and day.day >= 29):
        day += timedelta(days=1)
    first = datetime(day.year, day.month, day.day, 13, 0, tzinfo=JERUSALEM).astimezone(UTC)
    return factories.make_series(
        org,
        first=first,
        rule="FREQ=MONTHLY;BYDAY=-1FR",
        created=first - timedelta(days=1),
        horizon_weeks=52,
        title="Last Friday vigil",
        status="published",
    )


def edit_form_for(client, event: Event) -> dict:
    """The edit form as the page fills it in, for `event` (what a browser sends back)."""
    from organizer.events.forms import form_data_for
    from organizer.events.repeat_form import repeat_data

    data = form_data_for(event) | repeat_data(event.series)
    form = {}
    for key, value in data.items():
        if value is None or value is False:
            continue
        if value is True:
            form[key] = "y"
        elif isinstance(value, list):
            form[key] = [str(v) for v in value]
        elif hasattr(value, "isoformat"):
            form[key] = value.strftime("%H:%M") if key.endswith("_time") else value.isoformat()
        else:
            form[key] = str(value)
    return form


def test_a_last_friday_series_survives_an_edit_that_does_not_touch_repeat(
    client, auth, owner, post_form, mailbox
):
    """A "last Friday" rule shows as "monthly, on the same weekday"; a date of it on the 22nd
    to 28th read again from the edited date would be a fourth Friday. An edit that does not
    touch Repeat keeps the rule: nothing is cancelled, no one emailed."""
    auth.login(owner)
    org = db.session.scalars(select(Organization).where(Organization.slug == "host")).one()
    series = last_fridays_series(org)
    occurrences = dates(series.id)
    fourth = next(o for o in occurrences[1:] if o.local_start.day <= 28)
    fifth_later = [o for o in occurrences if o.local_start.day >= 29 and o.id > fourth.id]
    assert fifth_later, "the horizon holds a later fifth Friday"
    for occurrence in occurrences:
        factories.make_signup(occurrence, email=f"v{occurrence.id}@example.org")
    mailbox.clear()

    form = edit_form_for(client, fourth)
    assert form["repeat"] == "monthly"
    response = post_form(
        f"/events/{fourth.id}/edit", {**form, "title": "Renamed", "edit_scope": "following"}
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(EventSeries, series.id).rule == "FREQ=MONTHLY;BYDAY=-1FR"
    after = dates(series.id)
    assert [o.id for o in after] == [o.id for o in occurrences]
    assert "cancelled" not in {o.status for o in after}
    assert {o.title for o in after if o.occurrence_start >= fourth.occurrence_start} == {"Renamed"}
    assert mailbox.wait_for(1, timeout=0.5) == []

    # "This date only", the Repeat section untouched: saved, not refused.
    response = post_form(
        f"/events/{fourth.id}/edit",
        {**edit_form_for(client, fourth), "title": "Just this once", "edit_scope": "this"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Event, fourth.id).title == "Just this once"
    assert db.session.get(Event, fourth.id).detached
    assert db.session.get(EventSeries, series.id).rule == "FREQ=MONTHLY;BYDAY=-1FR"

    # Only the end changed: the rule stays the last Friday, with an UNTIL.
    later = [o for o in dates(series.id) if o.occurrence_start > fourth.occurrence_start]
    second = later[0]
    until = later[2].local_start.date()
    response = post_form(
        f"/events/{second.id}/edit",
        {
            **edit_form_for(client, second),
            "repeat_until": until.isoformat(),
            "edit_scope": "following",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    rules = [s.rule for s in db.session.scalars(select(EventSeries).order_by(EventSeries.id))]
    assert rules[-1].startswith("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=")
    new_series_id = db.session.get(Event, second.id).series_id
    assert all(o.local_start.day >= 22 for o in dates(new_series_id))
