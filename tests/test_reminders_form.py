"""Organizers choose the reminders on the action form: none, 2–72 hours before, and a second."""

from __future__ import annotations

import re

from organizer.extensions import db
from organizer.models import Event

from . import factories
from .test_events_actions import event_form, only_event


def selected_option(html: str, name: str) -> str | None:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {name}"
    match = re.search(
        r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select[1]
    )
    return None if match is None else (match[1] if match[1] is not None else match[2])


def owner_and_org():
    owner = factories.make_user()
    org = factories.make_org(slug="host", owner=owner)
    return owner, org


def test_a_new_action_reminds_a_day_before_by_default(client, auth, post_form):
    owner, _org = owner_and_org()
    auth.login(owner)
    html = client.get("/events/new?org=host").get_data(as_text=True)
    assert "Remind confirmed volunteers by email" in html
    assert selected_option(html, "reminder_hours") == "24"
    for label in ("No reminder", "2 hours before", "72 hours before"):
        assert label in html
    assert "Also remind them 2 hours before" in html

    assert post_form("/events/new?org=host", event_form()).status_code == 302
    event = only_event()
    assert (event.reminder_hours, event.second_reminder) == (24, False)


def test_no_first_reminder_and_a_second_one(client, auth, post_form):
    owner, _org = owner_and_org()
    auth.login(owner)
    form = event_form(reminder_hours="", second_reminder="y")
    assert post_form("/events/new?org=host", form).status_code == 302
    event = only_event()
    assert (event.reminder_hours, event.second_reminder) == (None, True)
    html = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert selected_option(html, "reminder_hours") == ""
    assert re.search(r'<input[^>]*checked[^>]*name="second_reminder"', html) or re.search(
        r'<input[^>]*name="second_reminder"[^>]*checked', html
    )


def test_editing_only_the_reminder_tells_nobody(client, auth, post_form, mailbox):
    owner, org = owner_and_org()
    event = factories.make_event(org, reminder_hours=24)
    factories.make_signup(event, "confirmed")
    auth.login(owner)
    html = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert selected_option(html, "reminder_hours") == "24"
    local = event.local_start
    form = event_form(
        reminder_hours="48",
        title=event.title,
        start_date=local.date().isoformat(),
        start_time=local.strftime("%H:%M"),
        end_date=event.local_end.date().isoformat(),
        end_time=event.local_end.strftime("%H:%M"),
        causes=["peace"],
        kind="rally",
        description="Join us.",
        waitlist_enabled="y",
    )
    response = post_form(f"/events/{event.id}/edit", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Event, event.id).reminder_hours == 48
    assert mailbox.wait_for(1, timeout=0.5) == []


def test_an_hours_value_set_elsewhere_survives_the_form(client, auth):
    owner, org = owner_and_org()
    event = factories.make_event(org, reminder_hours=3)
    auth.login(owner)
    html = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert selected_option(html, "reminder_hours") == "3"
    assert "3 hours before" in html


def test_a_made_up_value_is_refused(client, auth, post_form):
    owner, _org = owner_and_org()
    auth.login(owner)
    for bad in ("5000", "-2", "abc", "024", "9" * 5000):
        response = post_form("/events/new?org=host", event_form(reminder_hours=bad))
        assert response.status_code == 400, bad
        assert "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.query(Event).count() == 0
