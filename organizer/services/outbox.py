"""The mail outbox: an email the mail server did not take is kept, fully rendered, and retried.

`organizer.email` stores a message here when a temporary fault (server down, connection
dropped, 4xx reply) stops it; `flask mail retry` (cron, every few minutes) hands each due
message over again with a growing delay, and gives up after MAIL_RETRY_MAX_ATTEMPTS with a
log line. A message is claimed (its next attempt pushed a lease ahead) before it is sent and
deleted once the server took it, so two retry runs at once never send one twice; a run killed
between the hand-over and the delete sends it again after the lease (at least once, never
lost). The stored bytes keep the first attempt's Message-ID, so a mail client that sees it
twice shows it once.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from ..extensions import db, mail
from ..models import OutboxMessage

log = logging.getLogger("organizer.mail")

FIRST_DELAY = timedelta(minutes=5)
MAX_DELAY = timedelta(hours=6)
LEASE = timedelta(minutes=15)  # a claimed message comes back if its run died half-way
BATCH_SIZE = 200
ERROR_LENGTH = 500


class PermanentFailure(Exception):
    """The mail server refused this message for good (5xx): retrying cannot help."""


def backoff(attempts: int) -> timedelta:
    """5 minutes after the first failure, doubling, at most 6 hours apart."""
    return min(FIRST_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def max_attempts() -> int:
    return int(current_app.config.get("MAIL_RETRY_MAX_ATTEMPTS", 8))


def is_permanent(error: BaseException) -> bool:
    """A refused address or a 5xx reply to the message: the same answer next time."""
    if isinstance(error, smtplib.SMTPRecipientsRefused | PermanentFailure):
        return True
    if isinstance(error, smtplib.SMTPDataError):
        return 500 <= error.smtp_code < 600
    return False


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_LENGTH]


def store(messages: Iterable, error: BaseException, now: datetime) -> list[OutboxMessage]:
    """Keep messages the server did not take (flask_mailman EmailMessages), due after the first
    delay; commits (the caller's data was committed before any email was sent)."""
    rows = []
    for message in messages:
        rows.append(
            OutboxMessage(
                sender=message.from_email,
                to=",".join(message.recipients()).lower(),
                message=message.message().as_bytes(linesep="\r\n"),
                attempts=1,
                next_attempt_at=now + backoff(1),
                last_error=describe(error),
                created_at=now,
            )
        )
    if rows:
        db.session.add_all(rows)
        db.session.commit()
    return rows


class _Raw:
    """A stored message dressed as the EmailMessage the mail backends expect: the bytes are
    handed over exactly as stored."""

    encoding = None

    def __init__(self, row: OutboxMessage) -> None:
        self.from_email = row.sender
        self._recipients = [address for address in row.to.split(",") if address]
        self._bytes = bytes(row.message)

    def recipients(self) -> list[str]:
        return self._recipients

    def message(self) -> _Raw:
        return self

    def as_bytes(self, linesep: str = "\r\n") -> bytes:
        return self._bytes

    def as_string(self) -> str:
        return self._bytes.decode("utf-8", "replace")


@dataclass
class RetrySummary:
    sent: int = 0
    retry_later: int = 0
    given_up: int = 0

    @property
    def ok(self) -> bool:
        return not self.retry_later and not self.given_up

    def summary(self) -> str:
        return (
            f"Outbox: {self.sent} sent, {self.retry_later} to retry later, "
            f"{self.given_up} given up."
        )


def due_ids(now: datetime, limit: int = BATCH_SIZE) -> list[int]:
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
    )


def _claim(message_id: int, now: datetime) -> OutboxMessage | None:
    """Take one due message for this run (or None: another run took it, or it is gone)."""
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


def _failed(row: OutboxMessage, error: BaseException, now: datetime, summary: RetrySummary):
    row.last_error = describe(error)
    if is_permanent(error) or row.attempts >= max_attempts():
        row.next_attempt_at = None
        summary.given_up += 1
        log.warning(
            "Gave up on outbox message %s to %s after %d attempts: %s",
            row.id,
            row.to,
            row.attempts,
            row.last_error,
        )
    else:
        row.next_attempt_at = now + backoff(row.attempts)
        summary.retry_later += 1
    db.session.commit()


def retry_due(now: datetime, ids: Sequence[int] | None = None) -> RetrySummary:
    """Hand every due message over again, over one SMTP connection; see the module docstring.

    Once the server is found unreachable, the rest of the batch waits for the next run."""
    summary = RetrySummary()
    connection = None
    todo = list(due_ids(now) if ids is None else ids)
    try:
        for position, message_id in enumerate(todo):
            row = _claim(message_id, now)
            if row is None:
                continue
            try:
                if connection is None:
                    connection = mail.get_connection()
                    connection.open()
                connection.send_messages([_Raw(row)])
            except Exception as exc:  # the SMTP layer raises many kinds
                _failed(row, exc, now, summary)
                if is_permanent(exc):
                    continue
                # The server is down: the others keep their turn (and attempts) for next run.
                summary.retry_later += len(todo) - position - 1
                break
            db.session.execute(delete(OutboxMessage).where(OutboxMessage.id == row.id))
            db.session.commit()
            summary.sent += 1
    finally:
        _close(connection)
    return summary


def _close(connection) -> None:
    if connection is not None:
        try:
            connection.close()
        except Exception:  # noqa: S110 - closing a broken connection may fail too
            pass
    return None


def forget(addresses: Iterable[str]) -> int:
    """Delete the waiting messages to these addresses (their owner asked to be forgotten);
    no commit."""
    wanted = {address.strip().lower() for address in addresses if address}
    if not wanted:
        return 0
    return (
        db.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.to.in_(wanted))
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


def purge_given_up(before: datetime) -> int:
    """Delete messages given up on (or still waiting) that were first tried before `before`:
    they hold personal data nobody will deliver anymore. No commit."""
    return (
        db.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.created_at < before)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
