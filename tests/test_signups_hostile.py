"""Hostile input on the sign-up form: clear 4xx messages, nothing written, no email sent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Signup

from . import factories
from .helpers import html_part


def signup_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Signup))


@pytest.fixture()
def event():
    return factories.make_event(capacity=5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "email": "a@example.org"}, "Please tell us your name."),
        ({"name": "   \t ", "email": "a@example.org"}, "Please tell us your name."),
        ({"name": "x" * 10_000, "email": "a@example.org"}, "under 120 characters"),
        ({"name": "Dana", "email": ""}, "Please enter your email address."),
        ({"name": "Dana", "email": "a@"}, "valid email address"),
        ({"name": "Dana", "email": "<script>@x"}, "valid email address"),
        ({"name": "Dana", "email": "no-at-sign.example.org"}, "valid email address"),
        ({"name": "Dana", "email": "x@y.org\r\nBcc: z@w.org"}, "valid email address"),
        ({"name": "Dana", "email": "x@y.org\nBcc: z@w.org"}, "valid email address"),
        ({"name": "Dana", "email": "a" * 250 + "@example.org"}, "too long"),
        ({"name": "Dana", "email": "a@example.org", "phone": "=cmd|' /C calc'!A0"}, "digits"),
        ({"name": "Dana", "email": "a@example.org", "phone": "1" * 41}, "under 40"),
    ],
)
def test_invalid_input_is_refused_with_a_message(post_form, mailbox, event, data, message):
    response = post_form(f"/events/{event.id}/signup", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert signup_count() == 0
    assert mailbox.wait_for(1, timeout=0.2) == []


def test_script_in_name_is_stored_as_text_and_escaped(client, post_form, auth, mailbox):
    owner = factories.make_user()
    event = factories.make_event(factories.make_org(owner=owner))
    name = '<script>alert("x")</script>\u202e'
    response = post_form(f"/events/{event.id}/signup", {"name": name, "email": "s@example.org"})
    assert response.status_code == 200
    (message,) = mailbox.wait_for(1)
    html = html_part(message)
    assert "<script>" not in html and "&lt;script&gt;" in html
    auth.login(owner)
    roster = client.get(f"/events/{event.id}/roster").get_data(as_text=True)
    assert "<script>alert" not in roster and "&lt;script&gt;" in roster


def test_control_characters_are_dropped_from_the_name(post_form, event):
    response = post_form(
        f"/events/{event.id}/signup", {"name": "Dana\r\nBcc: x\x07", "email": "d@example.org"}
    )
    assert response.status_code == 200
    assert db.session.scalar(select(Signup.name)) == "Dana Bcc: x"


def test_a_nul_byte_is_refused_and_nothing_written(post_form, event):
    response = post_form(f"/events/{event.id}/signup", {"name": "Da\x00na", "email": "d@x.org"})
    assert response.status_code == 400
    assert signup_count() == 0


def test_wrong_or_missing_csrf_is_400(client, event):
    for data in (
        {"name": "A", "email": "a@example.org", "csrf_token": "forged"},
        {"name": "A", "email": "a@example.org"},
    ):
        response = client.post(f"/events/{event.id}/signup", data=data)
        assert response.status_code == 400
        assert "form expired" in response.get_data(as_text=True)
    assert signup_count() == 0


def test_unknown_and_draft_actions_are_404(client, post_form, event):
    draft = factories.make_event(status="draft")
    assert client.get("/events/999999/signup").status_code == 404
    assert client.get(f"/events/{draft.id}/signup").status_code == 404
    for url in ("/events/999999/signup", f"/events/{draft.id}/signup"):
        response = post_form(url, {"name": "A", "email": "a@example.org"}, page="/auth/login")
        assert response.status_code == 404
    assert client.get("/events/not-a-number/signup").status_code == 404
    assert signup_count() == 0


def test_double_submit_keeps_one_signup(client, event, mailbox):
    from .conftest import csrf_token

    token = csrf_token(client, f"/events/{event.id}/signup")
    data = {"name": "Twice", "email": "twice@example.org", "csrf_token": token}
    first = client.post(f"/events/{event.id}/signup", data=data)
    second = client.post(f"/events/{event.id}/signup", data=data)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_data(as_text=True) == first.get_data(as_text=True)
    assert signup_count() == 1


def test_unexpected_fields_and_methods(client, post_form, event):
    response = post_form(
        f"/events/{event.id}/signup",
        {"name": "Eve", "email": "eve@example.org", "status": "confirmed", "user_id": "1"},
    )
    assert response.status_code == 200
    signup = db.session.scalar(select(Signup))
    assert signup.user_id is None
    assert client.put(f"/events/{event.id}/signup").status_code == 405
