"""Page and sign-up benchmarks, measured side by side in one run on a SQLite file, then the
page benchmark under load (bench/pages.py: gunicorn on PostgreSQL), then the digest benchmark
(bench/digest.py).

    make bench            # or: .venv/bin/python -m bench        (every part)
    .venv/bin/python -m bench pages                              (both page parts)
    .venv/bin/python -m bench load [--small]                     (the page part under load only)
    .venv/bin/python -m bench digest [--pg]                      (the digest part only)

Figures go to bench/RESULTS.md with the command and the machine. Timings are for comparing
within one run (the machine is shared and noisy); the query counts are exact.
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event as sa_event

from bench import replace_head
from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.markdown import render_markdown
from organizer.models import Event, EventCause, Organization, Signup
from organizer.progress import SILENT, Progress, note, progress, terminal

SIZES = (5, 50, 500, 5000)
REQUESTS = 40
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def build_app(path: Path):
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"
        MAIL_BACKEND = "dummy"
        WTF_CSRF_ENABLED = False

    return create_app(Config)


def populate(count: int, now: datetime) -> int:
    org = Organization(slug="bench", name="Bench movement", timezone="Asia/Jerusalem")
    db.session.add(org)
    html = render_markdown("Join us **this week**.")
    for i in range(count):
        start = now + timedelta(hours=6 + i)
        event = Event(
            organization=org,
            title=f"Vigil {i}",
            description_md="Join us **this week**.",
            description_html=html,
            kind="demonstration",
            region="jerusalem",
            city="Jerusalem",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            timezone="Asia/Jerusalem",
            address="Paris Square",
            capacity=50,
            status="published",
        )
        event.causes = [EventCause(cause="peace")]
        db.session.add(event)
        db.session.flush()
        for j in range(5):
            db.session.add(
                Signup(
                    event_id=event.id,
                    name=f"V{j}",
                    email=f"v{j}.{i}@example.org",
                    status="confirmed",
                    created_at=now,
                    queued_at=now,
                    confirmed_at=now,
                )
            )
    db.session.commit()
    return db.session.scalar(db.select(Event.id).order_by(Event.id))


PAGES = 4  # timed per database size, REQUESTS + 1 requests each
SIGNUPS = 40


def timed_get(client, url: str, bar: Progress = SILENT) -> tuple[float, int]:
    """Median milliseconds over REQUESTS requests, and the queries of one request."""
    queries = []
    listener = lambda *args: queries.append(1)  # noqa: E731
    sa_event.listen(db.engine, "before_cursor_execute", listener)
    client.get(url)
    sa_event.remove(db.engine, "before_cursor_execute", listener)
    samples = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    bar.advance(REQUESTS + 1)
    return statistics.median(samples), len(queries)


def bench_signups(client, event_id: int, count: int, bar: Progress = SILENT) -> float:
    """Median milliseconds per guest sign-up (each one locks the action's roster)."""
    samples = []
    for i in range(count):
        start = time.perf_counter()
        response = client.post(
            f"/events/{event_id}/signup",
            data={"name": f"Guest {i}", "email": f"guest{i}@example.org"},
        )
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        bar.advance()
    return statistics.median(samples)


def main() -> None:
    started = time.perf_counter()
    now = datetime.now(UTC)
    rows = []
    signup_ms = None
    requests = len(SIZES) * PAGES * (REQUESTS + 1) + SIGNUPS
    with tempfile.TemporaryDirectory() as tmp, progress("Timing pages") as bar:
        bar.start(requests)
        for size in SIZES:
            app = build_app(Path(tmp) / f"bench-{size}.db")
            with app.app_context():
                db.create_all()
                first_id = populate(size, now)
                client = app.test_client()
                results = {
                    "/events/": timed_get(client, "/events/", bar),
                    "/": timed_get(client, "/", bar),
                    f"/events/{first_id}": timed_get(client, f"/events/{first_id}", bar),
                    "/calendar/events.ics": timed_get(client, "/calendar/events.ics", bar),
                }
                if size == SIZES[1]:
                    signup_ms = bench_signups(client, first_id, SIGNUPS, bar)
                rows.append((size, results))
                db.engine.dispose()
            note(f"{size} actions done")
    write_results(rows, signup_ms)
    if terminal():
        print(RESULTS.read_text().split("\n## ", 1)[0])
    print(
        f"Pages: {requests} requests on {len(SIZES)} databases of "
        f"{', '.join(map(str, SIZES))} actions in {time.perf_counter() - started:.0f} s"
        "; figures in bench/RESULTS.md"
    )


def write_results(rows, signup_ms) -> None:
    lines = [
        "# Benchmark results",
        "",
        "Command: `make bench` (`.venv/bin/python -m bench`), in-process test client, SQLite file,",
        f"{REQUESTS} requests per cell, median. Machine: {platform.machine()}, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "Each row is a database holding that many upcoming published actions (5 confirmed",
        "sign-ups each); pages show 20 per page. Cells: median ms / SQL queries per request.",
        "",
        "| actions in DB | list `/events/` | home `/` | an action `/events/<id>` | feed "
        "`/calendar/events.ics` |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size, results in rows:
        cells = [f"{ms:.1f} ms / {q} q" for ms, q in results.values()]
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    base = rows[0][1]["/events/"][0]
    lines += [
        "",
        "Ratio of `/events/` time to the 5-action database, same run: "
        + ", ".join(f"{size}: {r['/events/'][0] / base:.2f}×" for size, r in rows),
        "",
        "The calendar feed lists every upcoming action, so it grows with the table by design;",
        "its query count does not.",
    ]
    if signup_ms is not None:
        lines += [
            "",
            f"Guest sign-up (POST, roster lock, insert, commit): median {signup_ms:.1f} ms.",
        ]
    # Keep the other parts' sections (bench/pages.py and bench/digest.py write them).
    replace_head("\n".join(lines) + "\n")


if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "all"
    if part in ("all", "pages"):
        main()
    if part in ("all", "pages", "load"):
        from bench import pages

        pages.main(
            sys.argv[2:] if part != "all" else sys.argv[1:],
            command={
                "all": "make bench",
                "pages": ".venv/bin/python -m bench pages",
                "load": ".venv/bin/python -m bench load",
            }[part],
        )
    if part in ("all", "digest"):
        from bench import digest

        digest.main(
            sys.argv[2:] if part == "digest" else sys.argv[1:],
            command="make bench" if part == "all" else ".venv/bin/python -m bench digest",
        )
