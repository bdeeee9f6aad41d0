"""Logging in and out: one generic error, remember me, a fresh session, `next` kept on site."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import pytest

from organizer.services import accounts

from . import factories
from .conftest import csrf_token


def login(client, email, password=factories.PASSWORD, url="/auth/login", **extra):
    token = csrf_token(client, "/auth/login")
    return client.post(
        url, data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def is_logged_in(client) -> bool:
    return client.get("/auth/profile").status_code == 200


def test_login_and_logout(client, auth):
    user = factories.make_user(email="noa@example.org")
    assert not is_logged_in(client)

    response = auth.login(user)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)
    assert "Log out" in client.get("/").text

    response = auth.logout()
    assert response.status_code == 302
    assert not is_logged_in(client)


def test_email_is_matched_without_regard_to_case(client):
    factories.make_user(email="noa@example.org")
    assert login(client, "  NOA@Example.ORG ").status_code == 302
    assert is_logged_in(client)


@pytest.mark.parametrize(
    "email, password",
    [("noa@example.org", "wrong password"), ("nobody@example.org", factories.PASSWORD)],
)
def test_wrong_credentials_get_one_generic_message(client, email, password):
    factories.make_user(email="noa@example.org")
    response = login(client, email, password)
    assert response.status_code == 400
    assert "That email and password do not match an account." in response.text
    assert not is_logged_in(client)


def test_wrong_password_and_unknown_email_read_the_same(client):
    factories.make_user(email="noa@example.org")
    first = login(client, "noa@example.org", "wrong password")
    second = login(client, "nobody@example.org", "wrong password")
    assert first.status_code == second.status_code

    def without_values(html: str) -> str:  # the typed address and the CSRF token differ
        return re.sub(r'value="[^"]*"', "", html)

    assert without_values(first.text) == without_values(second.text)


def test_unknown_account_still_costs_a_hash_check(app, monkeypatch):
    calls = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    assert accounts.authenticate("nobody@example.org", "whatever") is None
    assert accounts.authenticate("not an email", "whatever") is None
    assert len(calls) == 2


def test_unconfirmed_users_can_log_in(client):
    factories.make_user(email="new@example.org", email_confirmed_at=None)
    assert login(client, "new@example.org").status_code == 302
    assert "Please confirm your email address" in client.get("/auth/profile").text


def test_remember_me_sets_a_remember_cookie_that_restores_the_login(app, client):
    factories.make_user(email="noa@example.org")
    login(client, "noa@example.org", remember="y")
    remember = client.get_cookie("remember_token")
    assert remember is not None
    assert remember.http_only

    # A browser restarted: the session cookie is gone, the remember cookie is not.
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert is_logged_in(fresh)


def test_without_remember_me_there_is_no_remember_cookie(client):
    factories.make_user(email="noa@example.org")
    login(client, "noa@example.org")
    assert client.get_cookie("remember_token") is None


def test_logout_clears_the_remember_cookie(client, auth):
    factories.make_user(email="noa@example.org")
    login(client, "noa@example.org", remember="y")
    assert client.get_cookie("remember_token") is not None
    auth.logout()
    assert client.get_cookie("remember_token") is None
    assert not is_logged_in(client)


def test_logout_is_post_only_and_csrf_protected(client, auth):
    user = factories.make_user()
    auth.login(user)
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400
    assert client.post("/auth/logout", data={"csrf_token": "forged"}).status_code == 400
    assert is_logged_in(client)


def test_login_starts_a_fresh_session(client):
    user = factories.make_user(email="noa@example.org")
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "noa@example.org")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:{user.session_token}"


def test_next_redirects_within_the_site(client):
    factories.make_user(email="noa@example.org")
    response = client.get("/auth/profile")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url == "/auth/login?next=%2Fauth%2Fprofile"
    response = login(client, "noa@example.org", url=login_url)
    assert response.headers["Location"] == "/auth/profile"


def test_next_from_the_form_field_is_honoured(client):
    factories.make_user(email="noa@example.org")
    response = login(client, "noa@example.org", next="/events/?region=jerusalem")
    assert response.headers["Location"] == "/events/?region=jerusalem"


HOSTILE_NEXT = [
    "https://evil.example",
    "https://evil.example/auth/login",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "http:evil.example",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
]


def _assert_local(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location
    assert "\\" not in location and "evil" not in location and "script" not in location.lower()


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leaves_the_site(client, target):
    factories.make_user(email="noa@example.org")
    response = login(client, "noa@example.org", url="/auth/login?next=" + quote(target, safe=""))
    assert response.status_code == 302
    _assert_local(response.headers["Location"])


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_in_the_form_never_leaves_the_site(client, target):
    factories.make_user(email="noa@example.org")
    response = login(client, "noa@example.org", next=target)
    assert response.status_code == 302
    _assert_local(response.headers["Location"])


def test_logged_in_visit_to_login_goes_on_but_not_off_site(client, auth):
    auth.login(factories.make_user())
    _assert_local(client.get("/auth/login?next=//evil.example").headers["Location"])
    assert client.get("/auth/login?next=/events/").headers["Location"] == "/events/"
