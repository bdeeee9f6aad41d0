"""Profile (name, phone, language, time zone) validated on the server; hostile input everywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import User

from . import factories

GOOD = {"name": "Noa Cohen", "phone": "+972 50-123-4567", "locale": "en", "timezone": ""}


def snapshot(user: User) -> tuple:
    db.session.expire_all()
    return (user.name, user.phone, user.locale, user.timezone, user.email, user.password_hash)


@pytest.fixture()
def user(auth):
    user = factories.make_user(email="noa@example.org", name="Noa")
    auth.login(user)
    return user


def test_profile_needs_login(client):
    response = client.get("/auth/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=%2Fauth%2Fprofile"


def test_profile_saves_name_phone_language_and_zone(client, user, post_form):
    page = client.get("/auth/profile").text
    for zone in ("Asia/Jerusalem", "Asia/Hebron", "Europe/London"):
        assert f'<option value="{zone}">' in page
    assert "עברית" in page and "العربية" in page

    response = post_form(
        "/auth/profile", {**GOOD, "locale": "he", "timezone": "America/Argentina/Buenos_Aires"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (user.name, user.phone, user.locale, user.timezone) == (
        "Noa Cohen",
        "+972 50-123-4567",
        "he",
        "America/Argentina/Buenos_Aires",  # not offered in the list, still a valid zone
    )
    assert 'lang="he" dir="rtl"' in client.get("/auth/profile").text


def test_empty_phone_and_zone_are_cleared(client, user, post_form):
    user.phone, user.timezone = "050", "UTC"
    db.session.commit()
    assert post_form("/auth/profile", GOOD | {"phone": "  "}).status_code == 302
    db.session.expire_all()
    assert user.phone is None and user.timezone is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "time zone"),
        ({"timezone": "../../etc/passwd"}, "time zone"),
        ({"timezone": "Asia/Jerusalem\x00"}, "could not be understood"),  # NUL: refused
        ({"timezone": "x" * 65}, "64"),
        ({"locale": "xx"}, "Not a valid choice"),
        ({"locale": ""}, "Not a valid choice"),
        ({"name": ""}, "required"),
        ({"name": "   "}, "required"),
        ({"name": "n" * 121}, "120"),
        ({"phone": "call me maybe"}, "digits"),
        ({"phone": "1" * 41}, "40"),
    ],
)
def test_bad_profile_input_writes_nothing(client, user, post_form, change, message):
    before = snapshot(user)
    response = post_form("/auth/profile", GOOD | change)
    if message is None:
        assert response.status_code == 302
        db.session.expire_all()
        assert user.timezone == "Asia/Jerusalem"
        return
    assert response.status_code == 400
    assert message in response.text
    assert snapshot(user) == before


def test_script_in_name_is_stored_as_typed_and_shown_escaped(client, user, post_form):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert post_form("/auth/profile", GOOD | {"name": hostile}).status_code == 302
    db.session.expire_all()
    assert user.name == hostile
    page = client.get("/auth/profile").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_wrong_csrf_token_is_refused_and_nothing_written(client, user):
    before = snapshot(user)
    for data in (GOOD | {"name": "Changed"}, GOOD | {"name": "Changed", "csrf_token": "forged"}):
        response = client.post("/auth/profile", data=data)
        assert response.status_code == 400
        assert "Your form expired" in response.text
    assert snapshot(user) == before


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id)))


REGISTER = {
    "name": "Dana",
    "email": "dana@example.org",
    "password": "a long enough passphrase",
    "confirm": "a long enough passphrase",
}


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"email": ""},
        {"password": "", "confirm": ""},
        {"name": "n" * 121},
        {"email": "a" * 250 + "@example.org"},
        {"email": "not-an-email"},
        {"email": "dana@example.org\r\nBcc: victim@example.org"},
        {"email": "dana@exam ple.org"},
        {"password": "short", "confirm": "short"},
        {"password": "p" * 129, "confirm": "p" * 129},
        {"confirm": "something else"},
        {"name": "\x00"},
        {"name": "Dana\x00", "email": "da\x00na@example.org"},
    ],
)
def test_hostile_registrations_write_nothing(client, post_form, mailbox, change):
    response = post_form("/auth/register", REGISTER | change)
    assert response.status_code == 400
    assert count_users() == 0
    assert client.get("/auth/profile").status_code == 302
    assert mailbox.messages == []


def test_register_with_wrong_csrf_token_writes_nothing(client):
    client.get("/auth/register")
    response = client.post("/auth/register", data=REGISTER | {"csrf_token": "forged"})
    assert response.status_code == 400
    response = client.post("/auth/register", data=REGISTER)
    assert response.status_code == 400
    assert count_users() == 0


def test_double_submitted_registration_keeps_one_account(post_form, mailbox):
    assert post_form("/auth/register", REGISTER).status_code == 302
    assert post_form("/auth/register", REGISTER).status_code == 400
    assert count_users() == 1


def test_script_in_registered_name_is_escaped_in_page_and_email(client, post_form, mailbox):
    post_form("/auth/register", REGISTER | {"name": "<script>alert(1)</script>"})
    assert "&lt;script&gt;" in client.get("/auth/profile").text
    (message,) = mailbox.wait_for(1)
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "data",
    [
        {"email": "", "password": ""},
        {"email": "x" * 300, "password": "whatever"},
        {"email": "noa@example.org\x00", "password": factories.PASSWORD},
        {"email": "noa@example.org", "password": "p" * 5000},
        {"email": "' OR 1=1 --", "password": "' OR 1=1 --"},
    ],
)
def test_hostile_logins_are_refused_without_errors(client, post_form, data):
    factories.make_user(email="noa@example.org")
    response = post_form("/auth/login", data)
    assert response.status_code == 400
    assert client.get("/auth/profile").status_code == 302


@pytest.mark.parametrize(
    "email", ["", "not-an-email", "x" * 300 + "@example.org", "noa@example.org\x00"]
)
def test_hostile_reset_requests_are_refused_without_errors(post_form, mailbox, email):
    response = post_form("/auth/reset", {"email": email})
    assert response.status_code in (302, 400)
    assert mailbox.messages == []
