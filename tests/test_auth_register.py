"""Registering, confirming the address by the emailed link, and unique emails in any letter case."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from organizer.extensions import db
from organizer.models import User
from organizer.services import accounts
from organizer.services.errors import EmailTaken

from . import factories

PASSWORD = "a long enough passphrase"


def emailed_path(message, prefix: str) -> str:
    """The site path of the link in an email's plain-text part, as a reader would click it."""
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"http://localhost(" + re.escape(prefix) + r"[^\s]+)", text)
    assert match, text
    html = message.get_body(("html",)).get_content()
    assert match.group(0) in html
    return match.group(1)


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def register(post_form, email="Dana@Example.org", name="Dana Levi", password=PASSWORD, **extra):
    data = {"name": name, "email": email, "password": password, "confirm": password, **extra}
    return post_form("/auth/register", data)


def test_register_logs_in_and_confirms_by_the_emailed_link(client, post_form, mailbox):
    response = register(post_form)
    assert response.status_code == 302

    user = db.session.scalar(select(User))
    assert user.email == "dana@example.org"
    assert user.name == "Dana Levi"
    assert user.password_hash.startswith("scrypt:")
    assert check_password_hash(user.password_hash, PASSWORD)
    assert not user.email_confirmed

    page = client.get("/auth/profile")
    assert page.status_code == 200  # logged in straight away
    assert "Please confirm your email address" in page.text

    (message,) = mailbox.wait_for(1)
    assert message["To"] == "dana@example.org"
    assert "Confirm your email address" in message["Subject"]
    path = emailed_path(message, "/auth/confirm/")

    response = client.get(path)
    assert response.status_code == 302
    db.session.expire_all()
    confirmed_at = user.email_confirmed_at
    assert confirmed_at is not None
    assert "Please confirm your email address" not in client.get("/auth/profile").text

    # Confirming twice is harmless and keeps the first time.
    assert client.get(path).status_code == 302
    db.session.expire_all()
    assert user.email_confirmed_at == confirmed_at


def test_confirm_link_works_when_logged_out(app, client, post_form, mailbox):
    register(post_form)
    path = emailed_path(mailbox.wait_for(1)[0], "/auth/confirm/")
    other = app.test_client()
    response = other.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/login")
    db.session.expire_all()
    assert db.session.scalar(select(User)).email_confirmed


def test_confirmation_email_is_in_the_users_language(client, post_form, mailbox):
    client.get("/?lang=he")
    register(post_form)
    (message,) = mailbox.wait_for(1)
    assert db.session.scalar(select(User)).locale == "he"
    assert 'lang="he" dir="rtl"' in message.get_body(("html",)).get_content()


def test_expired_confirmation_link_explains_and_resends(app, post_form, mailbox, monkeypatch):
    register(post_form)
    path = emailed_path(mailbox.wait_for(1)[0], "/auth/confirm/")
    mailbox.clear()
    later = int(time.time()) + 8 * 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)

    visitor = app.test_client()  # e.g. opened on another device, not logged in
    response = visitor.get(path)
    assert response.status_code == 400
    assert "has expired" in response.text
    db.session.expire_all()
    assert not db.session.scalar(select(User)).email_confirmed

    token = re.search(r'name="token" type="hidden" value="([^"]+)"', response.text).group(1)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text).group(1)
    response = visitor.post("/auth/confirm/resend", data={"token": token, "csrf_token": csrf})
    assert response.status_code == 302

    (message,) = mailbox.wait_for(1)
    new_path = emailed_path(message, "/auth/confirm/")
    assert visitor.get(new_path).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(User)).email_confirmed


def test_tampered_confirmation_link_is_refused(client, post_form, mailbox):
    register(post_form)
    path = emailed_path(mailbox.wait_for(1)[0], "/auth/confirm/")
    response = client.get(path[:-3] + "xyz")
    assert response.status_code == 400
    assert "not valid" in response.text
    db.session.expire_all()
    assert not db.session.scalar(select(User)).email_confirmed


def test_logged_in_user_can_ask_for_a_new_link(client, auth, post_form, mailbox):
    user = factories.make_user(email_confirmed_at=None)
    auth.login(user)
    response = post_form("/auth/confirm/resend", {}, page="/auth/profile")
    assert response.status_code == 302
    (message,) = mailbox.wait_for(1)
    assert message["To"] == user.email
    assert client.get(emailed_path(message, "/auth/confirm/")).status_code == 302
    db.session.expire_all()
    assert user.email_confirmed


@pytest.mark.parametrize("second", ["dana@example.org", "DANA@EXAMPLE.ORG", " Dana@example.ORG "])
def test_same_email_in_another_case_is_refused_and_nothing_written(app, post_form, mailbox, second):
    assert register(post_form).status_code == 302
    mailbox.wait_for(1)
    mailbox.clear()

    visitor = app.test_client()
    token_page = visitor.get("/auth/register").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token_page).group(1)
    response = visitor.post(
        "/auth/register",
        data={
            "name": "Someone else",
            "email": second,
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.text
    assert user_count() == 1
    assert db.session.scalar(select(User)).name == "Dana Levi"
    time.sleep(0.2)
    assert mailbox.messages == []


def test_create_user_refuses_duplicates_in_any_case(app):
    accounts.create_user("Ali@Example.org", PASSWORD, "Ali")
    with pytest.raises(EmailTaken):
        accounts.create_user("ali@EXAMPLE.org", PASSWORD, "Another Ali")
    assert user_count() == 1


def test_register_redirects_to_a_local_next_only(post_form, mailbox):
    response = post_form(
        "/auth/register?next=/events/",
        {"name": "N", "email": "n@example.org", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.headers["Location"] == "/events/"
    response = post_form(
        "/auth/register?next=//evil.example",
        {"name": "M", "email": "m@example.org", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert "evil" not in response.headers["Location"]
