"""Kill `flask reminders send` with SIGKILL part-way through a real SMTP exchange, run it again:
every volunteer gets exactly one reminder of each kind due.

The kill lands while a message is in flight (sent to the server, not yet accepted), the case a
crash-safe sender must get right: the re-run right away leaves that claim alone and sends the
rest, and a run after STALE_CLAIM sends it. The one moment where a duplicate is possible (the
server said 250 and the sender died before committing its mark) is covered, with its identical
Message-ID, by test_killed_after_the_server_accepted_sends_an_identical_copy in
test_reminders_send.py.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select, text

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import ReminderDelivery
from organizer.services.reminders import SENT, STALE_CLAIM

from .conftest import free_port
from .factories import make_event, make_org, make_signup
from .helpers import scratch_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
VOLUNTEERS = 40
DELAY = 0.05  # seconds the sink takes to accept each message
MESSAGE_ID = re.compile(rb"^message-id:\s*<reminder-(\d+)-(first|second)@", re.I | re.M)


class SlowSink:
    """Accepts every message a little slowly, remembering recipient and reminder kind."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[tuple[str, str, str]] = []  # (recipient, signup id, kind)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)  # a killed client cancels this: nothing accepted
        match = MESSAGE_ID.search(envelope.content)
        signup_id, kind = (match[1].decode(), match[2].decode()) if match else ("", "")
        with self.lock:
            self.received.extend((rcpt, signup_id, kind) for rcpt in envelope.rcpt_tos)
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@pytest.fixture()
def crash_db(tmp_path, database_url):
    with scratch_database(database_url, tmp_path, "reminders_crash") as url:
        yield url


@pytest.fixture()
def sink():
    handler = SlowSink(delay=DELAY)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def _sender(db_url: str, port: int, now: datetime) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "ORGANIZER_CONFIG"}}
    env.update(
        DATABASE_URL=db_url.replace("postgresql+psycopg://", "postgresql://"),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(port),
        PUBLIC_URL="http://localhost",
        SECRET_KEY="testing-secret",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "organizer", "reminders", "send"]
        + ["--now", now.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _seed(db_url: str) -> dict[str, set[tuple[str, str]]]:
    """Each volunteer confirmed for two actions: one due for its 24-hour reminder, one for its
    2-hour one. Returns the (signup id, kind) each address should get."""

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = db_url

    app = create_app(Config)
    expected: dict[str, set[tuple[str, str]]] = {}
    with app.app_context():
        db.create_all()
        org = make_org()
        tomorrow = make_event(org, starts_at=NOW + timedelta(hours=20))
        soon = make_event(org, starts_at=NOW + timedelta(minutes=100), second_reminder=True)
        for n in range(VOLUNTEERS):
            email = f"volunteer{n}@example.org"
            for event, kind in ((tomorrow, "first"), (soon, "second")):
                signup = make_signup(event, "confirmed", email=email)
                expected.setdefault(email, set()).add((str(signup.id), kind))
        db.session.remove()
        db.engine.dispose()
    return expected


def _sent_count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count())
            .select_from(ReminderDelivery)
            .where(ReminderDelivery.status == SENT)
        )


def _kill_between_messages(process, handler, engine, kill_after: int) -> int:
    """SIGKILL once `kill_after` messages are accepted AND recorded, so that the next message
    is in flight (the sink holds each for DELAY): returns how many the server had accepted."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        accepted = handler.count()
        if accepted >= kill_after and _sent_count(engine) == accepted == handler.count():
            process.send_signal(signal.SIGKILL)
            process.communicate()
            return accepted
        time.sleep(0.002)
    raise AssertionError("the sender never got that far")


@pytest.mark.parametrize("kill_after", [3, 45])
def test_killed_sender_rerun_sends_each_reminder_once(crash_db, sink, kill_after):
    controller, handler = sink
    expected = _seed(crash_db)
    total = sum(len(kinds) for kinds in expected.values())
    engine = create_engine(crash_db.replace("postgresql://", "postgresql+psycopg://"))
    try:
        # 1. Kill it while one message is in flight.
        first = _sender(crash_db, controller.port, NOW)
        at_kill = _kill_between_messages(first, handler, engine, kill_after)
        assert first.returncode == -signal.SIGKILL
        assert kill_after <= at_kill < total
        with engine.connect() as conn:
            in_flight = conn.scalar(
                text("SELECT count(*) FROM reminder_deliveries WHERE status = 'claimed'")
            )
        assert in_flight in (0, 1)  # only the message in flight (if any) was claimed ahead

        # 2. Right away: the rest is sent; the dead sender's fresh claim is left alone.
        rerun = _sender(crash_db, controller.port, NOW + timedelta(minutes=1))
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err.decode()
        assert out.decode().startswith(f"sent {total - at_kill - in_flight}, failed 0")
        assert handler.count() == total - in_flight

        # 3. Once its claim is stale, it is taken over and sent.
        rerun = _sender(crash_db, controller.port, NOW + STALE_CLAIM + timedelta(minutes=1))
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err.decode()
        assert out.decode().startswith(f"sent {in_flight}, failed 0")

        # 4. Nothing is left, and a later run sends nothing.
        rerun = _sender(crash_db, controller.port, NOW + STALE_CLAIM + timedelta(minutes=5))
        out, err = rerun.communicate(timeout=120)
        assert out.decode().startswith("sent 0, failed 0"), err.decode()

        per_reminder = Counter(handler.received)
        assert set(per_reminder.values()) == {1}, per_reminder.most_common(3)
        got: dict[str, set[tuple[str, str]]] = {}
        for rcpt, signup_id, kind in handler.received:
            got.setdefault(rcpt, set()).add((signup_id, kind))
        assert got == expected  # everyone: one 24-hour and one 2-hour reminder, no more
        with engine.connect() as conn:
            statuses = conn.execute(
                text("SELECT status, count(*) FROM reminder_deliveries GROUP BY status")
            ).all()
        assert dict(statuses) == {SENT: total}
    finally:
        engine.dispose()


def test_two_senders_at_once_send_each_reminder_once(crash_db, sink):
    controller, handler = sink
    handler.delay = 0.005
    expected = _seed(crash_db)
    total = sum(len(kinds) for kinds in expected.values())
    senders = [_sender(crash_db, controller.port, NOW) for _ in range(2)]
    outputs = [s.communicate(timeout=120) for s in senders]
    for sender, (_out, err) in zip(senders, outputs, strict=True):
        assert sender.returncode == 0, err.decode()
    sent = [int(out.decode().split(",")[0].removeprefix("sent ")) for out, _err in outputs]
    assert sum(sent) == total
    assert Counter(handler.received).most_common(1)[0][1] == 1
    assert len(handler.received) == total
