"""Reminders before an action: exactly one email per volunteer, time and kind, crash-safe.

A reminder is due from `reminder_hours` before the start ("first", 24 hours by default) or two
hours before it ("second", for actions that ask for one), until one hour before the start
(LATE_LIMIT): a volunteer who signs up or is promoted later than the reminder time still gets
it on the next run, unless the action is less than an hour away. When both are due, only the
second (the later) is sent. A shift with its own start time counts from that start.

One email covers every sign-up of one address to one action with the same start and kind: a
volunteer in two shifts without hours of their own (or with the same start) gets one reminder
listing both. Shifts that start at different times keep their own reminders, each timed by its
shift's start.

The ReminderDelivery row (signup, kind) is the lock and the record. The rows of one email are
CLAIMED together (insert-or-skip, or a conditional takeover of a failed or abandoned row) in
one committed transaction before the mail server hears of it, and marked together right after
the server answers. A claim is taken only while the sign-up is confirmed, its action published
and its start more than LATE_LIMIT away, checked by the claiming statement itself: a volunteer
or an action cancelled during a run gets nothing more (the hidden place included). Two senders
never both own a row. A sender killed between claim and mark leaves the rows `claimed`; after
STALE_CLAIM another run takes them over and sends again. The only duplicate possible is a
message the server accepted in the moment before its mark was committed; it carries the same
deterministic Message-ID as the first copy.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Integer, and_, exists, func, literal, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from ..email import build_email
from ..extensions import db, mail
from ..models import Event, EventHost, ReminderDelivery, Shift, Signup
from ..models import event as ev
from ..models import signup as st
from ..progress import SILENT, Progress
from ..tokens import InvalidToken, make_token, read_token
from ..web import absolute_url, url_context
from . import notifications
from . import signups as signup_service
from .digest_sender import sending_context
from .errors import InvalidTransition, NotFound

log = logging.getLogger(__name__)

FIRST = "first"
SECOND = "second"
KINDS = (FIRST, SECOND)
SECOND_BEFORE = timedelta(hours=2)
# No reminder within the last hour: by then people are on their way (or it is too late to help).
LATE_LIMIT = timedelta(hours=1)
# The choices organizers get on the action form (None: no reminder).
REMINDER_HOURS = (2, 6, 12, 24, 48, 72)

CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"  # a temporary fault: tried again after backoff while still due
BOUNCED = "bounced"  # the server refused the address for good: never tried again

# A claim is held for one message only (claim, render, one SMTP exchange bounded by
# MAIL_TIMEOUT, mark), so a claim older than this belongs to a dead sender.
STALE_CLAIM = timedelta(minutes=10)
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=1)
MAX_ATTEMPTS = 6
BATCH_SIZE = 200

CANT_COME_PURPOSE = "reminder-cant-come"
CANT_COME_MAX_AGE = 30 * 24 * 3600  # seconds; reminders go out at most three days ahead

deliveries = ReminderDelivery.__table__


def backoff(attempts: int) -> timedelta:
    """5 min, 10 min, 20 min, ... at most an hour, after the `attempts`-th failed try."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


# --- who is due --------------------------------------------------------------------------------


def start_of(signup: Signup) -> datetime:
    """When this volunteer is expected: their shift's own start, else the action's."""
    shift = signup.shift
    if shift is not None and shift.starts_at is not None:
        return shift.starts_at
    return signup.event.starts_at


def due_kind(signup: Signup, now: datetime) -> str | None:
    """The reminder this sign-up should get at `now` (the later one when both are due)."""
    event = signup.event
    if signup.status != st.CONFIRMED or event.status != ev.STATUS_PUBLISHED:
        return None
    start = start_of(signup)
    if start < now + LATE_LIMIT:
        return None
    if event.second_reminder and start <= now + SECOND_BEFORE:
        return SECOND
    if event.reminder_hours is not None and start <= now + _lead(event.reminder_hours):
        return FIRST
    return None


def _lead(hours: int) -> timedelta:
    """How long before the start; a value no form allows (negative, years) cannot break a run."""
    return timedelta(hours=min(max(hours, 0), 366 * 24))


def _start_column():
    return func.coalesce(Shift.starts_at, Event.starts_at)


def _not_done(kind: str, now: datetime):
    """No delivery of `kind` that is finished, given up, or being sent by a live sender."""
    return ~exists().where(
        deliveries.c.signup_id == Signup.id,
        deliveries.c.kind == kind,
        or_(
            deliveries.c.status.in_((SENT, BOUNCED)),
            and_(deliveries.c.status == CLAIMED, deliveries.c.claimed_at > now - STALE_CLAIM),
            and_(deliveries.c.status == FAILED, deliveries.c.attempts >= MAX_ATTEMPTS),
        ),
    )


def _due_conditions(now: datetime) -> dict[str, object]:
    """The SQL twin of due_kind, per kind (exact: the hours in use become literal clauses)."""
    start = _start_column()
    second_due = and_(Event.second_reminder.is_(True), start <= now + SECOND_BEFORE)
    hours = db.session.scalars(
        select(Event.reminder_hours)
        .where(Event.status == ev.STATUS_PUBLISHED, Event.reminder_hours.is_not(None))
        .distinct()
    ).all()
    first_due = or_(
        *(and_(Event.reminder_hours == h, start <= now + _lead(h)) for h in sorted(hours)),
        False,
    )
    return {FIRST: and_(first_due, ~second_due), SECOND: second_due}


def due_reminders(now: datetime) -> list[tuple[int, str]]:
    """(signup id, kind) of every reminder due at `now` and not yet sent, soonest start first."""
    start = _start_column()
    due: list[tuple[datetime, int, str, int, str]] = []
    for kind, condition in _due_conditions(now).items():
        rows = db.session.execute(
            select(Signup.id, start, Signup.event_id, Signup.email)
            .join(Event, Event.id == Signup.event_id)
            .outerjoin(Shift, Shift.id == Signup.shift_id)
            .where(
                Signup.status == st.CONFIRMED,
                Event.status == ev.STATUS_PUBLISHED,
                start >= now + LATE_LIMIT,
                condition,
                _not_done(kind, now),
            )
        ).all()
        due.extend((row[1], row[2], row[3], row[0], kind) for row in rows)
    # The reminders one email covers (same action, address, start and kind) come one after
    # another, so that send_due finds them together.
    due.sort()
    return [(signup_id, kind) for _start, _event, _email, signup_id, kind in due]


# --- claiming and recording --------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempts: int
    signup_id: int = 0


def _remindable(signup_id: int, now: datetime):
    """SQL: this sign-up may be reminded at `now`: confirmed, its action published (so not
    cancelled), its start more than LATE_LIMIT away. Part of the claiming statement itself, so
    what was cancelled after the run read its list is never claimed (nor sent)."""
    return (
        select(Signup.id)
        .join(Event, Event.id == Signup.event_id)
        .outerjoin(Shift, Shift.id == Signup.shift_id)
        .where(
            Signup.id == signup_id,
            Signup.status == st.CONFIRMED,
            Event.status == ev.STATUS_PUBLISHED,
            _start_column() >= now + LATE_LIMIT,
        )
        .exists()
    )


def _insert(signup_id: int, kind: str, now: datetime):
    """INSERT ... SELECT ... WHERE <remindable> ON CONFLICT DO NOTHING: a new claim, only for a
    sign-up that may still be reminded, and only if nobody holds the row yet."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    c = deliveries.c
    values = select(
        literal(signup_id, Integer),
        literal(kind, c.kind.type),
        literal(CLAIMED, c.status.type),
        literal(now, c.claimed_at.type),
        literal(1, Integer),
        literal("", c.last_error.type),
    ).where(_remindable(signup_id, now))  # a WHERE also keeps SQLite's upsert unambiguous
    return (
        insert(deliveries)
        .from_select(
            ["signup_id", "kind", "status", "claimed_at", "attempts", "last_error"], values
        )
        .on_conflict_do_nothing(index_elements=["signup_id", "kind"])
    )


def _may_take_over(status: str, attempts: int, claimed_at: datetime, now: datetime) -> bool:
    if status == CLAIMED:
        return claimed_at <= now - STALE_CLAIM  # its sender died
    if status == FAILED:
        return attempts < MAX_ATTEMPTS and claimed_at + backoff(attempts) <= now
    return False


def _claim_row(signup_id: int, kind: str, now: datetime) -> Claim | None:
    """Claim one row in the current transaction (no commit); None if it is not ours."""
    row = db.session.execute(
        _insert(signup_id, kind, now).returning(deliveries.c.id, deliveries.c.attempts)
    ).first()
    if row is None:
        seen = db.session.execute(
            select(
                deliveries.c.id,
                deliveries.c.status,
                deliveries.c.attempts,
                deliveries.c.claimed_at,
            ).where(deliveries.c.signup_id == signup_id, deliveries.c.kind == kind)
        ).first()
        if seen is None or not _may_take_over(seen.status, seen.attempts, seen.claimed_at, now):
            return None  # not remindable any more, or sent, being sent, waiting for its retry
        row = db.session.execute(
            update(deliveries)
            .where(
                deliveries.c.id == seen.id,
                deliveries.c.status == seen.status,
                deliveries.c.attempts == seen.attempts,
                _remindable(signup_id, now),
            )
            .values(status=CLAIMED, claimed_at=now, attempts=deliveries.c.attempts + 1)
            .returning(deliveries.c.id, deliveries.c.attempts)
        ).first()
    return Claim(row[0], row[1], signup_id) if row is not None else None


def claim_all(signup_ids: Sequence[int], kind: str, now: datetime) -> list[Claim]:
    """Make this process the only sender of these reminders (the rows of one email), in one
    committed transaction; returns the claims it got, possibly none.

    A fresh row is inserted (a concurrent insert of the same key loses quietly). An existing
    one is taken over only by an UPDATE conditional on the status and attempt count just
    read, so of two senders trying at once exactly one succeeds. Either needs the sign-up to
    be remindable at that moment (_remindable). Rows are claimed in id order, so two senders
    never wait for each other in a cycle.
    """
    try:
        held = [
            held
            for held in (_claim_row(signup_id, kind, now) for signup_id in sorted(set(signup_ids)))
            if held is not None
        ]
        if held:
            db.session.commit()
        else:
            db.session.rollback()
    except Exception:
        db.session.rollback()
        raise
    return held


def claim(signup_id: int, kind: str, now: datetime) -> Claim | None:
    """claim_all for one reminder: the claim, or None if it is not ours."""
    held = claim_all([signup_id], kind, now)
    return held[0] if held else None


def _same_claims(claims: Sequence[Claim]):
    """SQL: the delivery rows of these claims, still as this sender claimed them."""
    return or_(
        *(
            and_(deliveries.c.id == held.delivery_id, deliveries.c.attempts == held.attempts)
            for held in claims
        )
    )


def _record(claims: Claim | Sequence[Claim], status: str, now: datetime, error: str = "") -> None:
    """The outcome of one email's claims, committed at once (the crash window is this commit)."""
    claims = [claims] if isinstance(claims, Claim) else list(claims)
    db.session.execute(
        update(deliveries)
        .where(deliveries.c.status == CLAIMED, _same_claims(claims))
        .values(
            status=status,
            sent_at=now if status == SENT else None,
            last_error=error[:300],
        )
    )
    db.session.commit()


# --- the email ---------------------------------------------------------------------------------


def _mail_domain() -> str:
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "organizer.local"


def message_id(signup: Signup, kind: str) -> str:
    """The same for every copy of one reminder, so a duplicate is recognisable as one (an
    email for several sign-ups is named by the first of them)."""
    return f"<reminder-{signup.id}-{kind}@{_mail_domain()}>"


def build_reminder(signups: Signup | Sequence[Signup], kind: str, now: datetime):
    """The reminder in the volunteer's language: when, where (the hidden place too, once they
    may see it, else when they will), their sign-up page, and the one-click "I can't come".

    `signups`: one sign-up, or those of one address to one action with the same start (a
    volunteer in several shifts): one email lists their shifts, each with its own link.
    """
    group = sorted([signups] if isinstance(signups, Signup) else signups, key=lambda s: s.id)
    lead = group[0]
    event = lead.event
    show_place = signup_service.can_see_location(event, lead, now)
    reveal_at = event.reveal_at()
    several = group if len(group) > 1 else []
    return build_email(
        lead.email,
        "reminder",
        lead.locale,
        headers={"Message-ID": message_id(lead, kind), "Auto-Submitted": "auto-generated"},
        signup=lead,
        event=event,
        kind=kind,
        start=start_of(lead),
        shift=lead.shift,
        # Two or more shifts: listed, each with its "I can't come" (one cancels one shift).
        shift_signups=several,
        cant_come_urls=[(s, cant_come_url(s)) for s in several],
        show_place=show_place,
        reveal_later=event.location_hidden and not show_place and reveal_at is not None,
        reveal_at=reveal_at,
        manage_url=notifications.manage_url(lead),
        event_url=absolute_url("events.detail", event_id=event.id),
        cant_come_url=cant_come_url(lead),
    )


# --- the mail server ---------------------------------------------------------------------------


class TemporaryFailure(Exception):
    """This reminder could not be sent now; it is tried again after backoff."""


class PermanentFailure(Exception):
    """The server refused the address for good (5xx)."""


class ServerUnavailable(TemporaryFailure):
    """The connection failed: this reminder waits, and so does the rest of the run."""


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}"


class _Mailer:
    """One connection for the whole run, opened on first use and again after a failure."""

    def __init__(self) -> None:
        config = current_app.config
        if config.get("MAIL_SERVER"):
            self.connection = mail.get_connection(
                backend="smtp",
                host=config["MAIL_SERVER"],
                port=config["MAIL_PORT"],
                timeout=config.get("MAIL_TIMEOUT", 10),
            )
        else:
            self.connection = mail.get_connection()
        self.opened = False

    def send(self, message) -> None:
        try:
            if not self.opened:
                self.connection.open()
                self.opened = True
            self.connection.send_messages([message])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            if 500 <= code < 600:
                raise PermanentFailure(_reply(code, reply)) from exc
            if code == 421:
                self.close()
                raise ServerUnavailable(_reply(code, reply)) from exc
            raise TemporaryFailure(_reply(code, reply)) from exc
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(_reply(exc.smtp_code, exc.smtp_error)) from exc
            self.close()
            raise TemporaryFailure(_reply(exc.smtp_code, exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timeout, auth
            self.close()
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self.opened:
            self.opened = False
            try:
                self.connection.close()
            except (smtplib.SMTPException, OSError):
                pass


# --- a run -------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """Emails sent, failed and bounced (one email may cover a volunteer's several shifts);
    deferred counts the sign-ups whose reminder was not tried."""

    sent: int = 0
    failed: int = 0  # a temporary fault: tried again by a later run while still due
    bounced: int = 0
    deferred: int = 0  # not tried: the mail server was unreachable; the next run sends them

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.deferred == 0

    def summary(self) -> str:
        return (
            f"sent {self.sent}, failed {self.failed}, bounced {self.bounced}, "
            f"deferred {self.deferred}"
        )


class _Clock:
    """The run's `now`, moving on with real time: claims of a long run are stamped when made."""

    def __init__(self, now: datetime) -> None:
        self.start, self.started = now, monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=monotonic() - self.started)


def _load(signup_ids: Sequence[int]) -> dict[int, Signup]:
    rows = db.session.scalars(
        select(Signup)
        .where(Signup.id.in_(list(signup_ids)))
        .options(
            joinedload(Signup.shift),
            joinedload(Signup.event).options(
                joinedload(Event.organization),
                selectinload(Event.translations),
                selectinload(Event.cohosts).joinedload(EventHost.organization),
            ),
        )
        .execution_options(populate_existing=True)
    )
    return {signup.id: signup for signup in rows}


def _group_key(signup: Signup | None, kind: str, now: datetime) -> tuple | None:
    """What one email covers: an address's sign-ups to one action with the same start and
    kind; None for a sign-up no longer due (cancelled, moved) since the list was made."""
    if signup is None or due_kind(signup, now) != kind:
        return None
    return (signup.event_id, signup.email, kind, start_of(signup))


def _groups(
    batch: Sequence[tuple[int, str]], signups: dict[int, Signup], now: datetime, last_batch: bool
) -> tuple[list[tuple[str, list[Signup], int]], int]:
    """The emails of a batch, as (kind, sign-ups, index in the batch after its last one), and
    how much of the batch they use: all but a group that may go on in the next batch (0 when
    one group fills the whole batch)."""
    keys = [_group_key(signups.get(signup_id), kind, now) for signup_id, kind in batch]
    size = len(keys)
    if not last_batch and keys[-1] is not None:
        while size > 0 and keys[size - 1] == keys[-1]:
            size -= 1
    groups: list[tuple[str, list[Signup], int]] = []
    start = 0
    while start < size:
        end = start + 1
        while end < size and keys[end] == keys[start]:
            end += 1
        if keys[start] is not None:
            members = [signups[signup_id] for signup_id, _kind in batch[start:end]]
            groups.append((batch[start][1], members, end))
        start = end
    return groups, size


def send_due(
    now: datetime, batch_size: int = BATCH_SIZE, progress: Progress = SILENT
) -> RunSummary:
    """Send every reminder due at `now` that nobody has sent yet; safe to run concurrently.
    `progress` counts the due sign-ups dealt with."""
    clock = _Clock(now)
    summary = RunSummary()
    with sending_context():
        due = due_reminders(now)  # one email's reminders come one after another
        progress.start(len(due))
        mailer = _Mailer()
        try:
            position, limit = 0, batch_size
            while position < len(due):
                batch = due[position : position + limit]
                signups = _load([signup_id for signup_id, _kind in batch])
                last_batch = position + len(batch) >= len(due)
                groups, size = _groups(batch, signups, clock(), last_batch)
                if size == 0:
                    limit *= 2  # one volunteer's reminders fill the batch: read on
                    continue
                limit = batch_size
                for kind, members, end in groups:
                    try:
                        _send_group(members, kind, clock, mailer, summary)
                    except ServerUnavailable:
                        summary.deferred += len(due) - position - end
                        return summary
                position += size
                progress.advance(size)
        finally:
            mailer.close()
            db.session.rollback()  # nothing pending; releases the connection's snapshot
    return summary


def _send_group(
    members: Sequence[Signup], kind: str, clock: _Clock, mailer: _Mailer, summary: RunSummary
) -> None:
    """Claim, build, send and record one email (one reminder, or several sign-ups of one
    volunteer); ServerUnavailable stops the run."""
    held = claim_all([signup.id for signup in members], kind, clock())
    if not held:
        return  # no longer remindable, or sent, being sent, waiting for its retry elsewhere
    claimed = {c.signup_id for c in held}
    signups = [signup for signup in members if signup.id in claimed]
    try:
        message = build_reminder(signups, kind, clock())
    except Exception as exc:  # a bug for one volunteer must not stop the others
        log.exception("Could not build the %s reminder for sign-ups %s", kind, sorted(claimed))
        summary.failed += 1
        _record(held, FAILED, clock(), f"render: {type(exc).__name__}: {exc}")
        return
    try:
        mailer.send(message)
    except PermanentFailure as exc:
        summary.bounced += 1
        _record(held, BOUNCED, clock(), str(exc))
    except TemporaryFailure as exc:
        summary.failed += 1
        _record(held, FAILED, clock(), str(exc))
        if isinstance(exc, ServerUnavailable):
            log.warning("Reminders interrupted, the next run sends the rest: %s", exc)
            raise
    else:
        summary.sent += 1
        _record(held, SENT, clock())


# --- "I can't come": the one-click link in the reminder ----------------------------------------


class LinkProblem(Exception):
    """Why an "I can't come" link does nothing: invalid, expired, outdated (the sign-up was
    cancelled and made again since), cancelled (already), closed (declined), over, or
    event_cancelled. `signup` is known for all but invalid and expired."""

    def __init__(self, reason: str, signup: Signup | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.signup = signup


def _confirmed_stamp(signup: Signup) -> int:
    return int(signup.confirmed_at.timestamp()) if signup.confirmed_at else 0


def cant_come_token(signup: Signup) -> str:
    """Signed for this sign-up as confirmed now: a later sign-up of the same row needs a new one."""
    return make_token(CANT_COME_PURPOSE, [signup.id, _confirmed_stamp(signup)])


def cant_come_url(signup: Signup) -> str:
    with url_context():
        return absolute_url("reminders.cant_come", token=cant_come_token(signup))


def signup_for_cant_come(token: str, now: datetime) -> Signup:
    """The sign-up the link may cancel right now, or LinkProblem saying why not."""
    try:
        payload = read_token(CANT_COME_PURPOSE, token, max_age=CANT_COME_MAX_AGE)
    except InvalidToken as exc:
        raise LinkProblem("expired" if exc.expired else "invalid") from None
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and all(isinstance(part, int) and not isinstance(part, bool) for part in payload)
    ):
        raise LinkProblem("invalid")
    signup = db.session.get(Signup, payload[0])
    if signup is None:
        raise LinkProblem("invalid")
    event = signup.event
    if signup.status == st.CANCELLED:
        # Cancelled since: by this link (a second tap) or otherwise.
        raise LinkProblem("cancelled", signup)
    if _confirmed_stamp(signup) != payload[1]:
        raise LinkProblem("outdated", signup)
    if event.is_cancelled:
        raise LinkProblem("event_cancelled", signup)
    if event.ends_at <= now:
        raise LinkProblem("over", signup)
    if signup.status not in st.ACTIVE_STATUSES:
        raise LinkProblem("closed", signup)
    return signup


def cant_come(token: str, now: datetime) -> signup_service.RosterChange:
    """Cancel the sign-up behind the link: the place goes to the first on the waitlist, who is
    emailed. A second tap (or two at once) finds it cancelled and changes nothing."""
    signup = signup_for_cant_come(token, now)
    try:
        change = signup_service.cancel(signup.id, now)
    except InvalidTransition as exc:
        reason = "cancelled" if exc.state == st.CANCELLED else "closed"
        raise LinkProblem(reason, signup) from None
    except NotFound:
        raise LinkProblem("invalid") from None
    notifications.notify_promoted(change.promoted, now)
    return change
