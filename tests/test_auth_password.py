"""Forgotten and changed passwords: emailed single-use links, expiry, and other sessions ended."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous.timed import TimestampSigner
from werkzeug.security import check_password_hash

from organizer.extensions import db
from organizer.services import accounts
from organizer.services.errors import WrongPassword

from . import factories
from .conftest import AuthActions
from .test_auth_register import emailed_path

NEW = "a brand new passphrase"


def ask_reset(post_form, email):
    return post_form("/auth/reset", {"email": email})


def is_logged_in(client) -> bool:
    return client.get("/auth/profile").status_code == 200


def choose(post_form, path, password=NEW, confirm=None, page=None):
    return post_form(path, {"password": password, "confirm": confirm or password}, page=page)


def test_reset_flow_by_emailed_link(app, client, auth, post_form, mailbox):
    user = factories.make_user(email="noa@example.org")
    response = ask_reset(post_form, "NOA@example.org")
    assert response.status_code == 302

    (message,) = mailbox.wait_for(1)
    assert message["To"] == "noa@example.org"
    path = emailed_path(message, "/auth/reset/")
    assert client.get(path).status_code == 200

    response = choose(post_form, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    db.session.expire_all()
    assert check_password_hash(user.password_hash, NEW)

    assert auth.login(user).status_code == 400  # the old password no longer works
    assert auth.login(user, NEW).status_code == 302


def test_reset_link_works_only_once(client, post_form, mailbox):
    user = factories.make_user(email="noa@example.org")
    ask_reset(post_form, "noa@example.org")
    path = emailed_path(mailbox.wait_for(1)[0], "/auth/reset/")
    assert choose(post_form, path).status_code == 302

    response = client.get(path)
    assert response.status_code == 400
    assert "already used" in response.text
    token = client.get("/auth/reset").text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token).group(1)
    response = client.post(
        path, data={"password": "x" * 20, "confirm": "x" * 20, "csrf_token": csrf}
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert check_password_hash(user.password_hash, NEW)


def test_an_older_link_dies_with_the_newer_one(client, post_form, mailbox):
    factories.make_user(email="noa@example.org")
    ask_reset(post_form, "noa@example.org")
    ask_reset(post_form, "noa@example.org")
    first, second = (emailed_path(m, "/auth/reset/") for m in mailbox.wait_for(2))
    assert choose(post_form, second).status_code == 302
    assert client.get(first).status_code == 400


def test_expired_reset_link_is_refused(client, post_form, mailbox, monkeypatch):
    user = factories.make_user(email="noa@example.org")
    ask_reset(post_form, "noa@example.org")
    path = emailed_path(mailbox.wait_for(1)[0], "/auth/reset/")
    later = int(time.time()) + 2 * 3600 + 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)

    response = client.get(path)
    assert response.status_code == 400
    assert "expired" in response.text
    assert choose(post_form, path, page="/auth/reset").status_code == 400
    db.session.expire_all()
    assert check_password_hash(user.password_hash, factories.PASSWORD)


def test_reset_link_expiry_follows_the_config(app, client):
    user = factories.make_user()
    token = accounts.reset_token(user)
    app.config["RESET_PASSWORD_MAX_AGE"] = -1
    response = client.get(f"/auth/reset/{token}")
    assert response.status_code == 400
    assert "expired" in response.text


def test_tampered_or_foreign_tokens_are_refused(client):
    user = factories.make_user()
    confirm = accounts.confirmation_token(user)  # signed, but for another purpose
    assert client.get(f"/auth/reset/{confirm}").status_code == 400
    assert client.get("/auth/reset/not-a-token").status_code == 400
    assert client.get(f"/auth/reset/{accounts.reset_token(user)}x").status_code == 400


def test_forgot_password_does_not_reveal_who_has_an_account(client, post_form, mailbox):
    factories.make_user(email="noa@example.org")
    known = ask_reset(post_form, "noa@example.org")
    known_page = client.get(known.headers["Location"]).text
    unknown = ask_reset(post_form, "nobody@example.org")
    unknown_page = client.get(unknown.headers["Location"]).text

    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]

    def without_values(html: str) -> str:
        return re.sub(r'value="[^"]*"', "", html)

    assert without_values(known_page) == without_values(unknown_page)
    assert "If an account uses that address" in known_page
    time.sleep(0.2)
    assert [m["To"] for m in mailbox.wait_for(1)] == ["noa@example.org"]


def test_weak_new_password_keeps_the_link_usable(client, post_form, mailbox):
    user = factories.make_user(email="noa@example.org")
    ask_reset(post_form, "noa@example.org")
    path = emailed_path(mailbox.wait_for(1)[0], "/auth/reset/")
    response = choose(post_form, path, password="short")
    assert response.status_code == 400
    assert "between 8 and 128" in response.text
    response = choose(post_form, path, password=NEW, confirm=NEW + "!")
    assert response.status_code == 400
    db.session.expire_all()
    assert check_password_hash(user.password_hash, factories.PASSWORD)
    assert choose(post_form, path).status_code == 302


def test_reset_confirms_the_address_and_ends_other_sessions(app, post_form, mailbox):
    user = factories.make_user(email="noa@example.org", email_confirmed_at=None)
    elsewhere = app.test_client()
    AuthActions(elsewhere).login(user)
    assert is_logged_in(elsewhere)

    ask_reset(post_form, "noa@example.org")
    choose(post_form, emailed_path(mailbox.wait_for(1)[0], "/auth/reset/"))
    db.session.expire_all()
    assert user.email_confirmed
    assert not is_logged_in(elsewhere)


def test_change_password_ends_other_sessions_but_not_this_one(app, client, auth, post_form):
    user = factories.make_user()
    auth.login(user)
    phone = app.test_client()
    AuthActions(phone).login(user)
    laptop = app.test_client()
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', laptop.get("/auth/login").text
    ).group(1)
    laptop.post(
        "/auth/login",
        data={
            "email": user.email,
            "password": factories.PASSWORD,
            "remember": "y",
            "csrf_token": token,
        },
    )
    remembered = laptop.get_cookie("remember_token").value
    assert is_logged_in(phone) and is_logged_in(laptop)

    response = post_form(
        "/auth/password",
        {"current_password": factories.PASSWORD, "password": NEW, "confirm": NEW},
    )
    assert response.status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(phone)
    assert not is_logged_in(laptop)

    restarted = app.test_client()  # the old remember-me cookie no longer logs anyone in
    restarted.set_cookie("remember_token", remembered)
    assert not is_logged_in(restarted)

    db.session.expire_all()
    assert check_password_hash(user.password_hash, NEW)


def test_change_password_keeps_remember_me_on_this_device(app, client, post_form):
    user = factories.make_user()
    post_form(
        "/auth/login",
        {"email": user.email, "password": factories.PASSWORD, "remember": "y"},
    )
    old = client.get_cookie("remember_token").value
    post_form(
        "/auth/password",
        {"current_password": factories.PASSWORD, "password": NEW, "confirm": NEW},
    )
    new = client.get_cookie("remember_token").value
    assert new != old
    restarted = app.test_client()
    restarted.set_cookie("remember_token", new)
    assert is_logged_in(restarted)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"current_password": "not my password", "password": NEW, "confirm": NEW}, "not your"),
        ({"current_password": factories.PASSWORD, "password": "short", "confirm": "short"}, "8"),
        (
            {"current_password": factories.PASSWORD, "password": "y" * 129, "confirm": "y" * 129},
            "128",
        ),
        (
            {"current_password": factories.PASSWORD, "password": NEW, "confirm": "other one!"},
            "match",
        ),
        ({"current_password": "", "password": "", "confirm": ""}, "required"),
    ],
)
def test_change_password_refuses_bad_input(client, auth, post_form, data, message):
    user = factories.make_user()
    auth.login(user)
    token = user.session_token
    response = post_form("/auth/password", data)
    assert response.status_code == 400
    assert message in response.text
    db.session.expire_all()
    assert check_password_hash(user.password_hash, factories.PASSWORD)
    assert user.session_token == token


def test_change_password_service_checks_the_old_password(app):
    user = factories.make_user()
    with pytest.raises(WrongPassword):
        accounts.change_password(user, "wrong", NEW)
    accounts.change_password(user, factories.PASSWORD, NEW)
    assert accounts.authenticate(user.email, NEW) == user


def test_password_pages_need_login(client):
    assert client.get("/auth/password").headers["Location"].startswith("/auth/login?next=")
