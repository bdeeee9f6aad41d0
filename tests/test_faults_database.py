"""The database going away: a friendly 503 in the user's language (never a 500), /healthz says
"unavailable", and the app recovers by itself once the database answers again."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db

from . import factories
from .conftest import free_port

HEBREW = "השירות לא זמין לזמן קצר. אפשר לנסות שוב בעוד רגע."
ARABIC = "الخدمة غير متاحة مؤقتًا. الرجاء المحاولة مجددًا بعد قليل."


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def unreachable(database_url: str, tmp_path) -> str:
    """The same kind of database, where nothing answers."""
    if is_postgres(database_url):
        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=free_port())
            .render_as_string(hide_password=False)
        )
    return f"sqlite:///{tmp_path / 'no-such-folder' / 'organizer.db'}"


@pytest.fixture()
def app_without_database(database_url, tmp_path):
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = unreachable(database_url, tmp_path)
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "connect_args": {}}

    if is_postgres(database_url):
        Config.SQLALCHEMY_ENGINE_OPTIONS["connect_args"] = {"connect_timeout": 3}
    app = create_app(Config)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_no_database_gives_503_pages_and_health(app_without_database):
    client = app_without_database.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}

    response = client.get("/events/?lang=he")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert 'lang="he"' in page and 'dir="rtl"' in page
    assert HEBREW in page
    assert response.headers["Retry-After"]

    response = client.get("/", headers={"Accept-Language": "ar"})
    assert response.status_code == 503
    assert ARABIC in response.get_data(as_text=True)

    response = client.get("/api/v1/events")
    assert response.status_code == 503
    assert response.get_json()["error"]["status"] == 503


@contextmanager
def failing(statement_part: str, fault):
    """Run `fault(connection)` before the next SQL statement containing `statement_part`."""
    armed = [True]

    def before(conn, cursor, statement, parameters, context, executemany):
        if armed[0] and statement_part in statement:
            armed[0] = False
            fault(conn)

    sa_event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)


def _drop_connection(database_url: str):
    """The fault: on PostgreSQL the server ends this very connection; on SQLite, an I/O error."""
    if not is_postgres(database_url):

        def fault(conn):
            raise sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("disk I/O error"))

        return fault

    def fault(conn):
        pid = conn.connection.dbapi_connection.info.backend_pid
        admin = create_engine(make_url(database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()

    return fault


def test_the_database_going_away_mid_request_gives_503_then_recovers(
    app, client, auth, database_url
):
    user = factories.make_user(locale="ar")
    factories.make_event(title="Vigil at the square")
    auth.login(user)
    assert client.get("/events/").status_code == 200

    with failing("FROM events", _drop_connection(database_url)):
        response = client.get("/events/")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert ARABIC in page and 'lang="ar"' in page  # the language of the user's profile

    response = client.get("/events/")
    assert response.status_code == 200
    assert "Vigil at the square" in response.get_data(as_text=True)
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_health_check_says_unavailable_when_the_query_fails(app, client, database_url):
    with failing("SELECT 1", _drop_connection(database_url)):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}
    assert client.get("/healthz").status_code == 200


def test_recovers_after_the_server_ended_every_connection(app, client, database_url):
    if not is_postgres(database_url):
        pytest.skip("PostgreSQL: terminating the app's server connections")
    factories.make_event(title="March")
    assert client.get("/events/").status_code == 200
    # What the end of a request does (the test keeps one app context open across requests):
    # the session gives its connection back to the pool, where pool_pre_ping checks it.
    db.session.remove()
    name = make_url(database_url).database
    admin = create_engine(make_url(database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar()
    admin.dispose()
    assert ended >= 1
    response = client.get("/events/")
    assert response.status_code == 200
    assert "March" in response.get_data(as_text=True)
    assert client.get("/healthz").get_json() == {"status": "ok"}
