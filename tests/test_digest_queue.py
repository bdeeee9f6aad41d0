"""The Redis path of `digest send`: real Redis, real `rq worker` processes, a real SMTP server.

Redis database 7 (8, ... for further xdist workers; TEST_REDIS_URL to change it) is flushed
before and after; nothing else in Redis is touched. The database is a SQLite FILE (the
workers are other processes), or the PostgreSQL test database when DATABASE_URL points at one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models.digest import DELIVERY_SENT, DigestDelivery, DigestRun

from .factories import make_event, make_org, make_subscription
from .helpers import empty_all_tables

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# A Redis database of its own per test worker (7, 8, ...): each test flushes it.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
REDIS_URL = os.environ.get(
    "TEST_REDIS_URL", f"redis://127.0.0.1:6379/{7 + (int(_WORKER) if _WORKER.isdigit() else 0)}"
)
SUBSCRIBERS = 30
BATCH = 10


@pytest.fixture()
def redis_url():
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()


@pytest.fixture()
def queue_app(database_url, smtp_server, redis_url, tmp_path):
    """An app on a database other processes can open too, sending to the test SMTP server."""
    controller, _ = smtp_server
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        database_url = f"sqlite:///{tmp_path / 'queue.db'}"

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        MAIL_SERVER = "127.0.0.1"
        MAIL_PORT = controller.port
        MAIL_BACKEND = "smtp"
        REDIS_URL = redis_url

    app = create_app(Config)
    with app.app_context():
        db.create_all()
        yield app
        empty_all_tables()


def worker_env(app) -> dict[str, str]:
    """The environment `create_app()` reads, matching the test app's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "REDIS"))}
    env.update(
        ORGANIZER_CONFIG="development",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=app.config["SECRET_KEY"],
        PUBLIC_URL=app.config["PUBLIC_URL"],
        MAIL_SERVER=app.config["MAIL_SERVER"],
        MAIL_PORT=str(app.config["MAIL_PORT"]),
        PYTHONPATH=str(ROOT),
    )
    env.pop("TEST_DATABASE_URL", None)
    return env


@pytest.fixture()
def workers(queue_app, redis_url, tmp_path):
    """Two `rq worker digests` processes: one SimpleWorker (the documented way), one forking."""
    from redis import Redis
    from rq import Queue, Worker

    rq = str(Path(sys.executable).parent / "rq")
    env = worker_env(queue_app)
    logs, procs = [], []
    for n, worker_class in enumerate(("rq.worker.SimpleWorker", "rq.worker.Worker")):
        log = open(tmp_path / f"worker{n}.log", "w")  # closed below
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [rq, "worker", "digests", "--url", redis_url, "--worker-class", worker_class],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    connection = Redis.from_url(redis_url)
    queue = Queue("digests", connection=connection)
    deadline = time.monotonic() + 30
    while Worker.count(connection=connection, queue=queue) < 2:
        assert all(p.poll() is None for p in procs), _read(tmp_path)
        assert time.monotonic() < deadline, "the rq workers did not start\n" + _read(tmp_path)
        time.sleep(0.1)
    try:
        yield procs
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in logs:
            log.close()
        connection.close()


def _read(tmp_path) -> str:
    return "\n".join(p.read_text() for p in sorted(tmp_path.glob("worker*.log")))


def _populate(now: datetime) -> list[str]:
    org = make_org()
    for days in (1, 2, 4):
        make_event(org, starts_in=timedelta(days=days))
    zones = ("Asia/Jerusalem", "Europe/London", "America/New_York")
    subs = [
        make_subscription(
            locale=("en", "he", "ar")[i % 3],
            timezone=zones[i % 3],
            weekday=0,  # Monday 00:00 on their clock: due for the whole week
            hour=0,
        )
        for i in range(SUBSCRIBERS)
    ]
    return [s.email for s in subs]


def test_send_due_through_redis_workers_sends_each_digest_once(
    queue_app, workers, mailbox, tmp_path
):
    from organizer.services.digest_sender import send_due

    now = datetime.now(UTC)
    emails = _populate(now)

    summary = send_due(now, use_queue=True, batch_size=BATCH)

    assert (summary.sent, summary.failed, summary.retry_later) == (SUBSCRIBERS, 0, 0), (
        summary,
        _read(tmp_path),
    )
    assert (summary.empty, summary.bounced, summary.batches) == (0, 0, SUBSCRIBERS // BATCH)
    assert summary.ok
    messages = mailbox.wait_for(SUBSCRIBERS, timeout=10)
    per_address = Counter(m["To"].addresses[0].addr_spec for m in messages)
    assert per_address == Counter(dict.fromkeys(emails, 1))
    assert len({m["Message-ID"] for m in messages}) == SUBSCRIBERS

    db.session.rollback()  # a fresh snapshot: the workers wrote the deliveries
    statuses = db.session.scalars(select(DigestDelivery.status)).all()
    assert statuses == [DELIVERY_SENT] * SUBSCRIBERS
    run = db.session.get(DigestRun, summary.run_id)
    assert (run.sent, run.failed, run.finished_at is not None) == (SUBSCRIBERS, 0, True)
    # Both workers took part (3 batches, 2 workers: neither can have done them all alone
    # unless the other never started, which the fixture rules out).
    assert all(p.poll() is None for p in workers)

    # A second run in the same week finds nobody due and sends nothing more.
    again = send_due(now + timedelta(minutes=5), use_queue=True, batch_size=BATCH)
    assert (again.sent, again.failed, again.batches) == (0, 0, 0)
    time.sleep(0.3)
    assert len(mailbox.messages) == SUBSCRIBERS


def test_a_failing_job_is_reported_failed_for_a_later_run(queue_app, workers, monkeypatch):
    from organizer.services import digest_queue

    monkeypatch.setattr(digest_queue, "JOB_FUNCTION", "organizer.digests.worker.no_such_job")
    results = digest_queue.run_batches(iter([[1, 2, 3], [4, 5]]), datetime.now(UTC), timeout=30)
    assert sorted((r.failed, r.retry_later, r.sent) for r in results) == [(2, 2, 0), (3, 3, 0)]


def test_jobs_nobody_runs_time_out_as_failed_and_are_cancelled(queue_app, redis_url):
    from redis import Redis
    from rq import Queue

    from organizer.services import digest_queue

    queue_app.config["DIGEST_QUEUE"] = "digests-nobody-listens"
    results = digest_queue.run_batches(iter([[1, 2], [], [3]]), datetime.now(UTC), timeout=0.5)
    assert sorted((r.failed, r.retry_later) for r in results) == [(1, 1), (2, 2)]
    assert Queue("digests-nobody-listens", connection=Redis.from_url(redis_url)).count == 0


def test_flask_digest_worker_command_runs_the_queued_batches(queue_app, redis_url, mailbox):
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    from organizer.services import digest_queue
    from organizer.services.digest_sender import due_subscription_ids

    now = datetime.now(UTC)
    emails = _populate(now)
    queue = Queue("digests", connection=Redis.from_url(redis_url))
    jobs = [
        queue.enqueue(digest_queue.JOB_FUNCTION, ids, now.isoformat(), "run-1")
        for ids in due_subscription_ids(now, batch_size=BATCH)
    ]
    db.session.commit()
    env = {**worker_env(queue_app), "REDIS_URL": redis_url, "FLASK_APP": "organizer"}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "digest", "worker", "--burst"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    values = [Job.fetch(j.id, connection=queue.connection).return_value() for j in jobs]
    assert sum(v["sent"] for v in values) == SUBSCRIBERS, done.stderr
    per_address = Counter(
        m["To"].addresses[0].addr_spec for m in mailbox.wait_for(SUBSCRIBERS, timeout=10)
    )
    assert per_address == Counter(dict.fromkeys(emails, 1))
