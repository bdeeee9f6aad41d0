"""Sending the weekly digests: exactly one per subscriber and week, over reused connections.

The delivery row (subscription, ISO week) is the lock and the record. A sender first CLAIMS a
batch (insert `sending`, or take over a `failed` row whose backoff is over or a `sending` row
a crashed sender left behind for STALE_CLAIM, two hours), commits, and only then talks to the
mail server.
Each message is marked `sent` right after the server accepts it, committed every
DIGEST_COMMIT_EVERY messages (default 1): a sender killed between the server's "250 OK" and
that commit leaves at most that many accepted-but-unrecorded messages, which a later run sends
again with the same Message-ID (detectably a duplicate). Nothing else can send twice.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from time import monotonic
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import and_, bindparam, exists, or_, select, text, update
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models.digest import (
    DELIVERY_BOUNCED,
    DELIVERY_EMPTY,
    DELIVERY_FAILED,
    DELIVERY_SENDING,
    DELIVERY_SENT,
    SUB_ACTIVE,
    DigestDelivery,
    DigestRun,
    Subscription,
)
from ..progress import SILENT, Progress
from ..web import url_context
from .digest_render import DigestMessage, DigestRenderer
from .digest_schedule import is_due, iso_week, subscriber_week

log = logging.getLogger(__name__)

# A `sending` row older than STALE_CLAIM belongs to a dead sender. Claims are stamped with the
# run's `now`, and no run claims anything after RUN_CLAIM_LIMIT (nor does a queued batch run
# longer than its job timeout), so a live sender's claims never look stale to another run.
STALE_CLAIM = timedelta(hours=2)
RUN_CLAIM_LIMIT = timedelta(hours=1)
BACKOFF_BASE = timedelta(minutes=15)
BACKOFF_CAP = timedelta(hours=6)
MAX_ATTEMPTS = 10  # about a day and a half of retries; then the week is given up
DEFAULT_COMMIT_EVERY = 1

deliveries = DigestDelivery.__table__


@dataclass
class BatchResult:
    sent: int = 0
    empty: int = 0
    failed: int = 0  # this attempt failed (temporary fault): recorded as `failed`
    bounced: int = 0
    retry_later: int = 0  # of the failed, those a later run will try again

    def __add__(self, other: BatchResult) -> BatchResult:
        return BatchResult(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def handled(self) -> int:
        """Subscribers this batch dealt with, whatever the outcome."""
        return self.sent + self.empty + self.failed + self.bounced

    def summary(self) -> str:
        return (
            f"sent {self.sent}, empty {self.empty}, failed {self.failed}, "
            f"bounced {self.bounced}, retry later {self.retry_later}"
        )


@dataclass
class RunSummary(BatchResult):
    run_id: int | None = None
    batches: int = 0

    @property
    def ok(self) -> bool:
        """A bounce is a fact about one address; a failure means the run must be repeated."""
        return self.failed == 0 and self.retry_later == 0


def backoff(attempts: int) -> timedelta:
    """15 min, 30 min, 1 h, ... capped at 6 h, after the `attempts`-th failed try."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


# --- who is due --------------------------------------------------------------------------------


def _not_done_for(week: str, now: datetime):
    """No delivery for `week` that is finished, waiting for its retry, or being sent right now."""
    return ~exists().where(
        deliveries.c.subscription_id == Subscription.id,
        deliveries.c.week == week,
        or_(
            deliveries.c.status.in_((DELIVERY_SENT, DELIVERY_EMPTY, DELIVERY_BOUNCED)),
            and_(
                deliveries.c.status == DELIVERY_FAILED,
                or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at > now),
            ),
            and_(
                deliveries.c.status == DELIVERY_SENDING,
                deliveries.c.claimed_at > now - STALE_CLAIM,
            ),
        ),
    )


def _due_condition(now: datetime):
    """Per time zone in use: the weekday and hour have come this local week, and not done yet.

    Exact in SQL up to DST gaps (an hour that never happened counts as come once the clock
    passed it), which is_due() then settles in Python.
    """
    zones = db.session.scalars(
        select(Subscription.timezone).where(Subscription.status == SUB_ACTIVE).distinct()
    ).all()
    clauses = []
    for name in zones:
        try:
            local = now.astimezone(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("Subscriptions with an unknown time zone %r are skipped", name)
            continue
        day, hour = local.weekday(), local.hour
        clauses.append(
            and_(
                Subscription.timezone == name,
                or_(
                    Subscription.weekday < day,
                    and_(Subscription.weekday == day, Subscription.hour <= hour),
                ),
                _not_done_for(iso_week(local), now),
            )
        )
    return or_(*clauses) if clauses else None


def due_subscription_ids(now: datetime, batch_size: int = 1000) -> Iterator[list[int]]:
    """Ids of the subscribers due at `now`, in batches, by keyset over ids (bounded memory)."""
    condition = _due_condition(now)
    if condition is None:
        return
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Subscription.id, Subscription.timezone, Subscription.weekday, Subscription.hour)
            .where(Subscription.status == SUB_ACTIVE, Subscription.id > last_id, condition)
            .order_by(Subscription.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        ids = [row.id for row in rows if is_due(row, now)]
        if ids:
            yield ids
        if len(rows) < batch_size:
            return


# --- claiming ------------------------------------------------------------------------------------


@dataclass
class _Claim:
    delivery_id: int
    attempts: int


def _insert(values: list[dict]):
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return (
        insert(deliveries)
        .values(values)
        .on_conflict_do_nothing(index_elements=["subscription_id", "week"])
    )


def _claim(weeks: dict[int, str], now: datetime) -> dict[int, _Claim]:
    """Make this process the only sender of these (subscription, week) deliveries, and commit.

    A fresh row is inserted (a concurrent insert of the same key loses quietly); an existing
    one is taken over only by a conditional UPDATE, so two senders never both own a row.
    """
    claimed: dict[int, _Claim] = {}
    if not weeks:
        return claimed
    rows = db.session.execute(
        _insert(
            [
                {
                    "subscription_id": sub_id,
                    "week": week,
                    "status": DELIVERY_SENDING,
                    "attempts": 1,
                    "event_count": 0,
                    "message_id": "",
                    "last_error": "",
                    "claimed_at": now,
                }
                for sub_id, week in weeks.items()
            ]
        ).returning(deliveries.c.subscription_id, deliveries.c.id, deliveries.c.attempts)
    )
    for sub_id, delivery_id, attempts in rows:
        claimed[sub_id] = _Claim(delivery_id, attempts)
    by_week: dict[str, list[int]] = {}
    for sub_id, week in weeks.items():
        if sub_id not in claimed:
            by_week.setdefault(week, []).append(sub_id)
    for week, sub_ids in by_week.items():
        rows = db.session.execute(
            update(deliveries)
            .where(
                deliveries.c.subscription_id.in_(sub_ids),
                deliveries.c.week == week,
                or_(
                    and_(
                        deliveries.c.status == DELIVERY_FAILED,
                        deliveries.c.next_attempt_at <= now,
                    ),
                    and_(
                        deliveries.c.status == DELIVERY_SENDING,
                        deliveries.c.claimed_at <= now - STALE_CLAIM,
                    ),
                ),
            )
            .values(
                status=DELIVERY_SENDING,
                claimed_at=now,
                attempts=deliveries.c.attempts + 1,
                next_attempt_at=None,
            )
            .returning(deliveries.c.subscription_id, deliveries.c.id, deliveries.c.attempts)
        )
        for sub_id, delivery_id, attempts in rows:
            claimed[sub_id] = _Claim(delivery_id, attempts)
    db.session.commit()
    return claimed


# --- recording outcomes ------------------------------------------------------------------------


_mark = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.status == DELIVERY_SENDING)
    .values(
        status=bindparam("b_status"),
        event_count=bindparam("b_count"),
        message_id=bindparam("b_message_id"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        sent_at=bindparam("b_sent_at"),
    )
)


class _Outcomes:
    """Delivery updates, written in groups so the database sees one statement per group."""

    def __init__(self, now: datetime, commit_every: int) -> None:
        self.now = now
        self.commit_every = max(commit_every, 1)
        self.pending: list[dict] = []
        self.result = BatchResult()
        self.bounced_ids: list[int] = []

    def _add(self, claim: _Claim, status: str, **values) -> None:
        self.pending.append(
            {
                "b_id": claim.delivery_id,
                "b_status": status,
                "b_count": values.get("count", 0),
                "b_message_id": values.get("message_id", ""),
                "b_error": values.get("error", "")[:2000],
                "b_next": values.get("next_attempt_at"),
                "b_sent_at": values.get("sent_at"),
            }
        )
        if len(self.pending) >= self.commit_every:
            self.flush()

    def sent(self, claim: _Claim, message: DigestMessage, count: int) -> None:
        self.result.sent += 1
        self._add(
            claim,
            DELIVERY_SENT,
            count=count,
            message_id=message.message_id,
            sent_at=datetime.now(UTC),
        )

    def empty(self, claim: _Claim) -> None:
        self.result.empty += 1
        self._add(claim, DELIVERY_EMPTY)

    def bounced(self, sub_id: int, claim: _Claim, error: str, message_id: str) -> None:
        self.result.bounced += 1
        self.bounced_ids.append(sub_id)
        self._add(claim, DELIVERY_BOUNCED, error=error, message_id=message_id)

    def failed(self, claim: _Claim, error: str) -> None:
        self.result.failed += 1
        retry_at = None
        if claim.attempts < MAX_ATTEMPTS:
            self.result.retry_later += 1
            retry_at = self.now + backoff(claim.attempts)
        self._add(claim, DELIVERY_FAILED, error=error, next_attempt_at=retry_at)

    def flush(self) -> None:
        if self.pending:
            if db.session.get_bind().dialect.name == "postgresql":
                # The failure this guards against is the sender dying, not the database: a
                # commit need not wait for the disk, which makes a commit per message cheap.
                db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            db.session.execute(_mark, self.pending)
            self.pending = []
        db.session.commit()
        if self.bounced_ids:
            from .subscriptions import record_bounce

            ids, self.bounced_ids = self.bounced_ids, []
            for sub_id in ids:
                record_bounce(sub_id, self.now)


# --- the mail server ---------------------------------------------------------------------------


class TemporaryFailure(Exception):
    """The server or the connection failed; this message and the rest of the batch wait."""


class PermanentFailure(Exception):
    """The server refused this address for good (5xx)."""


class _RecipientDeferred(Exception):
    """A 4xx for this one recipient: it waits, the rest of the batch goes on."""


class _LogTransport:
    """No MAIL_SERVER (development): the messages go to the log."""

    def send(self, message: DigestMessage) -> None:
        logging.getLogger("organizer.mail").info(
            "Digest not sent (no MAIL_SERVER) to %s:\n%s",
            message.to,
            message.data.decode("utf-8", "replace"),
        )

    def close(self) -> None:
        pass


class _SmtpTransport:
    """One SMTP connection for a whole batch, opened on first use."""

    def __init__(self, config) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        timeout = c.get("MAIL_TIMEOUT", 10)
        if c.get("MAIL_USE_SSL"):
            connection = smtplib.SMTP_SSL(c["MAIL_SERVER"], c["MAIL_PORT"], timeout=timeout)
        else:
            connection = smtplib.SMTP(c["MAIL_SERVER"], c["MAIL_PORT"], timeout=timeout)
            if c.get("MAIL_USE_TLS"):
                connection.starttls()
        if c.get("MAIL_USERNAME"):
            connection.login(c["MAIL_USERNAME"], c.get("MAIL_PASSWORD") or "")
        return connection

    def send(self, message: DigestMessage) -> None:
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.sendmail(message.envelope_from, [message.to], message.data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            self._classify(code, reply)
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            if isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
                raise PermanentFailure(_reply(exc.smtp_code, exc.smtp_error)) from exc
            self.close()
            raise TemporaryFailure(_reply(exc.smtp_code, exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, reset, timeout
            self.close()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    def _classify(self, code: int, reply: bytes | str) -> None:
        text = _reply(code, reply)
        if 500 <= code < 600:
            raise PermanentFailure(text)
        if code == 421:  # the server is closing the connection: the rest waits too
            self.close()
            raise TemporaryFailure(text)
        raise _RecipientDeferred(text)

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}"


def _transport():
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return _LogTransport()
    return _SmtpTransport(config)


# --- one batch --------------------------------------------------------------------------------


@contextmanager
def sending_context() -> Iterator[None]:
    """url_for needs a request to build links; a run keeps loaded actions across commits."""
    session = db.session()
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        with url_context():
            yield
    finally:
        session.expire_on_commit = keep


def send_batch(
    subscription_ids: Sequence[int],
    now: datetime,
    *,
    candidates=None,
    renderer: DigestRenderer | None = None,
) -> BatchResult:
    """Claim, choose, render and send the digests of these subscribers (those still due).

    Used by the inline path and by queue workers alike. `candidates` and `renderer` may be
    shared between the batches of one run; they are made here when not given.
    """
    from . import digest_selection as selection
    from . import subscriptions

    with sending_context():
        subs = db.session.scalars(
            select(Subscription)
            .where(Subscription.id.in_(list(subscription_ids)))
            .options(
                selectinload(Subscription.organizations),
                selectinload(Subscription.causes),
                selectinload(Subscription.regions),
            )
            .order_by(Subscription.id)
        ).all()
        subs = [s for s in subs if is_due(s, now)]
        claims = _claim({s.id: subscriber_week(s, now) for s in subs}, now)
        subs = [s for s in subs if s.id in claims]
        if not subs:
            return BatchResult()

        if candidates is None:
            candidates = selection.load_candidates(now)
        signed_up = selection.signed_up_event_ids(
            [s.email for s in subs], event_ids=candidates.event_ids
        )
        picks = {s.id: selection.pick(s, candidates, signed_up.get(s.email, set())) for s in subs}
        counts = candidates.counts
        renderer = renderer or DigestRenderer(now)
        commit_every = current_app.config.get("DIGEST_COMMIT_EVERY", DEFAULT_COMMIT_EVERY)
        outcomes = _Outcomes(now, commit_every)
        transport = _transport()
        broken: str | None = None
        try:
            for sub in subs:
                claim, events = claims[sub.id], picks[sub.id]
                if not events:
                    outcomes.empty(claim)
                    continue
                if broken is not None:
                    outcomes.failed(claim, broken)
                    continue
                try:
                    message = renderer.build(
                        sub,
                        subscriber_week(sub, now),
                        events,
                        counts,
                        subscriptions.unsubscribe_url(sub),
                        subscriptions.preferences_url(sub),
                    )
                except Exception as exc:  # a bug for one subscriber must not stop the others
                    log.exception("Could not build the digest for subscription %s", sub.id)
                    outcomes.failed(claim, f"render: {type(exc).__name__}: {exc}")
                    continue
                try:
                    transport.send(message)
                except PermanentFailure as exc:
                    outcomes.bounced(sub.id, claim, str(exc), message.message_id)
                except _RecipientDeferred as exc:
                    outcomes.failed(claim, str(exc))
                except TemporaryFailure as exc:
                    broken = str(exc)
                    log.warning("Digest batch interrupted: %s", broken)
                    outcomes.failed(claim, broken)
                else:
                    outcomes.sent(claim, message, len(events))
        finally:
            transport.close()
            outcomes.flush()
        return outcomes.result


# --- a run ------------------------------------------------------------------------------------


def _within_claim_limit(batches: Iterator[list[int]]) -> Iterator[list[int]]:
    """Stop handing out batches after RUN_CLAIM_LIMIT; the next run picks up the rest."""
    deadline = monotonic() + RUN_CLAIM_LIMIT.total_seconds()
    for ids in batches:
        if monotonic() > deadline:
            log.warning("Digest run reached its time limit; the next run sends the rest.")
            return
        yield ids


def _enqueue_batches(
    now: datetime, batch_size: int, summary: RunSummary, progress: Progress = SILENT
) -> BatchResult:
    """The RQ path (REDIS_URL set): each batch becomes a job for the worker processes."""
    from .digest_queue import run_batches

    total = BatchResult()
    batches = _within_claim_limit(due_subscription_ids(now, batch_size=batch_size))
    for result in run_batches(batches, now):
        total = total + result
        summary.batches += 1
        progress.advance(result.handled)
    return total


def send_due(
    now: datetime,
    use_queue: bool | None = None,
    batch_size: int = 1000,
    progress: Progress = SILENT,
) -> RunSummary:
    """Send every digest due at `now`, inline or through the job queue; record the run.
    `progress` counts the subscribers handled, batch by batch (how many are due is not
    known before the batches are read)."""
    from . import digest_selection as selection

    if use_queue is None:
        use_queue = bool(current_app.config.get("REDIS_URL"))
    run = DigestRun(now=now, started_at=datetime.now(UTC))
    db.session.add(run)
    db.session.commit()
    summary = RunSummary(run_id=run.id)
    if use_queue:
        total = _enqueue_batches(now, batch_size, summary, progress)
    else:
        total = BatchResult()
        candidates = None
        renderer = None
        for ids in _within_claim_limit(due_subscription_ids(now, batch_size=batch_size)):
            if candidates is None:
                with sending_context():
                    candidates = selection.load_candidates(now)
                    renderer = DigestRenderer(now)
            result = send_batch(ids, now, candidates=candidates, renderer=renderer)
            total = total + result
            summary.batches += 1
            progress.advance(result.handled)
    for f in fields(BatchResult):
        setattr(summary, f.name, getattr(total, f.name))
        setattr(run, f.name, getattr(total, f.name))
    run.finished_at = datetime.now(UTC)
    db.session.commit()
    return summary
