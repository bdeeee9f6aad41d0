"""Hostile input to the action forms: a clear message, a 4xx, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Event, Organization

from . import factories
from .test_events_actions import event_form, fresh


def count_events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


def host_org() -> Organization:
    return db.session.scalar(select(Organization).where(Organization.slug == "host"))


@pytest.fixture()
def owner():
    user = factories.make_user()
    factories.make_org(slug="host", owner=user)
    factories.make_org(slug="friend")
    return user


HOSTILE = [
    ({"end_time": "12:00"}, "The end must be after the start."),
    ({"end_time": "13:00"}, "The end must be after the start."),
    ({"start_date": "2026-02-30"}, "Not a valid date value"),
    ({"end_date": "2027-13-01"}, "Not a valid date value"),
    ({"start_time": "25:00"}, "Not a valid time value"),
    ({"start_date": "0001-01-01", "end_date": "0001-01-01"}, "between 2000 and 2100"),
    ({"start_date": "9999-12-31", "end_date": "9999-12-31"}, "between 2000 and 2100"),
    ({"start_date": "2020-01-01", "end_date": "2020-01-01"}, "The start must be in the future."),
    ({"start_date": "2099-01-01", "end_date": "2099-01-01"}, "at most five years ahead"),
    ({"end_date": "2099-01-01"}, "at most 31 days"),
    ({"start_date": ""}, "This field is required."),
    ({"capacity": "-1"}, "Number must be between 1 and 100000."),
    ({"capacity": "0"}, "Number must be between 1 and 100000."),
    ({"capacity": str(10**9)}, "Number must be between 1 and 100000."),
    ({"capacity": "lots"}, "Not a valid integer value."),
    ({"reveal_hours_before": "721", "location_visibility": "confirmed"}, "between 0 and 720"),
    ({"kind": "riot"}, "Not a valid choice"),
    ({"region": "atlantis"}, "Not a valid choice"),
    ({"region": ""}, "Please choose a region."),
    ({"causes": ["peace", "world-domination"]}, "not a valid choice"),
    ({"language": "xx"}, "Not a valid choice"),
    ({"visibility": "secret"}, "Not a valid choice"),
    ({"location_visibility": "nobody"}, "Not a valid choice"),
    ({"cohosts": ["no-such-org"]}, "not a valid choice"),
    ({"cohosts": ["host"]}, "not a valid choice"),
    ({"title": ""}, "This field is required."),
    ({"title": "   \x00  "}, "could not be understood"),  # NUL never comes from typing
    ({"title": "x" * 201}, "Field cannot be longer than 200 characters."),
    ({"description": "x" * 20001}, "Field cannot be longer than 20000 characters."),
    ({"address": ""}, "Please give the address or meeting point."),
    ({"is_online": "y", "online_url": ""}, "Please give the meeting link."),
    ({"is_online": "y", "online_url": "javascript:alert(1)"}, "starting with https://"),
    ({"is_online": "y", "online_url": "https://"}, "starting with https://"),
]


@pytest.mark.parametrize(("overrides", "message"), HOSTILE, ids=[str(h[0])[:40] for h in HOSTILE])
def test_hostile_new_action_is_refused_and_nothing_written(
    client, auth, post_form, owner, overrides, message
):
    auth.login(owner)
    response = post_form("/events/new?org=host", event_form(**overrides))
    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()
    assert count_events() == 0


def test_hostile_edit_changes_nothing(client, auth, post_form, owner):
    org = db.session.scalar(
        select(factories.Organization).where(factories.Organization.slug == "host")
    )
    event = factories.make_event(org, title="Original", capacity=10)
    auth.login(owner)
    for overrides, _message in HOSTILE:
        response = post_form(f"/events/{event.id}/edit", event_form(**overrides))
        assert response.status_code == 400, overrides
    event = fresh(event)
    assert event.title == "Original" and event.capacity == 10 and event.sequence == 0


@pytest.mark.parametrize("token", [None, "forged", ""])
def test_missing_or_wrong_csrf_writes_nothing(client, auth, owner, token):
    auth.login(owner)
    data = event_form()
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/events/new?org=host", data=data)
    assert response.status_code == 400
    assert count_events() == 0


def test_script_in_title_is_escaped_and_in_description_sanitized(client, auth, post_form, owner):
    auth.login(owner)
    response = post_form(
        "/events/new?org=host",
        event_form(
            title="<script>alert('t')</script> Vigil",
            description="Hi <script>alert('d')</script> [x](javascript:alert(1)) "
            '<img src=x onerror="alert(2)">',
        ),
    )
    assert response.status_code == 302
    event = db.session.scalars(select(Event)).one()
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; Vigil" in html
    assert 'href="javascript:' not in html
    assert "<img src=x" not in html  # shown as text at most, never as a tag


def test_control_characters_are_dropped(client, auth, post_form, owner):
    auth.login(owner)
    response = post_form(
        "/events/new?org=host", event_form(title="Vigil at\r\n the\x07 square", city="Yafo\x1b")
    )
    assert response.status_code == 302
    event = db.session.scalars(select(Event)).one()
    assert event.title == "Vigil at the square"
    assert event.city == "Yafo"


def test_online_action_keeps_no_stale_address(client, auth, post_form, owner):
    auth.login(owner)
    post_form(
        "/events/new?org=host",
        event_form(is_online="y", online_url="https://meet.example.org/abc", address="Old Street"),
    )
    event = db.session.scalars(select(Event)).one()
    assert event.is_online and event.address == ""
    assert event.online_url == "https://meet.example.org/abc"


def test_cancel_message_too_long_is_refused(client, auth, post_form, owner):
    org = db.session.scalar(
        select(factories.Organization).where(factories.Organization.slug == "host")
    )
    event = factories.make_event(org)
    auth.login(owner)
    response = post_form(f"/events/{event.id}/cancel", {"message": "x" * 2001})
    assert response.status_code == 400
    assert fresh(event).status == "published"
