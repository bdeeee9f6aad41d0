"""Rate limits on the forms anyone can post: per client address, failed logins also per account
tried; a 429 page in the user's language; X-Forwarded-For trusted only when configured."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Event

from . import factories
from .conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TOKEN_RE = re.compile(r'name="embed_token" value="([^"]+)"')
ACTION_RE = re.compile(r'<form method="post" action="([^"]+)" class="signup-form">')


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


WRONG = "wrong password"  # noqa: S105


def login(client, email, password=WRONG, address="192.0.2.1"):
    token = csrf_token(client, "/auth/login")
    return client.post(
        "/auth/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_too_many(response, text: str = "Too many attempts") -> None:
    assert response.status_code == 429
    assert text in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 3600


# ---- logging in ----------------------------------------------------------------------------


def test_failed_logins_are_limited_per_address(app, client):
    app.config["AUTH_RATELIMIT"] = "3 per minute"
    user = factories.make_user(email="noa@example.org")
    for _ in range(3):
        assert login(client, "noa@example.org").status_code == 400

    assert_too_many(login(client, "noa@example.org"))
    # Even the right password waits: the limit is checked before the password is.
    assert login(client, user.email, factories.PASSWORD).status_code == 429
    # Showing the form is free, and another machine is not affected.
    assert client.get("/auth/login").status_code == 200
    assert login(client, "other@example.org", address="192.0.2.2").status_code == 400


def test_successful_logins_cost_nothing(app):
    app.config["AUTH_RATELIMIT"] = "2 per minute"
    app.config["LOGIN_EMAIL_RATELIMIT"] = "2 per minute"
    user = factories.make_user()
    for _ in range(4):  # four browsers, one after another, from one address
        assert login(app.test_client(), user.email, factories.PASSWORD).status_code == 302


def test_one_account_cannot_be_guessed_at_from_many_addresses(app, client):
    app.config["LOGIN_EMAIL_RATELIMIT"] = "3 per minute"
    factories.make_user(email="noa@example.org")
    for n in range(3):
        assert login(client, "noa@example.org", address=f"198.51.100.{n}").status_code == 400

    # Any letter case and spacing is the same account.
    assert_too_many(login(client, "  NOA@example.org ", address="198.51.100.9"))
    # Someone else's account from that address is still fine.
    assert login(client, "dan@example.org", address="198.51.100.9").status_code == 400


def test_the_429_page_speaks_the_users_language(app, client):
    app.config["AUTH_RATELIMIT"] = "1 per minute"
    client.get("/?lang=he")  # remembered in the language cookie
    login(client, "noa@example.org")
    response = login(client, "noa@example.org")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert 'lang="he"' in page and "יותר מדי ניסיונות" in page


# ---- the other forms -----------------------------------------------------------------------


def _register(client, n):
    token = csrf_token(client, "/auth/register")
    data = {
        "name": f"New {n}",
        "email": f"new{n}@example.org",
        "password": "a long enough passphrase",
        "confirm": "a long enough passphrase",
        "csrf_token": token,
    }
    return client.post("/auth/register", data=data)


def _forgot(client, n):
    token = csrf_token(client, "/auth/reset")
    return client.post("/auth/reset", data={"email": f"who{n}@example.org", "csrf_token": token})


def _subscribe(client, n):
    token = csrf_token(client, "/digest/subscribe")
    data = {"email": f"box{n}@example.org", "csrf_token": token}
    return client.post("/digest/subscribe", data=data)


def _signup(client, n):
    event = db.session.scalar(select(Event).where(Event.title == "Limited"))
    token = csrf_token(client, f"/events/{event.id}")
    data = {"name": f"Volunteer {n}", "email": f"v{n}@example.org", "csrf_token": token}
    return client.post(f"/events/{event.id}/signup", data=data)


def _shift_signup(client, n):
    event = db.session.scalar(select(Event).where(Event.title == "Shifts"))
    token = csrf_token(client, f"/events/{event.id}")
    data = {
        "name": f"Volunteer {n}",
        "email": f"s{n}@example.org",
        "shifts": [event.shifts[0].id],
        "csrf_token": token,
    }
    return client.post(f"/events/{event.id}/signup", data=data)


def _embed_signup(client, n):
    event = db.session.scalar(select(Event).where(Event.title == "Limited"))
    page = client.get(f"/events/{event.id}/embed").get_data(as_text=True)
    action = html.unescape(ACTION_RE.search(page).group(1))
    data = {"name": f"Framed {n}", "email": f"f{n}@example.org"}
    return client.post(action, data={**data, "embed_token": TOKEN_RE.search(page).group(1)})


@pytest.mark.parametrize(
    "setting, post, ok",
    [
        ("AUTH_RATELIMIT", _register, 302),
        ("AUTH_RATELIMIT", _forgot, 302),
        ("SIGNUP_RATELIMIT", _subscribe, 302),
        ("SIGNUP_RATELIMIT", _signup, 200),
        ("SIGNUP_RATELIMIT", _shift_signup, 200),
        ("SIGNUP_RATELIMIT", _embed_signup, 200),
    ],
    ids=["register", "reset", "subscribe", "signup", "shifts", "embed"],
)
def test_forms_are_limited_per_address_and_write_nothing_past_it(app, setting, post, ok):
    event = factories.make_event(title="Limited")
    factories.make_shift(factories.make_event(title="Shifts"), name="Morning")
    db.session.expire_all()
    assert event.id
    app.config[setting] = "2 per minute"
    client = app.test_client()  # a fresh one: registering logs in
    for n in range(2):
        assert post(client, n).status_code == ok
    before = row_counts()

    response = post(client, 9)

    assert_too_many(response)
    assert row_counts() == before
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    assert post(other, 10).status_code == ok


def test_the_embeds_429_can_still_be_framed(app):
    event = factories.make_event(title="Limited")
    app.config["SIGNUP_RATELIMIT"] = "1 per minute"
    client = app.test_client(use_cookies=False)
    _embed_signup(client, 1)
    response = _embed_signup(client, 2)
    assert response.status_code == 429
    assert "frame-ancestors *;" in response.headers["Content-Security-Policy"]
    assert event.id


def test_reset_emails_to_one_inbox_are_limited_from_any_address(app, client):
    app.config["LOGIN_EMAIL_RATELIMIT"] = "2 per minute"
    for n in range(2):
        token = csrf_token(client, "/auth/reset")
        response = client.post(
            "/auth/reset",
            data={"email": "victim@example.org", "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        )
        assert response.status_code == 302
    token = csrf_token(client, "/auth/reset")
    response = client.post(
        "/auth/reset",
        data={"email": "Victim@example.org", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "198.51.100.50"},
    )
    assert_too_many(response)


# ---- the client address behind a proxy -----------------------------------------------------


def test_forwarded_for_is_ignored_unless_configured(app, client):
    app.config["AUTH_RATELIMIT"] = "2 per minute"
    for n in range(2):
        token = csrf_token(client, "/auth/login")
        client.post(
            "/auth/login",
            data={"email": "a@example.org", "password": "nope nope", "csrf_token": token},
            headers={"X-Forwarded-For": f"10.9.9.{n}"},
        )
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login",
        data={"email": "a@example.org", "password": "nope nope", "csrf_token": token},
        headers={"X-Forwarded-For": "10.9.9.99"},  # a made-up address buys no new attempts
    )
    assert response.status_code == 429


def test_behind_a_configured_proxy_each_forwarded_client_counts_alone(app):
    class Proxied(TestingConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        PROXY_FIX_X_FOR = 1
        AUTH_RATELIMIT = "2 per minute"

    proxied = create_app(Proxied)
    client = proxied.test_client()

    def attempt(forwarded: str) -> int:
        token = csrf_token(client, "/auth/login")
        response = client.post(
            "/auth/login",
            data={"email": "a@example.org", "password": "nope nope", "csrf_token": token},
            headers={"X-Forwarded-For": forwarded},
        )
        return response.status_code

    with proxied.app_context():
        db.create_all()  # a new in-memory SQLite database; on PostgreSQL the fixture's tables
        # The proxy appends the real client: only the last (trusted) hop counts.
        assert [attempt(f"6.6.6.{n}, 192.0.2.10") for n in range(3)] == [400, 400, 429]
        assert attempt("192.0.2.11") == 400
        db.session.remove()
        db.engine.dispose()


def test_limits_and_storage_come_from_the_environment():
    code = (
        "import config; c = config.Config; "
        "print(c.RATELIMIT_STORAGE_URI, c.AUTH_RATELIMIT, c.SIGNUP_RATELIMIT, c.PROXY_FIX_X_FOR)"
    )
    env = {
        **os.environ,
        "REDIS_URL": "redis://127.0.0.1:6379/3",
        "AUTH_RATELIMIT": "5 per minute",
        "SIGNUP_RATELIMIT": "7 per hour",
        "PROXY_FIX_X_FOR": "1",
    }
    env.pop("RATELIMIT_STORAGE_URI", None)
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["redis://127.0.0.1:6379/3", "5", "per", "minute", "7", "per", "hour", "1"]
    default = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import config; print(config.Config.RATELIMIT_STORAGE_URI)"],
        env={k: v for k, v in env.items() if k not in ("REDIS_URL",)},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert default.stdout.strip() == "memory://"


def test_with_redis_every_worker_shares_the_counts(app):
    """Two app processes (two gunicorn workers) on one Redis: attempts made through one count
    in the other. CI runs Redis; without one this test is skipped."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/6")
    try:
        Redis.from_url(url).ping()
    except RedisConnectionError:
        pytest.skip(f"no Redis at {url}")

    class Shared(TestingConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        RATELIMIT_STORAGE_URI = url
        RATELIMIT_KEY_PREFIX = f"test-{uuid.uuid4().hex}"  # this run's own counts
        AUTH_RATELIMIT = "2 per minute"

    def attempt(client) -> int:
        token = csrf_token(client, "/auth/login")
        data = {"email": "a@example.org", "password": WRONG, "csrf_token": token}
        return client.post("/auth/login", data=data).status_code

    statuses = []
    for _worker in range(2):
        worker = create_app(Shared)  # a fresh process: nothing counted in its memory
        with worker.app_context():
            db.create_all()  # a new in-memory SQLite database; on PostgreSQL the fixture's
            client = worker.test_client()
            statuses += [attempt(client), attempt(client)]
            db.session.remove()
            db.engine.dispose()
    assert statuses == [400, 400, 429, 429]
