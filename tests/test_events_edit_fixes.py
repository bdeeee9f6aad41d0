"""Editing an action: the old hidden place stays hidden, a double submit is only a true twin,
and a capacity change is checked, saved and filled from the waitlist under the roster lock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Event, Signup
from organizer.services import events as service
from organizer.services import signups as signup_service
from organizer.services.errors import InvalidInput

from . import factories
from .helpers import all_text, text_part

SECRET = "OLD-SECRET"


@pytest.fixture()
def host():
    owner = factories.make_user(name="Host Owner")
    org = factories.make_org(slug="host", name="Host Org", owner=owner)
    return {"owner": owner, "org": org}


def hidden_action(host, **kwargs) -> Event:
    kwargs.setdefault("location_visibility", "confirmed")
    kwargs.setdefault("address", SECRET)
    return factories.make_event(host["org"], **kwargs)


def edit_form(event: Event, **overrides) -> dict:
    """The edit form for `event` as it is (same minute, same place), with `overrides`."""
    start, end = event.local_start, event.local_end
    data = {
        "title": event.title,
        "language": event.language,
        "description": event.description_md,
        "kind": event.kind,
        "causes": event.cause_slugs,
        "region": event.region,
        "city": event.city,
        "start_date": start.date().isoformat(),
        "start_time": start.strftime("%H:%M"),
        "end_date": end.date().isoformat(),
        "end_time": end.strftime("%H:%M"),
        "address": event.address,
        "capacity": "" if event.capacity is None else str(event.capacity),
        "waitlist_enabled": "y",
        "visibility": event.visibility,
        "location_visibility": event.location_visibility,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def new_form(**overrides) -> dict:
    day = (factories.now() + timedelta(days=10)).date().isoformat()
    data = {
        "title": "Friday vigil",
        "language": "en",
        "description": "Bring candles.",
        "kind": "demonstration",
        "causes": ["peace"],
        "region": "jerusalem",
        "city": "Jerusalem",
        "start_date": day,
        "start_time": "13:00",
        "end_date": day,
        "end_time": "15:00",
        "address": "Paris Square",
        "capacity": "20",
        "waitlist_enabled": "y",
        "visibility": "public",
        "location_visibility": "public",
    }
    data.update(overrides)
    return data


def data_of(event: Event, **changes) -> service.EventData:
    """The action's current values as a service call would get them, with `changes`."""
    values = {name: getattr(event, name) for name in service.EDITABLE_COLUMNS}
    data = service.EventData(**values, causes=list(event.cause_slugs), cohost_slugs=[])  # type: ignore[arg-type]
    return replace(data, **changes)


def fresh(event: Event) -> Event:
    db.session.expire_all()
    return db.session.get(Event, event.id)


def status_of(signup: Signup) -> str:
    db.session.expire_all()
    return db.session.get(Signup, signup.id).status


def count_events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


# --- 1. the old hidden place in "changed" emails ------------------------------------------------


def test_made_public_the_old_hidden_address_reaches_only_who_could_see_it(
    client, auth, post_form, host, mailbox
):
    event = hidden_action(host, capacity=1)
    confirmed = factories.make_signup(event, "confirmed", email="yes@example.org")
    waiting = factories.make_signup(event, "waitlisted", email="wait@example.org")
    pending = factories.make_signup(event, "pending", email="pending@example.org")
    auth.login(host["owner"])
    response = post_form(
        f"/events/{event.id}/edit",
        edit_form(event, address="New Square 2", location_visibility="public"),
    )
    assert response.status_code == 302
    assert len(mailbox.wait_for(3)) == 3
    for signup in (waiting, pending):
        (message,) = mailbox.to(signup.email)
        body = all_text(message)
        assert "New Square 2" in body  # the new place is public now
        assert SECRET not in body  # the old one never was, for them
    # A confirmed volunteer saw the old address, so "Before:" may name it.
    (to_confirmed,) = mailbox.to(confirmed.email)
    assert f"Before: {SECRET}" in text_part(to_confirmed)


def test_an_old_address_not_yet_revealed_stays_hidden_from_the_confirmed(
    client, auth, post_form, host, mailbox
):
    # Revealed a day before the start, three days ahead: nobody has seen it yet.
    event = hidden_action(host, reveal_hours_before=24, starts_in=timedelta(days=3))
    confirmed = factories.make_signup(event, "confirmed")
    auth.login(host["owner"])
    post_form(
        f"/events/{event.id}/edit",
        edit_form(event, address="New Square 2", location_visibility="public"),
    )
    (message,) = mailbox.wait_for(1)
    assert message["To"] == confirmed.email
    body = all_text(message)
    assert "New Square 2" in body and SECRET not in body


def test_promoted_by_the_same_edit_never_saw_the_old_address(
    client, auth, post_form, host, mailbox
):
    event = hidden_action(host, capacity=1)
    factories.make_signup(event, "confirmed", email="first@example.org")
    waiting = factories.make_signup(event, "waitlisted", email="next@example.org")
    auth.login(host["owner"])
    post_form(
        f"/events/{event.id}/edit",
        edit_form(event, capacity="2", address="New Square 2", location_visibility="public"),
    )
    assert status_of(waiting) == "confirmed"
    mailbox.wait_for(3)
    to_promoted = mailbox.to(waiting.email)
    assert len(to_promoted) == 2  # the change, and the place
    for message in to_promoted:
        assert SECRET not in all_text(message)


def test_an_address_still_hidden_shows_the_waitlist_only_the_city(
    client, auth, post_form, host, mailbox
):
    event = hidden_action(host)
    waiting = factories.make_signup(event, "waitlisted")
    auth.login(host["owner"])
    post_form(f"/events/{event.id}/edit", edit_form(event, address="NEW-SECRET"))
    (message,) = mailbox.wait_for(1)
    assert message["To"] == waiting.email
    body = all_text(message)
    assert SECRET not in body and "NEW-SECRET" not in body
    assert "Before: Jerusalem" in text_part(message)


# --- 2. double submit ------------------------------------------------------------------------


def test_the_same_form_sent_twice_makes_one_draft(client, auth, post_form, host):
    auth.login(host["owner"])
    first = post_form("/events/new?org=host", new_form())
    second = post_form("/events/new?org=host", new_form())
    assert count_events() == 1
    assert first.headers["Location"] == second.headers["Location"]


@pytest.mark.parametrize(
    "difference",
    [
        {"address": "Habima Square"},
        {"capacity": "40"},
        {"description": "Bring flags."},
        {"location_visibility": "confirmed"},
        {"causes": ["peace", "equality"]},
    ],
)
def test_another_action_with_the_same_title_and_start_is_saved_too(
    client, auth, post_form, host, difference
):
    auth.login(host["owner"])
    first = post_form("/events/new?org=host", new_form())
    second = post_form("/events/new?org=host", new_form(**difference))
    assert first.status_code == second.status_code == 302
    assert count_events() == 2
    assert first.headers["Location"] != second.headers["Location"]


def test_service_twin_needs_every_field_equal(app, host):
    now = factories.now()
    start = (now + timedelta(days=5)).replace(second=0, microsecond=0)
    data = service.EventData(
        title="Vigil",
        region="jerusalem",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        address="Paris Square",
        capacity=10,
    )
    one = service.create_event(host["org"], host["owner"], data, now)
    assert service.create_event(host["org"], host["owner"], replace(data), now).id == one.id
    other = service.create_event(host["org"], host["owner"], replace(data, capacity=11), now)
    assert other.id != one.id
    assert count_events() == 2


# --- 3. capacity and the waitlist, in one locked transaction ------------------------------------


def test_a_newcomer_cannot_take_a_freed_place_ahead_of_the_waitlist(app, host, monkeypatch):
    """A sign-up squeezed in right after the edit's commit finds the place already given."""
    event = factories.make_event(host["org"], capacity=1)
    factories.make_signup(event, "confirmed")
    waiting = factories.make_signup(event, "waitlisted", email="waiting@example.org")
    now = factories.now()
    newcomer: list[Signup] = []
    real_commit = db.session.commit
    squeezed_in = False

    def commit_then_newcomer() -> None:
        nonlocal squeezed_in
        real_commit()
        if not squeezed_in:  # once, straight after the first commit of the edit
            squeezed_in = True
            newcomer.append(
                signup_service.sign_up(event.id, name="Newcomer", email="new@example.org", now=now)
            )

    monkeypatch.setattr(db.session, "commit", commit_then_newcomer)
    changes = service.update_event(event, data_of(event, capacity=2), now)
    monkeypatch.undo()

    assert [s.id for s in changes.promoted] == [waiting.id]
    assert status_of(waiting) == "confirmed"
    assert status_of(newcomer[0]) == "waitlisted"
    assert fresh(event).capacity == 2


def test_removing_the_limit_moves_the_whole_waitlist_up(app, host, mailbox):
    event = factories.make_event(host["org"], capacity=1)
    factories.make_signup(event, "confirmed")
    waiting = [factories.make_signup(event, "waitlisted") for _ in range(3)]
    changes = service.update_event(event, data_of(event, capacity=None), factories.now())
    assert {s.id for s in changes.promoted} == {s.id for s in waiting}
    assert {status_of(s) for s in waiting} == {"confirmed"}
    assert len(mailbox.wait_for(3)) == 3


def test_a_draft_capacity_change_just_saves(app, host):
    event = factories.make_event(host["org"], capacity=5, status="draft")
    changes = service.update_event(event, data_of(event, capacity=2), factories.now())
    assert changes.fields == {"capacity"} and changes.promoted == []
    assert fresh(event).capacity == 2


# --- 4. never below the places already taken ------------------------------------------------


def test_capacity_below_the_confirmed_is_refused_and_nothing_written(app, host, mailbox):
    event = factories.make_event(host["org"], capacity=5, address="Paris Square")
    for _ in range(3):
        factories.make_signup(event, "confirmed")
    data = data_of(event, capacity=2, title="Renamed", address="Elsewhere 1")
    with pytest.raises(InvalidInput) as error:
        service.update_event(event, data, factories.now())
    with app.test_request_context("/"):
        message = str(error.value.errors["capacity"])
    assert message == (
        "3 volunteers are already confirmed; the capacity can't be lower. "
        "Cancel sign-ups from the roster first."
    )
    after = fresh(event)
    assert (after.capacity, after.title, after.address, after.sequence) == (
        5,
        event.title,
        "Paris Square",
        0,
    )
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_the_edit_page_shows_the_capacity_error(client, auth, post_form, host):
    event = factories.make_event(host["org"], capacity=3)
    for _ in range(2):
        factories.make_signup(event, "confirmed")
    auth.login(host["owner"])
    response = post_form(f"/events/{event.id}/edit", edit_form(event, capacity="1"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "2 volunteers are already confirmed; the capacity can&#39;t be lower." in html
    assert fresh(event).capacity == 3


def test_capacity_down_to_the_confirmed_or_with_only_waitlisted_is_fine(app, host):
    event = factories.make_event(host["org"], capacity=5)
    factories.make_signup(event, "confirmed")
    factories.make_signup(event, "pending")
    changes = service.update_event(event, data_of(event, capacity=1), factories.now())
    assert changes.fields == {"capacity"}
    assert fresh(event).capacity == 1
