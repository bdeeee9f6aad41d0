"""Helpers the test modules share: reading emails, counting SQL statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event as sa_event

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
