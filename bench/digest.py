"""Digest benchmark: `digest send` to 100,000 subscribers against a plain smtplib baseline.

    make bench                                   # pages, then this
    .venv/bin/python -m bench.digest             # this part alone
    BENCH_SUBSCRIBERS=5000 .venv/bin/python -m bench.digest      # a quick iteration
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/organizer_bench .venv/bin/python -m bench
                                                 # PostgreSQL too (or pass --pg)

One SMTP sink (aiosmtpd in its own process, counting messages, distinct recipients and bytes)
receives everything. In the same run:
  (a) baseline: N pre-rendered multipart messages pushed through ONE smtplib connection;
  (b) inline: `flask digest send --now ...` in a subprocess (wall time; its peak RSS from wait4);
  (c) Redis: the same command with REDIS_URL set and 2 `rq worker digests` processes.
Deliveries are deleted between runs, so every run sends the whole week again.
Figures go to the "Digest" section of bench/RESULTS.md and to bench/results.json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, delete, insert, text
from sqlalchemy.engine import make_url

from bench import update_results_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_JSON = Path(__file__).resolve().parent / "results.json"
SECTION = "## Digest"

ORGANIZATIONS = 20
ACTIONS = 500
CHUNK = 5000
LOCALES = ("en",) * 5 + ("he",) * 3 + ("ar",) * 2
ZONES = ("Asia/Jerusalem",) * 6 + (
    "Europe/London",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Amman",
)
CAUSES = ("peace", "equality", "humanitarian", "bereavement", "education", "women", "democracy")
REGIONS = ("jerusalem", "tel_aviv", "haifa_north", "galilee", "center", "negev", "west_bank")
KINDS = ("rally", "demonstration", "aid_drive", "dialogue", "training", "memorial", "meeting")
TITLES = {
    "en": "Vigil for peace {i}",
    "he": "משמרת למען שלום {i}",
    "ar": "وقفة من أجل السلام {i}",
}
SECRET = "bench-not-secret"  # noqa: S105
PUBLIC_URL = "https://organizer.example"
SENDER_TIMEOUT = 3600


# --------------------------------------------------------------------------- the SMTP sink


def _sink_main(port, ready, stop, counters, generation) -> None:
    """Runs in its own process: accept every message quickly and count it."""
    from aiosmtpd.controller import Controller

    class Counting:
        def __init__(self) -> None:
            self.generation = 0
            self.recipients: set[str] = set()

        async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook
            if generation.value != self.generation:
                self.generation = generation.value
                self.recipients = set()
            self.recipients.update(envelope.rcpt_tos)
            counters[0] += 1
            counters[1] = len(self.recipients)
            counters[2] += len(envelope.content)
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class Sink:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")  # before any engine or thread exists
        self.port = _free_port()
        self._ready = ctx.Event()
        self._stop = ctx.Event()
        self._counters = ctx.Array("q", 3, lock=False)  # messages, distinct recipients, bytes
        self._generation = ctx.Value("i", 0, lock=False)
        self._process = ctx.Process(
            target=_sink_main,
            args=(self.port, self._ready, self._stop, self._counters, self._generation),
            daemon=True,
        )

    def __enter__(self) -> Sink:
        self._process.start()
        if not self._ready.wait(30):
            raise RuntimeError("SMTP sink did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._process.join(10)

    def reset(self) -> None:
        self._generation.value += 1
        for i in range(3):
            self._counters[i] = 0

    def wait_settled(self, expected: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._counters[0] < expected and time.monotonic() < deadline:
            time.sleep(0.05)

    @property
    def messages(self) -> int:
        return self._counters[0]

    @property
    def recipients(self) -> int:
        return self._counters[1]

    @property
    def bytes(self) -> int:
        return self._counters[2]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- the data


def bench_now() -> datetime:
    """Sunday 20:00 UTC of this week: every zone used here is still in the same ISO week
    (New York 15:00, Amman 23:00), and every subscriber's weekday (Mon-Sat) has come."""
    today = datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0)
    return today + timedelta(days=6 - today.weekday())


def build_app(database_url: str):
    from config import Config
    from organizer import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url
        SECRET_KEY = SECRET
        PUBLIC_URL = PUBLIC_URL
        MAIL_BACKEND = "dummy"
        REDIS_URL = None

    return create_app(BenchConfig)


def fresh_database(url: str, tmp: Path) -> str:
    """A new, empty database: a SQLite file in `tmp`, or the PostgreSQL database in `url`."""
    if url == "sqlite":
        return f"sqlite:///{tmp / 'digest-bench.db'}"
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return parsed.render_as_string(hide_password=False)


def populate(subscribers: int, now: datetime, seed: int = 7) -> dict[str, int]:
    """Organizations, actions, highlights, some sign-ups and the subscribers, in bulk."""
    from organizer.extensions import db
    from organizer.models import Event, EventCause, EventHost, Organization, Signup
    from organizer.models.digest import (
        Highlight,
        Subscription,
        SubscriptionCause,
        SubscriptionOrganization,
        SubscriptionRegion,
    )

    rng = random.Random(seed)
    session = db.session
    session.execute(
        insert(Organization),
        [
            {
                "slug": f"movement-{i:02d}",
                "name": f"Movement {i}",
                "timezone": "Asia/Jerusalem",
                "default_locale": LOCALES[i % len(LOCALES)],
                "created_at": now,
            }
            for i in range(1, ORGANIZATIONS + 1)
        ],
    )
    org_ids = list(session.scalars(db.select(Organization.id).order_by(Organization.id)))

    events, extra = [], []
    span = timedelta(days=14) - timedelta(hours=4)
    for i in range(ACTIONS):
        start = now + timedelta(hours=2) + span * i / ACTIONS
        language = LOCALES[i % len(LOCALES)]
        online = i % 9 == 0
        events.append(
            {
                "organization_id": org_ids[i % ORGANIZATIONS],
                "title": TITLES[language].format(i=i),
                "description_md": "Join us.",
                "description_html": "<p>Join us.</p>",
                "language": language,
                "kind": KINDS[i % len(KINDS)],
                "region": REGIONS[i % len(REGIONS)],
                "city": "Jerusalem" if i % 2 else "Haifa",
                "starts_at": start,
                "ends_at": start + timedelta(hours=2),
                "timezone": "Asia/Jerusalem",
                "is_online": online,
                "address": "" if online else f"{i} Hidden Street",
                "online_url": f"https://meet.example/{i}" if online else "",
                "capacity": None if i % 3 == 0 else 40 + i % 60,
                "waitlist_enabled": i % 4 != 0,
                "visibility": "public",
                "location_visibility": "confirmed" if i % 5 == 0 else "public",
                "status": "published",
                "published_at": now - timedelta(days=1),
                "created_at": now - timedelta(days=2),
                "updated_at": now - timedelta(days=1),
            }
        )
    # Some that must never appear: drafts, cancelled, unlisted, past, beyond 14 days.
    for i in range(50):
        row = dict(events[i], title=f"Not for digests {i}")
        kind = i % 5
        if kind == 0:
            row["status"] = "draft"
        elif kind == 1:
            row.update(status="cancelled", cancelled_at=now - timedelta(hours=1))
        elif kind == 2:
            row["visibility"] = "unlisted"
        else:
            shift = timedelta(days=-3) if kind == 3 else timedelta(days=15)
            row.update(starts_at=row["starts_at"] + shift, ends_at=row["ends_at"] + shift)
        extra.append(row)
    session.execute(insert(Event), events + extra)
    event_rows = session.execute(
        db.select(Event.id, Event.organization_id)
        .where(Event.title.not_like("Not for digests%"))
        .order_by(Event.id)
    ).all()
    event_ids = [row.id for row in event_rows]
    session.execute(
        insert(EventCause),
        [
            {"event_id": eid, "cause": cause}
            for n, eid in enumerate(event_ids)
            for cause in {CAUSES[n % len(CAUSES)], CAUSES[(n * 3) % len(CAUSES)]}
        ],
    )
    session.execute(
        insert(EventHost),
        [
            {
                "event_id": eid,
                "organization_id": org_ids[(n + 7) % ORGANIZATIONS],
                "status": "accepted",
                "requested_at": now,
                "responded_at": now,
            }
            for n, eid in enumerate(event_ids)
            if n % 6 == 0
        ],
    )
    week = now.astimezone(ZoneInfo("Asia/Jerusalem")).isocalendar()
    week_key = f"{week[0]}-W{week[1]:02d}"
    by_org: dict[int, list[int]] = {}
    for row in event_rows:
        by_org.setdefault(row.organization_id, []).append(row.id)
    session.execute(
        insert(Highlight),
        [
            {"organization_id": org, "event_id": eid, "week": week_key, "created_at": now}
            for org, ids in by_org.items()
            for eid in ids[2:5]
        ],
    )

    for start in range(0, subscribers, CHUNK):
        ids = range(start + 1, min(start + CHUNK, subscribers) + 1)
        subs, follows, causes, regions, signups = [], [], [], [], []
        for sid in ids:
            email = f"subscriber{sid:06d}@bench.example"
            subs.append(
                {
                    "id": sid,
                    "email": email,
                    "name": f"Subscriber {sid}" if sid % 3 else "",
                    "locale": rng.choice(LOCALES),
                    "timezone": rng.choice(ZONES),
                    "weekday": 1 if sid % 2 else rng.randrange(0, 6),
                    "hour": 9 if sid % 2 else rng.randrange(0, 24),
                    "max_actions": 3 if sid % 4 else rng.randrange(1, 6),
                    "status": "active",
                    "bounce_count": 0,
                    "created_at": now - timedelta(days=30),
                    "confirmed_at": now - timedelta(days=29),
                    "token_version": 0,
                }
            )
            if sid % 50 == 7:  # already signed up for one action
                signups.append(
                    {
                        "event_id": event_ids[sid % 40],
                        "name": f"Subscriber {sid}",
                        "email": email,
                        "status": "confirmed",
                        "locale": "en",
                        "created_at": now,
                        "updated_at": now,
                        "queued_at": now,
                        "confirmed_at": now,
                    }
                )
            shape = sid % 10
            if shape == 0:
                continue  # follows nothing: the soonest public actions
            for org in rng.sample(org_ids, rng.randrange(0, 4)):
                follows.append({"subscription_id": sid, "organization_id": org})
            if shape < 7:
                for cause in rng.sample(CAUSES, rng.randrange(1, 3)):
                    causes.append({"subscription_id": sid, "cause": cause})
            if shape > 4:
                for region in rng.sample(REGIONS, rng.randrange(1, 3)):
                    regions.append({"subscription_id": sid, "region": region})
        session.execute(insert(Subscription), subs)
        for model, rows in (
            (SubscriptionOrganization, follows),
            (SubscriptionCause, causes),
            (SubscriptionRegion, regions),
            (Signup, signups),
        ):
            if rows:
                session.execute(insert(model), rows)
    session.commit()
    if db.engine.dialect.name == "postgresql":
        session.execute(text("SELECT setval('subscriptions_id_seq', :n)"), {"n": subscribers})
        session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return {"subscriptions": subscribers, "actions": len(event_ids), "week": week_key}


def reset_deliveries() -> None:
    from organizer.extensions import db
    from organizer.models.digest import DigestDelivery, DigestRun

    db.session.execute(delete(DigestDelivery))
    db.session.execute(delete(DigestRun))
    db.session.commit()


def delivery_counts() -> dict[str, int]:
    from organizer.extensions import db
    from organizer.models.digest import DigestDelivery

    rows = db.session.execute(
        db.select(DigestDelivery.status, db.func.count()).group_by(DigestDelivery.status)
    ).all()
    db.session.commit()
    return {status: count for status, count in rows}


# --------------------------------------------------------------------------- the runs


def _baseline_template(locale: str, title: str, repeat: int) -> bytes:
    """A digest-like multipart message (text and HTML, base64 like the sender's)."""
    message = EmailMessage()
    message["Subject"] = f"3 actions for you this week ({locale})"
    message["From"] = "Organizer <digest@organizer.example>"
    message["To"] = "RCPT@bench.example"
    message["Date"] = "Sun, 22 Nov 2026 20:00:00 +0000"
    message["Message-ID"] = "<digest-RCPT-2026-W47@organizer.example>"
    message["List-Unsubscribe"] = f"<{PUBLIC_URL}/digest/unsubscribe/RCPT>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    lines = [title.format(i=n) + " - Tue 9 Dec 18:00 - Jerusalem" for n in range(3)] * repeat
    text_body = "\n".join(lines) + f"\n\nUnsubscribe: {PUBLIC_URL}/digest/unsubscribe/RCPT\n"
    html = "".join(f"<p style='margin:0 0 12px'><b>{line}</b></p>" for line in lines)
    message.set_content(text_body, cte="base64")
    message.add_alternative(f"<html><body dir='auto'>{html}</body></html>", "html", cte="base64")
    return message.as_bytes(policy=SMTP_POLICY)


def baseline(sink: Sink, count: int, target_bytes: float | None = None) -> dict:
    """Pre-render `count` multipart messages as large as the digests (`target_bytes` on
    average, as the sink measured them), then time one smtplib connection pushing them."""
    templates = []
    for locale, title in TITLES.items():
        repeat = 1
        if target_bytes:
            one, two = (len(_baseline_template(locale, title, r)) for r in (1, 2))
            repeat = max(1, round(1 + (target_bytes - one) / max(two - one, 1)))
        templates.append(_baseline_template(locale, title, repeat))
    messages = []
    for i in range(count):
        rcpt = f"subscriber{i + 1:06d}"
        messages.append((f"{rcpt}@bench.example", templates[i % 3].replace(b"RCPT", rcpt.encode())))
    sink.reset()
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for rcpt, data in messages:
            smtp.sendmail("digest@organizer.example", [rcpt], data)
    wall = time.perf_counter() - start
    sink.wait_settled(count)
    return {
        "wall_s": wall,
        "messages": sink.messages,
        "avg_bytes": sink.bytes / max(sink.messages, 1),
        "per_s": count / wall,
    }


def app_env(database_url: str, sink: Sink, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "REDIS", "DATABASE"))}
    env.update(
        FLASK_APP="organizer",
        ORGANIZER_CONFIG="development",
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        PUBLIC_URL=PUBLIC_URL,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        PYTHONPATH=str(ROOT),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _hwm_mb(pid: int) -> float:
    """The process's own peak RSS so far (VmHWM), or 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _wait(proc: subprocess.Popen, timeout: float) -> tuple[int, float]:
    """Reap `proc`: its exit code and its own peak RSS in MB.

    The peak is VmHWM, polled until the process exits. wait4's ru_maxrss is not used: Linux
    carries the parent's resident size at fork into the child's ru_maxrss, and this bench's
    parent holds the pre-rendered baseline messages.
    """
    deadline = time.monotonic() + timeout
    peak = 0.0
    while True:
        peak = max(peak, _hwm_mb(proc.pid))
        pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, peak
        if time.monotonic() > deadline:
            proc.kill()
            timeout = 30
            deadline = time.monotonic() + 30
        time.sleep(0.05)


def run_sender(env: dict[str, str], now: datetime, sink: Sink, expected: int) -> dict:
    sink.reset()
    command = [sys.executable, "-m", "flask", "digest", "send", "--now", now.isoformat()]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output_file = proc.stdout
    # Read the output while waiting, so a chatty sender never blocks on a full pipe.
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(output_file.read()), daemon=True)
    reader.start()
    code, rss = _wait(proc, SENDER_TIMEOUT)
    wall = time.perf_counter() - start
    reader.join(10)
    sink.wait_settled(expected)
    output = "".join(chunks)
    return {
        "wall_s": wall,
        "exit_code": code,
        "peak_rss_mb": rss,
        "messages": sink.messages,
        "distinct_recipients": sink.recipients,
        "avg_bytes": sink.bytes / max(sink.messages, 1),
        "per_s": sink.messages / wall if wall else 0.0,
        "summary": output.strip().splitlines()[-1] if output.strip() else "",
        "output_tail": output.strip().splitlines()[-5:],
    }


def start_workers(env: dict[str, str], redis_url: str, count: int = 2) -> list[subprocess.Popen]:
    from redis import Redis
    from rq import Queue, Worker

    rq = str(Path(sys.executable).parent / "rq")
    command = [rq, "worker", "digests", "--url", redis_url]
    command += ["--worker-class", "rq.worker.SimpleWorker", "--quiet"]
    workers = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]
    connection = Redis.from_url(redis_url)
    queue = Queue("digests", connection=connection)
    deadline = time.monotonic() + 30
    while Worker.count(connection=connection, queue=queue) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("rq workers did not register")
        time.sleep(0.1)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> float:
    """Warm shutdown (SIGTERM finishes the current job); the largest worker's peak RSS."""
    for proc in workers:
        proc.send_signal(signal.SIGTERM)
    return max((_wait(proc, 60)[1] for proc in workers), default=0.0)


def bench_database(
    label: str,
    url: str,
    subscribers: int,
    now: datetime,
    sink: Sink,
    redis_url: str,
    tmp: str,
    bar=None,
) -> dict:
    """Build, send inline, send through Redis; `bar` (organizer.progress) counts the
    subscribers built and the digests of each send."""
    from organizer.extensions import db
    from organizer.progress import SILENT, note

    bar = bar or SILENT

    database_url = fresh_database(url, Path(tmp))
    app = build_app(database_url)
    with app.app_context():
        start = time.perf_counter()
        db.create_all()
        info = populate(subscribers, now)
        info["build_s"] = time.perf_counter() - start
        bar.advance(subscribers)
        note(f"[{label}] built {subscribers} subscribers in {info['build_s']:.1f} s")
        db.session.remove()
        db.engine.dispose()

        env = app_env(database_url, sink, None)
        inline = run_sender(env, now, sink, subscribers)
        inline["deliveries"] = delivery_counts()
        bar.advance(subscribers)
        note(f"[{label}] inline: {_fmt(inline)}")

        reset_deliveries()
        db.engine.dispose()
        from redis import Redis

        Redis.from_url(redis_url).flushdb()
        env = app_env(database_url, sink, redis_url)
        workers = start_workers(env, redis_url)
        try:
            queued = run_sender(env, now, sink, subscribers)
        finally:
            queued["worker_peak_rss_mb"] = stop_workers(workers)
        queued["deliveries"] = delivery_counts()
        bar.advance(subscribers)
        note(f"[{label}] redis, 2 workers: {_fmt(queued)}")
        db.session.remove()
        db.engine.dispose()
    return {"label": label, "data": info, "inline": inline, "redis": queued}


def _fmt(run: dict) -> str:
    return (
        f"{run['messages']} messages in {run['wall_s']:.1f} s ({run['per_s']:.0f}/s), "
        f"exit {run['exit_code']}, peak RSS {run['peak_rss_mb']:.0f} MB; {run['summary']}"
    )


# --------------------------------------------------------------------------- the report


def targets(base: dict, db_result: dict, subscribers: int) -> dict:
    inline, queued = db_result["inline"], db_result["redis"]
    ratio = inline["wall_s"] / base["wall_s"]
    return {
        "ratio": ratio,
        "ratio_ok": ratio <= 2.0,
        "rss_ok": inline["peak_rss_mb"] <= 300,
        "count_ok": inline["messages"] == subscribers
        and inline["distinct_recipients"] == subscribers,
        "redis_count_ok": queued["messages"] == subscribers
        and queued["distinct_recipients"] == subscribers,
        "redis_ok": queued["wall_s"] <= inline["wall_s"],
        "redis_ratio": queued["wall_s"] / base["wall_s"],
    }


def write_report(
    command: str, subscribers: int, now: datetime, base: dict, results: list[dict]
) -> None:
    yes = {True: "met", False: "**missed**"}
    lines = [
        SECTION,
        "",
        f"Command: `{command}`. Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"{subscribers:,} active subscribers (locales en/he/ar, 5 time zones, follows, causes,",
        f"regions, 2% already signed up for an action), {ACTIONS} upcoming published actions in",
        f"{ORGANIZATIONS} organizations over 14 days (+50 drafts/cancelled/unlisted/past/far),",
        f"3 highlights per organization; `--now {now.isoformat()}` (every subscriber is due).",
        "One SMTP sink (aiosmtpd, own process, counts messages and distinct recipients).",
        "",
        f"Baseline: {base['messages']:,} pre-rendered multipart messages, as large as the "
        f"digests on average (~{base['avg_bytes']:.0f} bytes, text and HTML in base64), "
        "through one `smtplib` connection: "
        f"**{base['wall_s']:.1f} s** ({base['per_s']:.0f}/s).",
        "",
        "| database | path | wall | msgs/s | received (distinct) | avg size | ratio to baseline "
        "| peak RSS | exit | summary |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        for path, run in (("inline", result["inline"]), ("Redis, 2 workers", result["redis"])):
            rss = f"{run['peak_rss_mb']:.0f} MB"
            if "worker_peak_rss_mb" in run:
                rss += f" (workers {run['worker_peak_rss_mb']:.0f} MB)"
            lines.append(
                f"| {result['label']} | {path} | {run['wall_s']:.1f} s | {run['per_s']:.0f} | "
                f"{run['messages']:,} ({run['distinct_recipients']:,}) | "
                f"{run['avg_bytes']:.0f} B | {run['wall_s'] / base['wall_s']:.2f}× | {rss} | "
                f"{run['exit_code']} | "
                f"{run['summary'].replace('|', '/')} |"
            )
    lines += ["", "Targets:", ""]
    for result in results:
        t = targets(base, result, subscribers)
        label = result["label"]
        lines += [
            f"- {label}: digest ≤ 2× baseline: {yes[t['ratio_ok']]} ({t['ratio']:.2f}×"
            + ("" if t["ratio_ok"] else f", {t['ratio'] / 2 - 1:.0%} over the target")
            + ")",
            f"- {label}: sender peak RSS ≤ 300 MB: {yes[t['rss_ok']]} "
            f"({result['inline']['peak_rss_mb']:.0f} MB)",
            f"- {label}: exactly {subscribers:,} received, one per subscriber: "
            f"inline {yes[t['count_ok']]}, Redis {yes[t['redis_count_ok']]}",
            f"- {label}: Redis with 2 workers no slower than inline: {yes[t['redis_ok']]} "
            f"({result['redis']['wall_s']:.1f} s vs {result['inline']['wall_s']:.1f} s)",
        ]
    lines += [
        "",
        "Peak RSS is the sender process's own high-water resident set (VmHWM, polled every",
        "50 ms until it exits); the Redis row",
        "shows the dispatcher's and, in brackets, the largest worker's. Both cores are shared",
        "by the sender(s), the sink and the database, as on a small production box; other",
        "work on the machine makes wall times vary by ±20% between runs (the ratios, measured",
        "in the same run, vary less).",
        "",
        "Where the inline sender's time goes (cProfile, 5,000 subscribers, SQLite): about half",
        "in the SMTP exchange (mostly waiting for the server's replies, as the baseline does),",
        "~18% building messages (each action's part is rendered once per language and time",
        "zone, then assembled per subscriber), ~8% the two signed links per message, ~9% the",
        "database (claims, outcome updates, selection). One inline process idles while the",
        "server answers; two workers overlap that wait, which is why the Redis path is faster.",
    ]
    _replace_section("\n".join(lines) + "\n")
    payload = {
        "subscribers": subscribers,
        "smtp_baseline_s": round(base["wall_s"], 3),
        "smtp_baseline_messages": base["messages"],
        "smtp_baseline_avg_bytes": round(base["avg_bytes"]),
    }
    for result in results:
        prefix = "" if result is results[0] else f"{result['label']}_"
        t = targets(base, result, subscribers)
        inline, queued = result["inline"], result["redis"]
        payload.update(
            {
                f"{prefix}database": result["label"],
                f"{prefix}digest_vs_smtp_baseline": round(t["ratio"], 3),
                f"{prefix}digest_wall_s": round(inline["wall_s"], 3),
                f"{prefix}digest_peak_rss_mb": round(inline["peak_rss_mb"], 1),
                f"{prefix}digest_messages": inline["messages"],
                f"{prefix}digest_avg_bytes": round(inline["avg_bytes"]),
                f"{prefix}digest_distinct_recipients": inline["distinct_recipients"],
                f"{prefix}digest_exit_code": inline["exit_code"],
                f"{prefix}digest_redis_workers": 2,
                f"{prefix}digest_redis_wall_s": round(queued["wall_s"], 3),
                f"{prefix}digest_redis_vs_smtp_baseline": round(t["redis_ratio"], 3),
                f"{prefix}digest_redis_vs_inline": round(queued["wall_s"] / inline["wall_s"], 3),
                f"{prefix}digest_redis_messages": queued["messages"],
                f"{prefix}digest_redis_distinct_recipients": queued["distinct_recipients"],
                f"{prefix}digest_redis_peak_rss_mb": round(
                    max(queued["peak_rss_mb"], queued.get("worker_peak_rss_mb", 0)), 1
                ),
                f"{prefix}digest_redis_exit_code": queued["exit_code"],
            }
        )
    update_results_json(payload)  # keeps the page parts' keys


def _replace_section(section: str) -> None:
    """Keep whatever RESULTS.md holds before the digest section (the page benchmarks)."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    head = existing.split(f"\n{SECTION}\n", 1)[0].rstrip("\n")
    RESULTS.write_text(head + "\n\n" + section)


def main(argv: list[str] | None = None, command: str = ".venv/bin/python -m bench.digest") -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description=__doc__)
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    args, _ = parser.parse_known_args(argv)
    subscribers = int(os.environ.get("BENCH_SUBSCRIBERS", "100000"))
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    pg_url = os.environ.get("BENCH_DATABASE_URL") or (
        "postgresql://postgres@127.0.0.1/organizer_bench" if args.pg else None
    )
    databases = [] if args.no_sqlite else [("SQLite file", "sqlite")]
    if pg_url:
        databases.append(("PostgreSQL", pg_url))
    now = bench_now()
    command = " ".join(
        ([f"BENCH_SUBSCRIBERS={subscribers}"] if subscribers != 100000 else [])
        + ([f"BENCH_DATABASE_URL={pg_url}"] if pg_url and not args.pg else [])
        + [command + (" --pg" if args.pg else "")]
    )
    results: list[dict] = []
    base: dict = {}
    from organizer.progress import note, progress, terminal

    started = time.perf_counter()
    # Counted in subscribers: built, sent inline, sent through Redis, on each database.
    with Sink() as sink, tempfile.TemporaryDirectory() as tmp, progress("Digest") as bar:
        bar.start(3 * subscribers * len(databases))
        for label, url in databases:
            results.append(bench_database(label, url, subscribers, now, sink, redis_url, tmp, bar))
            if not base:  # messages of the digests' own size, so the bytes on the wire match
                base = baseline(sink, subscribers, results[0]["inline"]["avg_bytes"])
                note(
                    f"baseline: {base['messages']} messages (~{base['avg_bytes']:.0f} bytes) "
                    f"in {base['wall_s']:.1f} s ({base['per_s']:.0f}/s)"
                )
    write_report(command, subscribers, now, base, results)
    if terminal():
        print(RESULTS.read_text().split(f"\n{SECTION}\n", 1)[-1])
    print(
        f"Digest: {subscribers} subscribers on {', '.join(label for label, _ in databases)}, "
        f"inline and with 2 RQ workers, in {time.perf_counter() - started:.0f} s"
        "; figures in bench/RESULTS.md"
    )


if __name__ == "__main__":
    main()
