"""The capacity of each shift holds under concurrent sign-ups, through a real multi-process server.

The same set-up as tests/test_concurrency_signups.py (whose gunicorn app, with its widened race
window around counting places, serves these requests too): 4 sync workers against a SQLite file
and against a fresh PostgreSQL database, every form posted at the same moment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from organizer import create_app
from organizer.extensions import db
from organizer.models import Organization

from . import factories
from .test_concurrency_signups import (
    ServerConfig,
    _fresh_postgres_database,
    _gunicorn,
    _post_all,
)

pytestmark = pytest.mark.slow


@dataclass
class ShiftServer:
    base_url: str
    database_url: str
    make_drive: Callable[..., tuple[int, list[int]]]

    def statuses(self, shift_id: int) -> Counter:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT status, count(*) FROM signups WHERE shift_id = :id GROUP BY status"
                    ),
                    {"id": shift_id},
                )
                return Counter({status: count for status, count in rows})
        finally:
            engine.dispose()


def _prepare(database_url: str) -> Callable[..., tuple[int, list[int]]]:
    """Create the schema and an organization; return a function that adds actions in shifts."""
    config = type("PrepareConfig", (ServerConfig,), {"SQLALCHEMY_DATABASE_URI": database_url})
    app = create_app(config)
    with app.app_context():
        db.create_all()
        org_id = factories.make_org().id
        db.session.remove()

    def make_drive(*capacities: int | None, **kwargs) -> tuple[int, list[int]]:
        with app.app_context():
            event = factories.make_event(db.session.get(Organization, org_id), **kwargs)
            shift_ids = [
                factories.make_shift(event, f"Shift {i}", capacity=capacity).id
                for i, capacity in enumerate(capacities)
            ]
            event_id = event.id
            db.session.remove()
            db.engine.dispose()
        return event_id, shift_ids

    return make_drive


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def server(request, tmp_path_factory) -> Iterator[ShiftServer]:
    tmp = tmp_path_factory.mktemp(f"shift-concurrency-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            database_url = f"sqlite:///{tmp / 'organizer.db'}"
        else:
            database_url = stack.enter_context(_fresh_postgres_database())
        make_drive = _prepare(database_url)
        base_url = stack.enter_context(_gunicorn(database_url, tmp / "gunicorn.log"))
        yield ShiftServer(base_url, database_url, make_drive)


def test_thirty_parallel_signups_fill_a_five_place_shift_exactly(server):
    event_id, (loading, sorting) = server.make_drive(5, 10, waitlist_enabled=True)
    forms = [
        {"name": f"Loader {i}", "email": f"loader{i}@example.org", "shifts": str(loading)}
        for i in range(30)
    ] + [
        # At the same moment, a few sign up for another shift of the same action.
        {"name": f"Sorter {i}", "email": f"sorter{i}@example.org", "shifts": str(sorting)}
        for i in range(5)
    ]

    results = _post_all(f"{server.base_url}/events/{event_id}/signup", forms)

    codes = Counter(code for code, _ in results)
    assert codes == {200: 35}, [body[:300] for code, body in results if code != 200]
    assert sum("signed up!</h1>" in body for _, body in results) == 10
    assert sum("on the waitlist</h1>" in body for _, body in results) == 25
    assert server.statuses(loading) == {"confirmed": 5, "waitlisted": 25}
    assert server.statuses(sorting) == {"confirmed": 5}


def test_the_same_address_in_parallel_keeps_one_signup_per_shift(server):
    event_id, (first, second) = server.make_drive(3, None)
    forms = [
        [("name", f"Same {i}"), ("email", "SAME@example.org"), ("shifts", str(first)),
         ("shifts", str(second))]
        for i in range(10)
    ]  # fmt: skip

    results = _post_all(f"{server.base_url}/events/{event_id}/signup", forms)

    assert Counter(code for code, _ in results) == {200: 10}
    assert len({body for _, body in results}) == 1  # a guest is never told it was in already
    assert server.statuses(first) == {"confirmed": 1}
    assert server.statuses(second) == {"confirmed": 1}
