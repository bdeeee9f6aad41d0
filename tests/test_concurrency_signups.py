"""Capacity is never exceeded under concurrent sign-ups, through a real multi-process server.

gunicorn runs 4 sync worker processes of `server_app()` below, against a SQLite file (where
SELECT ... FOR UPDATE does nothing) and against a fresh PostgreSQL database; 40 threads post
sign-ups at the same moment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Organization

from . import factories

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
URL_ENV = "ORGANIZER_CONCURRENCY_DATABASE_URL"
DEFAULT_PG = "postgresql://postgres@127.0.0.1/test"
WORKERS = 4


class ServerConfig(TestingConfig):
    """The gunicorn workers' settings: the database the test prepared, no CSRF, mail discarded."""

    SQLALCHEMY_DATABASE_URI = os.environ.get(URL_ENV, "sqlite://")
    WTF_CSRF_ENABLED = False
    MAIL_SERVER = ""
    MAIL_BACKEND = "dummy"


RACE_WINDOW = 0.02  # seconds


def server_app():
    """The factory gunicorn calls: `tests.test_concurrency_signups:server_app()`.

    Counting a roster is made slow, which widens the window between reading the number of
    places taken and taking one: without the roster lock, the test then fails every time.
    """
    app = create_app(ServerConfig)
    with app.app_context():
        sa_event.listen(db.engine, "after_cursor_execute", _slow_roster_count)
    return app


def _slow_roster_count(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip().upper().startswith("SELECT COUNT(") and "signups" in statement:
        time.sleep(RACE_WINDOW)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_base_url() -> str:
    for candidate in (os.environ.get("TEST_DATABASE_URL"), os.environ.get("DATABASE_URL")):
        if candidate and candidate.startswith(("postgres://", "postgresql")):
            return candidate
    return DEFAULT_PG


def _sqlalchemy_url(url: str) -> str:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def _fresh_postgres_database() -> Iterator[str]:
    """A database of its own, dropped afterwards; skips when no PostgreSQL answers."""
    base = make_url(_sqlalchemy_url(_postgres_base_url()))
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"organizer_concurrency_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable: {exc.orig}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Server:
    base_url: str
    database_url: str
    make_event: Callable[..., int]

    def statuses(self, event_id: int) -> Counter:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT status, count(*) FROM signups WHERE event_id = :id GROUP BY status"
                    ),
                    {"id": event_id},
                )
                return Counter({status: count for status, count in rows})
        finally:
            engine.dispose()


def _prepare(database_url: str) -> Callable[..., int]:
    """Create the schema and an organization; return a function that adds actions."""
    config = type("PrepareConfig", (ServerConfig,), {"SQLALCHEMY_DATABASE_URI": database_url})
    app = create_app(config)
    with app.app_context():
        db.create_all()
        org_id = factories.make_org().id
        db.session.remove()

    def make_event(**kwargs) -> int:
        with app.app_context():
            org = db.session.get(Organization, org_id)
            event_id = factories.make_event(org, **kwargs).id
            db.session.remove()
            db.engine.dispose()
        return event_id

    return make_event


@contextmanager
def _gunicorn(database_url: str, log_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, URL_ENV: database_url, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(WORKERS),
        "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--timeout", "60",
        "--graceful-timeout", "5",
        "tests.test_concurrency_signups:server_app()",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_up(base_url, process, log_path)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    time.sleep(0.5)  # let the other workers finish booting too
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not start:\n{log_path.read_text(errors='replace')}")


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def server(request, tmp_path_factory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"concurrency-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            database_url = f"sqlite:///{tmp / 'organizer.db'}"
        else:
            database_url = stack.enter_context(_fresh_postgres_database())
        make_event = _prepare(database_url)
        base_url = stack.enter_context(_gunicorn(database_url, tmp / "gunicorn.log"))
        yield Server(base_url, database_url, make_event)


def _post_all(url: str, forms: list[dict[str, str]]) -> list[tuple[int, str]]:
    """Send every form at the same moment, one thread and one connection each."""
    barrier = threading.Barrier(len(forms))

    def post(form: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode()
        barrier.wait()
        try:
            with urllib.request.urlopen(url, data=data, timeout=60) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(post, forms))


def test_forty_parallel_signups_fill_ten_places_exactly(server):
    event_id = server.make_event(capacity=10, waitlist_enabled=True)
    forms = [{"name": f"Volunteer {i}", "email": f"volunteer{i}@example.org"} for i in range(40)]

    results = _post_all(f"{server.base_url}/events/{event_id}/signup", forms)

    codes = Counter(code for code, _ in results)
    assert codes == {200: 40}, [body[:300] for code, body in results if code != 200]
    assert sum("signed up!</h1>" in body for _, body in results) == 10
    assert sum("on the waitlist" in body for _, body in results) == 30
    assert server.statuses(event_id) == {"confirmed": 10, "waitlisted": 30}


def test_same_email_in_parallel_keeps_one_signup(server):
    event_id = server.make_event(capacity=10)
    forms = [{"name": f"Same {i}", "email": "SAME@example.org"} for i in range(10)]

    results = _post_all(f"{server.base_url}/events/{event_id}/signup", forms)

    assert Counter(code for code, _ in results) == {200: 10}
    # Guests are never told on the page that an address was already signed up (only its inbox
    # is), so all ten pages read alike.
    assert len({body for _, body in results}) == 1
    assert server.statuses(event_id) == {"confirmed": 1}
