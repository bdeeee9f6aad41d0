"""Sessions and passwords (OWASP ASVS level 2): a new session at login, logging out ends the
account's sessions everywhere, common passwords refused, oversized requests a clear 413."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from organizer.extensions import db
from organizer.models import Signup, User
from organizer.services import accounts
from organizer.services.errors import InvalidAccountData

from . import factories
from .conftest import AuthActions, csrf_token

GOOD = "a long enough passphrase"  # noqa: S105


def is_logged_in(client) -> bool:
    return client.get("/auth/profile").status_code == 200


def login(client, user, remember: bool = False):
    data = {"email": user.email, "password": factories.PASSWORD, "csrf_token": csrf_token(client)}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/login", data=data)
    assert response.status_code == 302
    return response


# ---- a new session at login ----------------------------------------------------------------


def test_a_csrf_token_from_before_login_is_void_after_it(client):
    """A token (or session) planted before login cannot be used to act as the account."""
    user = factories.make_user()
    before = csrf_token(client, "/auth/login")
    with client.session_transaction() as session:
        planted = dict(session)
    login(client, user)
    with client.session_transaction() as session:
        assert session.get("csrf_token") != planted.get("csrf_token")
    assert client.post("/auth/logout", data={"csrf_token": before}).status_code == 400
    assert is_logged_in(client)


# ---- logging out ends every session of the account -----------------------------------------


def test_logout_ends_the_accounts_other_sessions_and_remember_me_cookies(app, client):
    user = factories.make_user()
    login(client, user)
    phone = app.test_client()
    login(phone, user, remember=True)
    remembered = phone.get_cookie("remember_token").value
    old_token = user.session_token
    assert is_logged_in(client) and is_logged_in(phone)

    AuthActions(client).logout()

    assert not is_logged_in(client)
    assert not is_logged_in(phone)
    restarted = app.test_client()  # the phone's browser restarted: only its remember cookie left
    restarted.set_cookie("remember_token", remembered)
    assert not is_logged_in(restarted)
    db.session.expire_all()
    assert user.session_token != old_token
    # And logging in again works as before.
    login(client, user)
    assert is_logged_in(client)


def test_a_stolen_session_cookie_dies_with_logout(app, client):
    user = factories.make_user()
    login(client, user)
    stolen = client.get_cookie("session").value
    AuthActions(client).logout()
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert not is_logged_in(thief)


def test_logging_out_while_logged_out_changes_nothing(client):
    user = factories.make_user()
    token = user.session_token
    response = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    db.session.expire_all()
    assert user.session_token == token


# ---- passwords ---------------------------------------------------------------------------------

COMMON = ["password", "Password1", "qwertyuiop", "iloveyou", "12345678", " Sunshine "]


@pytest.mark.parametrize("password", ["password", "PASSWORD1", "1qaz2wsx", "trustno1"])
def test_the_service_refuses_common_passwords(app, password):
    assert accounts.is_common_password(password)
    with pytest.raises(InvalidAccountData):
        accounts.create_user("noa@example.org", password, "Noa")
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    "password", [GOOD, "correct horse battery staple", "zmanim-shel-shalom", "اللغة العربية جميلة"]
)
def test_long_passwords_need_no_digits_or_capitals(app, password):
    assert not accounts.is_common_password(password)
    assert accounts.create_user(f"u{len(password)}@example.org", password, "U") is not None


@pytest.mark.parametrize("password", COMMON)
def test_registration_refuses_a_common_password_with_a_clear_message(client, post_form, password):
    response = post_form(
        "/auth/register",
        {"name": "Noa", "email": "noa@example.org", "password": password, "confirm": password},
    )
    assert response.status_code == 400
    assert "one of the most common passwords" in response.text
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_short_password_gets_the_length_message_only(client, post_form):
    response = post_form(
        "/auth/register",
        {"name": "Noa", "email": "noa@example.org", "password": "123456", "confirm": "123456"},
    )
    assert response.status_code == 400
    assert "between 8 and 128" in response.text
    assert "most common" not in response.text


def test_registration_refusal_speaks_hebrew(client, post_form):
    client.get("/?lang=he")
    response = post_form(
        "/auth/register",
        {"name": "Noa", "email": "noa@example.org", "password": "iloveyou", "confirm": "iloveyou"},
    )
    assert response.status_code == 400
    assert 'lang="he"' in response.text


def test_change_password_refuses_a_common_one(client, auth, post_form):
    user = factories.make_user()
    auth.login(user)
    token = user.session_token
    response = post_form(
        "/auth/password",
        {"current_password": factories.PASSWORD, "password": "Password1", "confirm": "Password1"},
    )
    assert response.status_code == 400
    assert "one of the most common passwords" in response.text
    db.session.expire_all()
    assert check_password_hash(user.password_hash, factories.PASSWORD)
    assert user.session_token == token


def test_reset_refuses_a_common_one(app, client, post_form):
    user = factories.make_user()
    with app.test_request_context():
        path = f"/auth/reset/{accounts.reset_token(user)}"
    response = post_form(path, {"password": "sunshine", "confirm": "sunshine"})
    assert response.status_code == 400
    assert "one of the most common passwords" in response.text
    db.session.expire_all()
    assert check_password_hash(user.password_hash, factories.PASSWORD)
    assert post_form(path, {"password": GOOD, "confirm": GOOD}).status_code == 302


# ---- request size ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, text", [("en", "What you sent is too large."), ("he", "גדול מדי")])
def test_a_huge_post_is_a_413_in_the_users_language(app, client, lang, text):
    event = factories.make_event()
    client.get(f"/?lang={lang}")
    token = csrf_token(client, f"/events/{event.id}")
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        f"/events/{event.id}/signup",
        data={"name": huge, "email": "dana@example.org", "csrf_token": token},
    )
    assert response.status_code == 413
    assert text in response.text and f'lang="{lang}"' in response.text
    assert db.session.scalar(select(func.count()).select_from(Signup)) == 0


def test_a_huge_upload_to_the_api_is_a_413_too(app, client):
    response = client.post(
        "/api/v1/events",
        data=b"{" + b" " * (app.config["MAX_CONTENT_LENGTH"] + 1) + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413
