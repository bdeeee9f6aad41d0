"""Kill the sender with SIGKILL part-way, run it again: every due subscriber has one digest.

The only duplicates allowed are messages the server accepted in the last moments before the
kill, before their `sent` mark was committed (at most DIGEST_COMMIT_EVERY of them); they carry
the same Message-ID as the first copy, so they are recognisable. The test prints how many.
"""

from __future__ import annotations

import asyncio
import os
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
from sqlalchemy import select

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models.digest import DELIVERY_SENT, DigestDelivery
from organizer.services.digest_sender import STALE_CLAIM

from .conftest import free_port
from .factories import make_event, make_org, make_subscription
from .helpers import scratch_database

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # Tuesday, 10:00 in Jerusalem
WEEK = "2026-W46"
SUBSCRIBERS = 150


class SlowSink:
    """Accepts every message a little slowly, remembering recipient and Message-ID."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        message_id = ""
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode()
                break
        with self.lock:
            self.received.extend((rcpt, message_id) for rcpt in envelope.rcpt_tos)
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@pytest.fixture()
def crash_db(tmp_path, database_url):
    """A database another process can open: a SQLite file, or a PostgreSQL database."""
    with scratch_database(database_url, tmp_path, "crash") as url:
        yield url


@pytest.fixture()
def sink():
    handler = SlowSink(delay=0.01)
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
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "organizer",
            "digest",
            "send",
            "--inline",
            "--now",
            now.isoformat(),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("kill_after", [3, 70])
def test_killed_sender_rerun_sends_each_digest_once(crash_db, sink, kill_after):
    controller, handler = sink

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = crash_db

    app = create_app(Config)
    with app.app_context():
        db.create_all()
        make_event(make_org(), starts_at=NOW + timedelta(days=2))
        subs = {}
        for _ in range(SUBSCRIBERS):
            sub = make_subscription()
            subs[sub.email] = sub.id
        db.session.remove()
        db.engine.dispose()

    # 1. Kill it once `kill_after` messages have reached the server.
    first = _sender(crash_db, controller.port, NOW)
    deadline = time.monotonic() + 60
    while handler.count() < kill_after and time.monotonic() < deadline:
        assert first.poll() is None, first.stderr.read().decode()
        time.sleep(0.002)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    at_kill = handler.count()
    assert kill_after <= at_kill < SUBSCRIBERS

    # 2. Right away: the dead sender's claims are still fresh, nobody is sent twice.
    rerun = _sender(crash_db, controller.port, NOW + timedelta(minutes=1))
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    assert handler.count() == at_kill

    # 3. Once its claims are stale (STALE_CLAIM), they are taken over and the rest is sent.
    rerun = _sender(crash_db, controller.port, NOW + STALE_CLAIM + timedelta(minutes=1))
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    assert out.decode().startswith("sent ")

    per_subscriber = Counter(rcpt for rcpt, _ in handler.received)
    assert set(per_subscriber) == set(subs)  # everyone got theirs
    ids = {rcpt: {mid for r, mid in handler.received if r == rcpt} for rcpt in subs}
    for rcpt, sub_id in subs.items():
        # Copies, if any, are the same message: one Message-ID, the deterministic one.
        assert ids[rcpt] == {f"<digest-{sub_id}-{WEEK}@localhost>"}
    duplicates = sum(n - 1 for n in per_subscriber.values())
    commit_every = TestingConfig.DIGEST_COMMIT_EVERY
    print(
        f"\nkilled after {at_kill} accepted; duplicates after the re-run: {duplicates} "
        f"(bound: DIGEST_COMMIT_EVERY={commit_every})"
    )
    assert duplicates <= commit_every

    with app.app_context():
        rows = db.session.scalars(select(DigestDelivery)).all()
        assert len(rows) == SUBSCRIBERS
        assert {r.status for r in rows} == {DELIVERY_SENT}
        db.session.remove()
        db.engine.dispose()
