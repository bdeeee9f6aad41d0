"""`flask events extend` run twice at once makes every date exactly once.

Threads (each with its own session and connection) and, marked slow, two real `flask events
extend` processes extend the same series at the same moment, on a SQLite file and, when the
suite runs on it, on PostgreSQL. Reading the template is made slow to widen the window between
deciding which dates are missing and writing them. With the series lock each run waits for the
other; without it (the lock switched off below) the unique (series, slot) index and the
savepoint per date still keep one row per date.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Event, EventSeries
from organizer.services import series as service

from . import factories
from .helpers import scratch_database

ROOT = Path(__file__).resolve().parent.parent
FIRST = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LATER = CREATED + timedelta(hours=1)  # the horizon grew from one week to twelve: 11 new dates
THREADS = 4


def _slow_template_read(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip().upper().startswith("SELECT") and "detached" in statement:
        time.sleep(0.05)


@pytest.fixture()
def racing_app(app, tmp_path):
    """The app under test when it runs on PostgreSQL; else an app on a SQLite file."""
    if db.engine.dialect.name != "sqlite":
        yield app
        return

    class FileConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'race.db'}"

    file_app = create_app(FileConfig)
    with file_app.app_context():
        db.create_all()
        yield file_app
        db.session.remove()
        db.engine.dispose()


def _series_with_one_week() -> int:
    return factories.make_series(first=FIRST, created=CREATED, horizon_weeks=1).id


def _count(series_id: int) -> tuple[int, int]:
    db.session.expire_all()
    rows = db.session.execute(
        select(func.count(), func.count(func.distinct(Event.occurrence_start))).where(
            Event.series_id == series_id
        )
    ).one()
    return rows[0], rows[1]


def _no_lock(series_id: int) -> EventSeries:
    series = db.session.get(EventSeries, series_id, populate_existing=True)
    assert series is not None
    return series


@pytest.mark.parametrize("locked", [True, False], ids=["series-lock", "savepoints-only"])
def test_concurrent_extends_make_each_date_once(racing_app, monkeypatch, locked):
    series_id = _series_with_one_week()
    assert _count(series_id) == (1, 1)
    series = db.session.get(EventSeries, series_id)
    series.horizon_weeks = 12
    db.session.commit()
    if not locked:
        monkeypatch.setattr(service, "_lock_series", _no_lock)
    barrier = threading.Barrier(THREADS)
    sa_event.listen(db.engine, "after_cursor_execute", _slow_template_read)

    def one(_: int) -> int:
        with racing_app.app_context():
            try:
                barrier.wait(timeout=10)
                return len(service.extend_series(series_id, LATER).created)
            finally:
                db.session.remove()

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            made = list(pool.map(one, range(THREADS)))
    finally:
        sa_event.remove(db.engine, "after_cursor_execute", _slow_template_read)

    total, distinct = _count(series_id)
    assert total == distinct == 12
    assert sum(made) == 11
    if locked:
        assert sorted(made) == [0] * (THREADS - 1) + [11]  # one did it, the others found it done
    db.session.expire_all()
    assert db.session.get(EventSeries, series_id).materialized_until == max(
        db.session.scalars(select(Event.occurrence_start).where(Event.series_id == series_id))
    )


@pytest.mark.slow
def test_two_extend_processes_at_once(database_url, tmp_path):
    with scratch_database(database_url, tmp_path, "series_extend") as url:

        class ScratchConfig(TestingConfig):
            SQLALCHEMY_DATABASE_URI = url

        scratch = create_app(ScratchConfig)
        with scratch.app_context():
            db.create_all()
            series_id = _series_with_one_week()
            db.session.get(EventSeries, series_id).horizon_weeks = 12
            db.session.commit()
            db.session.remove()
            db.engine.dispose()

        env = {
            **os.environ,
            "DATABASE_URL": url,
            "TEST_DATABASE_URL": url,
            "ORGANIZER_CONFIG": "testing",
            "FLASK_APP": "organizer",
        }
        command = [sys.executable, "-m", "flask", "events", "extend", "--now", LATER.isoformat()]
        runs = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        made = sorted(int(out.split("series: ")[1].split(" new")[0]) for out in outputs)
        assert sum(made) == 11, outputs

        with scratch.app_context():
            assert _count(series_id) == (12, 12)
            db.session.remove()
            db.engine.dispose()
