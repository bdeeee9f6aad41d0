"""Organizers manage an action's shifts: add, edit, reorder, delete; only the hosts' organizers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.models import Shift, Signup
from organizer.services import shifts as service
from organizer.services.errors import InvalidInput

from . import factories
from .helpers import text_part


@pytest.fixture()
def setup():
    owner = factories.make_user(name="Host Owner")
    cohost_organizer = factories.make_user(name="Cohost Organizer")
    pending_organizer = factories.make_user(name="Asked Cohost")
    outsider = factories.make_user(name="Other Org Organizer")
    admin = factories.make_user(name="Site Admin", is_admin=True)
    org = factories.make_org(owner=owner)
    cohost = factories.make_org(owner=cohost_organizer)
    asked = factories.make_org(owner=pending_organizer)
    factories.make_org(owner=outsider)
    # 08:00–16:00 in Jerusalem, five days ahead.
    day = (factories.now() + timedelta(days=5)).astimezone(org_tz(org)).date()
    start = _local(org, day, 8)
    event = factories.make_event(
        org,
        title="Aid depot day",
        starts_at=start,
        ends_at=start + timedelta(hours=8),
        cohosts=(cohost,),
        pending_cohosts=(asked,),
    )
    return {
        "owner": owner,
        "cohost": cohost_organizer,
        "pending": pending_organizer,
        "outsider": outsider,
        "admin": admin,
        "event": event,
        "day": day,
    }


def org_tz(org):
    from zoneinfo import ZoneInfo

    return ZoneInfo(org.timezone)


def _local(org, day, hour: int):
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(hour), tzinfo=org_tz(org)).astimezone(UTC)


def shifts_url(event) -> str:
    return f"/events/{event.id}/shifts"


def shifts_of(event) -> list[Shift]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Shift).where(Shift.event_id == event.id).order_by(Shift.position))
    )


def add(post_form, event, **fields):
    data = {"name": "Sorting", "start_time": "", "end_time": "", "capacity": "", **fields}
    return post_form(shifts_url(event), data)


# --- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "cohost", "admin"])
def test_hosts_and_admins_manage_shifts(client, auth, post_form, setup, who):
    event = setup["event"]
    auth.login(setup[who])
    assert client.get(shifts_url(event)).status_code == 200
    assert add(post_form, event, name=f"By {who}").status_code == 302
    assert [s.name for s in shifts_of(event)] == [f"By {who}"]


@pytest.mark.parametrize("who", ["outsider", "pending"])
def test_other_organizers_are_refused(client, auth, setup, who):
    event = setup["event"]
    shift = factories.make_shift(event, "Sorting", capacity=3)
    auth.login(setup[who])
    token_page = "/"
    assert client.get(shifts_url(event)).status_code == 403
    assert client.get(f"{shifts_url(event)}/{shift.id}/edit").status_code == 403
    from .conftest import csrf_token

    token = csrf_token(client, token_page)
    for url, data in (
        (shifts_url(event), {"name": "Mine now"}),
        (f"{shifts_url(event)}/{shift.id}/edit", {"name": "Renamed"}),
        (f"{shifts_url(event)}/{shift.id}/move", {"direction": "down"}),
        (f"{shifts_url(event)}/{shift.id}/delete", {}),
    ):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403
    assert [(s.name, s.capacity) for s in shifts_of(event)] == [("Sorting", 3)]


def test_anonymous_visitors_are_sent_to_log_in(client, setup):
    response = client.get(shifts_url(setup["event"]))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_draft_is_not_found_for_others(client, auth, setup):
    event = setup["event"]
    event.status = "draft"
    db.session.commit()
    auth.login(setup["outsider"])
    assert client.get(shifts_url(event)).status_code == 404


def test_a_shift_of_another_action_is_not_found(client, auth, post_form, setup):
    event = setup["event"]
    other = factories.make_event(event.organization)
    foreign = factories.make_shift(other, "Elsewhere")
    auth.login(setup["owner"])
    assert client.get(f"{shifts_url(event)}/{foreign.id}/edit").status_code == 404
    response = post_form(f"{shifts_url(event)}/{foreign.id}/delete", {}, page=shifts_url(event))
    assert response.status_code == 404
    assert shifts_of(other)


# --- add, edit, reorder ----------------------------------------------------------------------


def test_adding_shifts_with_hours_on_the_actions_clock(client, auth, post_form, setup):
    event = setup["event"]
    auth.login(setup["owner"])
    assert add(post_form, event, name="Sorting", start_time="08:00", end_time="12:00",
               capacity="12").status_code == 302  # fmt: skip
    assert add(post_form, event, name="Loading", start_time="12:00", end_time="16:00",
               capacity="6").status_code == 302  # fmt: skip
    assert add(post_form, event, name="Drivers").status_code == 302

    sorting, loading, drivers = shifts_of(event)
    assert sorting.starts_at == event.starts_at
    assert sorting.ends_at == event.starts_at + timedelta(hours=4)
    assert (loading.capacity, loading.position) == (6, 1)
    assert (drivers.starts_at, drivers.capacity, drivers.position) == (None, None, 2)
    html = client.get(shifts_url(event)).get_data(as_text=True)
    assert "08:00–12:00" in html and "12:00–16:00" in html and "no limit" in html
    detail = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert f'href="{shifts_url(event)}"' in detail
    edit_form = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert f'href="{shifts_url(event)}"' in edit_form
    assert "This action has 3 shifts" in edit_form


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": ""}, "Please name the shift or role."),
        ({"name": "x" * 121}, "under 120 characters"),
        ({"start_time": "09:00"}, "both the start and the end, or neither"),
        ({"start_time": "12:00", "end_time": "09:00"}, "The end must be after the start."),
        ({"start_time": "06:00", "end_time": "09:00"}, "within the action"),
        ({"start_time": "14:00", "end_time": "17:00"}, "within the action"),
        ({"start_time": "25:00", "end_time": "26:00"}, "Not a valid time value"),
        ({"capacity": "0"}, "from 1 up"),
        ({"capacity": "many"}, "Not a valid integer value"),
        # Far from the action: refused before any date arithmetic (year 1 used to overflow).
        ({"day": "0001-01-01", "start_time": "00:10", "end_time": "00:20"}, "at most 14 days"),
        ({"day": "9999-12-31", "start_time": "23:50", "end_time": "23:55"}, "at most 14 days"),
        ({"day": "2000-01-01"}, "at most 14 days before or after"),
    ],
)
def test_bad_shifts_are_refused_and_write_nothing(client, auth, post_form, setup, fields, message):
    event = setup["event"]
    auth.login(setup["owner"])
    response = add(post_form, event, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert shifts_of(event) == []


def test_a_day_far_from_the_action_is_refused_when_editing(client, auth, post_form, setup):
    event = setup["event"]
    shift = factories.make_shift(event, "Sorting", capacity=5)
    auth.login(setup["owner"])
    url = f"{shifts_url(event)}/{shift.id}/edit"
    for day in ("0001-01-01", (setup["day"] + timedelta(days=15)).isoformat()):
        data = {"name": "Moved", "day": day, "start_time": "00:10", "end_time": "00:20"}
        response = post_form(url, data)
        assert response.status_code == 400
        assert "at most 14 days before or after the action" in response.get_data(as_text=True)
    (saved,) = shifts_of(event)
    assert (saved.name, saved.starts_at) == ("Sorting", None)
    # Within the window the usual rule applies: the shift must fall within the action.
    data = {"name": "Moved", "day": (setup["day"] + timedelta(days=14)).isoformat(),
            "start_time": "09:00", "end_time": "10:00"}  # fmt: skip
    response = post_form(url, data)
    assert response.status_code == 400
    assert "within the action" in response.get_data(as_text=True)


def test_a_double_submitted_add_makes_one_shift(auth, post_form, setup):
    event = setup["event"]
    auth.login(setup["owner"])
    assert add(post_form, event, name="Sorting").status_code == 302
    second = add(post_form, event, name=" sorting ")
    assert second.status_code == 400
    assert "already has a shift with this name" in second.get_data(as_text=True)
    assert len(shifts_of(event)) == 1


def test_editing_a_shift(client, auth, post_form, setup):
    event = setup["event"]
    shift = factories.make_shift(event, "Sorting", capacity=5)
    auth.login(setup["owner"])
    url = f"{shifts_url(event)}/{shift.id}/edit"
    assert 'value="Sorting"' in client.get(url).get_data(as_text=True)
    data = {"name": "Sorting boxes", "start_time": "09:00", "end_time": "11:30", "capacity": ""}
    assert post_form(url, data).status_code == 302
    (saved,) = shifts_of(event)
    assert (saved.name, saved.capacity) == ("Sorting boxes", None)
    assert saved.starts_at == event.starts_at + timedelta(hours=1)
    assert saved.ends_at == event.starts_at + timedelta(hours=3, minutes=30)


def test_more_places_promote_that_shifts_waitlist(client, auth, post_form, mailbox, setup):
    event = setup["event"]
    sorting = factories.make_shift(event, "Sorting", capacity=1)
    loading = factories.make_shift(event, "Loading", capacity=1)
    factories.make_signup(event, "confirmed", shift=sorting)
    first = factories.make_signup(event, "waitlisted", shift=sorting, email="first@example.org")
    second = factories.make_signup(event, "waitlisted", shift=sorting, email="second@example.org")
    factories.make_signup(event, "confirmed", shift=loading)
    other = factories.make_signup(event, "waitlisted", shift=loading, email="other@example.org")
    auth.login(setup["owner"])

    url = f"{shifts_url(event)}/{sorting.id}/edit"
    response = post_form(url, {"name": "Sorting", "capacity": "2"}, follow_redirects=True)

    assert "1 volunteer moved up from the waitlist." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Signup, first.id).status == "confirmed"
    assert db.session.get(Signup, second.id).status == "waitlisted"
    assert db.session.get(Signup, other.id).status == "waitlisted"
    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == ["first@example.org"]
    assert "Shift: Sorting" in text_part(messages[0])


def test_fewer_places_than_confirmed_are_refused(auth, post_form, setup):
    event = setup["event"]
    shift = factories.make_shift(event, "Sorting", capacity=3)
    for _ in range(2):
        factories.make_signup(event, "confirmed", shift=shift)
    auth.login(setup["owner"])
    response = post_form(f"{shifts_url(event)}/{shift.id}/edit", {"name": "S", "capacity": "1"})
    assert response.status_code == 400
    assert "2 volunteers are already confirmed in this shift" in response.get_data(as_text=True)
    assert [(s.name, s.capacity) for s in shifts_of(event)] == [("Sorting", 3)]


def test_reordering(client, auth, post_form, setup):
    event = setup["event"]
    a, b, c = (factories.make_shift(event, name) for name in ("A", "B", "C"))
    auth.login(setup["owner"])
    page = shifts_url(event)
    assert post_form(f"{page}/{c.id}/move", {"direction": "up"}, page=page).status_code == 302
    assert [s.name for s in shifts_of(event)] == ["A", "C", "B"]
    post_form(f"{page}/{a.id}/move", {"direction": "up"}, page=page)  # first already
    post_form(f"{page}/{a.id}/move", {"direction": "down"}, page=page)
    assert [s.name for s in shifts_of(event)] == ["C", "A", "B"]
    assert [s.position for s in shifts_of(event)] == [0, 1, 2]
    assert post_form(f"{page}/{b.id}/move", {"direction": "sideways"}, page=page).status_code == 400
    # Volunteers see them in that order.
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert (
        html.index(f'value="{c.id}"')
        < html.index(f'value="{a.id}"')
        < html.index(f'value="{b.id}"')
    )


# --- delete ---------------------------------------------------------------------------------


def test_deleting_a_shift_nobody_holds(auth, post_form, setup):
    event = setup["event"]
    keep = factories.make_shift(event, "Keep")
    gone = factories.make_shift(event, "Gone")
    factories.make_signup(event, "cancelled", shift=gone)
    auth.login(setup["owner"])
    page = shifts_url(event)
    response = post_form(f"{page}/{gone.id}/delete", {}, page=page, follow_redirects=True)
    assert "The shift “Gone” is deleted." in response.get_data(as_text=True)
    assert [s.id for s in shifts_of(event)] == [keep.id]


def test_deleting_a_shift_with_volunteers_asks_first_then_emails_them(
    client, auth, post_form, mailbox, setup
):
    event = setup["event"]
    keep = factories.make_shift(event, "Sorting", capacity=5)
    gone = factories.make_shift(event, "Loading", capacity=5)
    held = factories.make_signup(event, "confirmed", shift=keep, email="both@example.org")
    factories.make_signup(event, "confirmed", shift=gone, email="both@example.org")
    factories.make_signup(event, "waitlisted", shift=gone, email="waiting@example.org")
    auth.login(setup["owner"])
    page = shifts_url(event)
    html = client.get(page).get_data(as_text=True)
    assert f'href="{page}/{gone.id}/delete"' in html  # a page that asks, not a button

    confirm = client.get(f"{page}/{gone.id}/delete").get_data(as_text=True)
    assert "2 volunteers are signed up for this shift" in confirm
    refused = post_form(f"{page}/{gone.id}/delete", {})
    assert refused.status_code == 409
    assert "tick the box" in refused.get_data(as_text=True)
    assert len(shifts_of(event)) == 2
    assert mailbox.wait_for(1, timeout=0.3) == []

    response = post_form(f"{page}/{gone.id}/delete", {"cancel_signups": "y"}, follow_redirects=True)
    assert "2 sign-ups were cancelled and the volunteers emailed." in response.get_data(
        as_text=True
    )
    assert [s.name for s in shifts_of(event)] == ["Sorting"]
    remaining = list(db.session.scalars(select(Signup).where(Signup.event_id == event.id)))
    assert [s.id for s in remaining] == [held.id]
    messages = mailbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["both@example.org", "waiting@example.org"]
    body = text_part(messages[0])
    assert "called off the shift “Loading”" in body
    assert messages[0]["Subject"] == "Shift called off: Aid depot day"


def test_a_signup_landing_before_the_delete_is_not_lost(app, setup):
    """The service counts the shift's volunteers with the roster locked."""
    event = setup["event"]
    shift = factories.make_shift(event, "Late")
    factories.make_signup(event, "pending", shift=shift)
    with pytest.raises(service.ShiftInUse) as refused:
        service.delete_shift(event, shift.id, factories.now())
    assert refused.value.active == 1
    assert shifts_of(event)


def test_a_cancelled_action_keeps_its_shifts(client, auth, post_form, setup):
    event = setup["event"]
    shift = factories.make_shift(event, "Sorting")
    event.status = "cancelled"
    db.session.commit()
    auth.login(setup["owner"])
    html = client.get(shifts_url(event)).get_data(as_text=True)
    assert "can no longer be changed" in html and "Add a shift" not in html
    response = post_form(shifts_url(event), {"name": "More"}, follow_redirects=True)
    assert "A cancelled action can no longer be changed." in response.get_data(as_text=True)
    assert [s.id for s in shifts_of(event)] == [shift.id]


def test_an_action_that_is_over_keeps_its_shifts_and_sign_ups(
    client, auth, post_form, mailbox, setup
):
    """Its roster is history (attendance included): no edit, move, delete or new shift, and
    nobody is told a shift of a past action was called off."""
    start = factories.now() - timedelta(days=2)
    event = factories.make_event(
        setup["event"].organization, starts_at=start, ends_at=start + timedelta(hours=4)
    )
    sorting = factories.make_shift(event, "Sorting", capacity=5)
    loading = factories.make_shift(event, "Loading", capacity=5)
    came = factories.make_signup(event, "confirmed", shift=loading, attendance="attended")
    auth.login(setup["owner"])
    page = shifts_url(event)

    html = client.get(page).get_data(as_text=True)
    assert "This action is over: its shifts can no longer be changed." in html
    assert "Add a shift" not in html and f"{page}/{loading.id}/delete" not in html
    over = "This action is over: its shifts can no longer be changed."
    attempts = [
        (page, {"name": "More"}),
        (f"{page}/{loading.id}/edit", {"name": "Renamed", "capacity": "9"}),
        (f"{page}/{loading.id}/move", {"direction": "up"}),
        (f"{page}/{loading.id}/delete", {"cancel_signups": "y"}),
        (f"{page}/{sorting.id}/delete", {}),
    ]
    for url, data in attempts:
        response = post_form(url, data, page=page)
        assert response.status_code == 302, url
        assert over in client.get(response.headers["Location"]).get_data(as_text=True)
    for url in (f"{page}/{loading.id}/edit", f"{page}/{loading.id}/delete"):
        assert client.get(url).status_code == 302

    assert [(s.name, s.capacity) for s in shifts_of(event)] == [("Sorting", 5), ("Loading", 5)]
    db.session.expire_all()
    kept = db.session.get(Signup, came.id)
    assert (kept.status, kept.attendance, kept.shift_id) == ("confirmed", "attended", loading.id)
    assert mailbox.wait_for(1, timeout=0.3) == []

    from organizer.services.errors import InvalidTransition

    for change in (
        lambda: service.delete_shift(event, loading.id, factories.now(), cancel_signups=True),
        lambda: service.update_shift(event, loading.id, service.ShiftData("X"), factories.now()),
        lambda: service.move_shift(event, loading.id, -1, factories.now()),
        lambda: service.add_shift(event, service.ShiftData("New"), factories.now()),
    ):
        with pytest.raises(InvalidTransition) as refused:
            change()
        assert refused.value.state == "past"
    assert len(shifts_of(event)) == 2


def test_a_shift_gone_between_lookups_is_not_found(client, auth, post_form, setup, monkeypatch):
    """Its counts no longer listed (deleted by another organizer meanwhile): 404, not a 500."""
    event = setup["event"]
    shift = factories.make_shift(event, "Sorting")
    factories.make_signup(event, "pending", shift=shift)
    auth.login(setup["owner"])
    url = f"{shifts_url(event)}/{shift.id}/delete"
    assert client.get(url).status_code == 200
    real, calls = service.shift_counts, []

    def vanishing(event_id: int, after: int):
        calls.append(event_id)
        return real(event_id) if len(calls) <= after else []

    monkeypatch.setattr(service, "shift_counts", lambda event_id: vanishing(event_id, 0))
    assert client.get(url).status_code == 404
    # Gone after the first lookup: the delete is refused (a volunteer holds a request), and
    # the page that says so finds no counts.
    from .conftest import csrf_token

    token = csrf_token(client, shifts_url(event))
    calls.clear()
    monkeypatch.setattr(service, "shift_counts", lambda event_id: vanishing(event_id, 1))
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    assert len(calls) == 2
    assert [s.id for s in shifts_of(event)] == [shift.id]


# --- the action moves ------------------------------------------------------------------------


def test_moving_the_action_moves_its_shifts(app, setup):
    from organizer.services import events as events_service

    event = setup["event"]
    sorting = factories.make_shift(
        event, "Sorting", starts_at=event.starts_at, ends_at=event.starts_at + timedelta(hours=4)
    )
    late = factories.make_shift(
        event,
        "Late",
        starts_at=event.starts_at + timedelta(hours=6),
        ends_at=event.ends_at,
    )
    fields = events_service.EventData.__dataclass_fields__
    data = events_service.EventData(
        **{k: getattr(event, k) for k in events_service.EDITABLE_COLUMNS if k in fields},
        causes=event.cause_slugs,
    )
    data.starts_at = event.starts_at + timedelta(days=1)
    data.ends_at = data.starts_at + timedelta(hours=5)  # and three hours shorter
    events_service.update_event(event, data, factories.now())

    db.session.expire_all()
    sorting, late = db.session.get(Shift, sorting.id), db.session.get(Shift, late.id)
    assert sorting.starts_at == data.starts_at
    assert sorting.ends_at == data.starts_at + timedelta(hours=4)
    assert (late.starts_at, late.ends_at) == (None, None)  # no longer fits: hours dropped


def test_the_service_refuses_what_the_form_would(app, setup):
    event = setup["event"]
    with pytest.raises(InvalidInput):
        service.add_shift(event, service.ShiftData(name="  "))
    with pytest.raises(InvalidInput):
        service.add_shift(event, service.ShiftData(name="S", capacity=0))
    for i in range(service.MAX_SHIFTS):
        service.add_shift(event, service.ShiftData(name=f"S{i}"))
    with pytest.raises(InvalidInput):
        service.add_shift(event, service.ShiftData(name="One too many"))
