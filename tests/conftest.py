"""Fixtures: an app per test through the factory, a fresh database, a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import g
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db

from . import factories
from .helpers import empty_all_tables


def pytest_sessionstart(session) -> None:
    """Compile stale catalogues (as `make test` does), so a bare `pytest` tests real Hebrew and
    Arabic pages too. Each xdist worker may get here: the write is atomic."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).resolve().parent.parent.glob("translations/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with open(po, "rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        with open(partial, "wb") as f:
            write_mo(f, catalog)
        os.replace(partial, mo)


def _base_database_url() -> str:
    return TestingConfig.SQLALCHEMY_DATABASE_URI


@pytest.fixture(scope="session")
def database_url() -> str:
    """sqlite:// in memory by default; on PostgreSQL a fresh database per test worker."""
    url = make_url(_base_database_url())
    if url.get_backend_name() != "postgresql":
        return str(url)
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tag = os.environ.get("TEST_DB_TAG", "")  # lets two runs share one server side by side
    name = f"{url.database}_organizer_{tag + '_' if tag else ''}{worker_id}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


class _Mailbox:
    """Everything the local SMTP server received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in m["To"].lower()]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    handler = _Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture()
def mailbox(smtp_server) -> _Mailbox:
    _, handler = smtp_server
    handler.clear()
    return handler


def _fresh_request_globals() -> None:
    for key in list(g):
        g.pop(key)


@pytest.fixture()
def app(database_url, smtp_server):
    controller, _ = smtp_server

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        MAIL_SERVER = "127.0.0.1"
        MAIL_PORT = controller.port
        MAIL_BACKEND = "smtp"

    app = create_app(Config)
    # The app context below stays open, so every request would share one `g` (Flask-Login's
    # cached user, Flask-WTF's token) across requests and test clients: give each a clean one.
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    with app.app_context():
        db.create_all()
        yield app
        empty_all_tables()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client, url: str = "/auth/login") -> str:
    """Fetch a page and read its CSRF token, as a browser would."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


class AuthActions:
    def __init__(self, client) -> None:
        self._client = client

    def login(self, user_or_email, password: str = factories.PASSWORD):
        address = getattr(user_or_email, "email", user_or_email)
        token = csrf_token(self._client, "/auth/login")
        return self._client.post(
            "/auth/login",
            data={"email": address, "password": password, "csrf_token": token},
        )

    def logout(self):
        token = csrf_token(self._client, "/")
        return self._client.post("/auth/logout", data={"csrf_token": token})


@pytest.fixture()
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture()
def post_form(client):
    """POST a form with a valid CSRF token taken from `page` (defaults to the target URL)."""

    def post(url: str, data: dict, page: str | None = None, **kwargs):
        token = csrf_token(client, page or url)
        return client.post(url, data={**data, "csrf_token": token}, **kwargs)

    return post
