"""Helpers the test modules share: reading emails, counting SQL statements, scratch databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url

from organizer.extensions import db


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def all_text(message) -> str:
    """Every part decoded (bodies may travel base64-encoded), attachments included."""
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        parts.append(content.decode("utf-8", "replace") if isinstance(content, bytes) else content)
    return "\n".join(parts)


def ics_attachments(message) -> list:
    return [
        part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
    ]


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)


@contextmanager
def scratch_database(database_url: str, tmp_path, suffix: str) -> Iterator[str]:
    """A database other processes can open, empty, dropped afterwards.

    A SQLite file under `tmp_path`, or a fresh PostgreSQL database named after the test one.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / f'{suffix}.db'}"
        return
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_all_tables() -> None:
    """Leave the app's database empty for the next test (TRUNCATE on PostgreSQL: fast)."""
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        db.drop_all()
    db.engine.dispose()
