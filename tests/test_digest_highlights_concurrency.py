"""Three highlights a week hold when organizers click at the same moment.

Eight threads (each with its own session and connection) highlight eight different actions at
once, on a SQLite file (where FOR UPDATE does nothing) and, when the suite runs on it, on
PostgreSQL. Counting highlights is made slow to widen the window between writing one and
checking the limit: without the organization lock, more than three get through.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Event, Highlight, Organization, User
from organizer.services import highlights as hl

from .factories import make_event, make_org, make_user, now

THREADS = 8


def _slow_highlight_count(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip().upper().startswith("SELECT COUNT(") and "highlights" in statement:
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


def test_the_limit_holds_under_concurrent_requests(racing_app):
    owner = make_user()
    org = make_org(owner=owner)
    event_ids = [make_event(org, starts_in=timedelta(hours=i + 1)).id for i in range(THREADS)]
    org_id, user_id, t = org.id, owner.id, now()
    barrier = threading.Barrier(THREADS)
    sa_event.listen(db.engine, "after_cursor_execute", _slow_highlight_count)

    def one(event_id: int) -> str:
        with racing_app.app_context():
            try:
                org = db.session.get(Organization, org_id)
                user = db.session.get(User, user_id)
                event = db.session.get(Event, event_id)
                _ = (org.timezone, event.host_ids, user.is_admin)
                barrier.wait(timeout=10)
                hl.highlight(org, event, user, t)
                return "ok"
            except hl.HighlightLimitReached:
                return "limit"
            finally:
                db.session.remove()

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(one, event_ids))
    finally:
        sa_event.remove(db.engine, "after_cursor_execute", _slow_highlight_count)
    assert sorted(results) == ["limit"] * (THREADS - 3) + ["ok"] * 3
    assert db.session.scalar(select(func.count()).select_from(Highlight)) == 3
