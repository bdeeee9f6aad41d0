"""What the page benchmark (bench/pages.py) relies on, and the listing's fast paths it led to:
the in-memory "ceiling" route exists only with BENCH_CEILING and renders the same cards as
/events/ without a query; the listing's split count and its bound on the start agree with the
listing itself."""

from __future__ import annotations

import re
from datetime import timedelta

from config import TestingConfig
from organizer import create_app
from organizer.events import ceiling
from organizer.events.forms import MAX_DURATION
from organizer.extensions import db
from organizer.services.events import LONGEST_ACTION, EventFilters, search_events

from . import factories
from .helpers import count_queries, scratch_database

CARD_RE = re.compile(r'<li class="card event-card.*?</li>', re.S)


def _config(url: str, ceiling_on: bool) -> type:
    return type(
        "BenchConfig",
        (TestingConfig,),
        {"SQLALCHEMY_DATABASE_URI": url, "MAIL_BACKEND": "dummy", "BENCH_CEILING": ceiling_on},
    )


def test_no_ceiling_route_in_a_normal_app(app, client):
    assert not TestingConfig.BENCH_CEILING
    assert all(rule.endpoint != "bench_ceiling" for rule in app.url_map.iter_rules())
    assert client.get(ceiling.PATH).status_code == 404


def test_ceiling_renders_the_listing_from_memory(database_url, tmp_path):
    with scratch_database(database_url, tmp_path, "ceiling") as url:
        plain = create_app(_config(url, False))
        with plain.app_context():
            db.create_all()
            org = factories.make_org(name="Ceiling Movement")
            other = factories.make_org(name="Co-host Movement")
            for i in range(3):
                factories.make_event(org, title=f"Vigil {i}", capacity=10, cohosts=(other,))
            factories.make_event(org, title="A draft", status="draft")
            listing = plain.test_client().get("/events/").get_data(as_text=True)
            db.session.remove()
            db.engine.dispose()
        flagged = create_app(_config(url, True))
        with flagged.app_context():
            client = flagged.test_client()
            client.get(ceiling.PATH)
            with count_queries() as statements:
                response = client.get(ceiling.PATH)
            html = response.get_data(as_text=True)
            db.session.remove()
            db.engine.dispose()
    assert response.status_code == 200
    assert statements == []  # rendered from memory
    assert len(CARD_RE.findall(html)) == 3
    assert CARD_RE.findall(html) == CARD_RE.findall(listing)
    assert "Co-host Movement" in html and "A draft" not in html
    assert "3 upcoming actions" in html


def test_listing_counts_every_action_not_over_once(app, client):
    org = factories.make_org()
    factories.make_event(
        org, title="Under way", starts_in=-timedelta(hours=2), duration=timedelta(hours=3)
    )
    factories.make_event(
        org, title="Month-long camp", starts_in=-timedelta(days=30), duration=timedelta(days=31)
    )
    factories.make_event(org, title="Coming soon", starts_in=timedelta(days=2), region="negev")
    factories.make_event(
        org, title="Ended vigil", starts_in=-timedelta(hours=3), duration=timedelta(hours=2)
    )
    factories.make_event(org, title="Unready draft", status="draft")
    factories.make_event(org, title="Unlisted one", visibility="unlisted")

    html = client.get("/events/").get_data(as_text=True)
    assert "3 upcoming actions" in html
    for title in ("Under way", "Month-long camp", "Coming soon"):
        assert title in html
    for title in ("Ended vigil", "Unready draft", "Unlisted one"):
        assert title not in html

    now = factories.now()
    page = search_events(EventFilters(), now, page=1, per_page=2)
    assert (page.total, page.pages, len(page.events)) == (3, 2, 2)
    assert [e.title for e in page.events] == ["Month-long camp", "Under way"]
    assert search_events(EventFilters(region="negev"), now).total == 1
    assert search_events(EventFilters(region="jerusalem"), now).total == 2
    assert search_events(EventFilters(q="camp"), now).total == 1


def test_listing_query_count_stays_fixed(app, client):
    org = factories.make_org()
    for i in range(25):
        factories.make_event(org, title=f"Action {i}", starts_in=timedelta(hours=5 + i))
    client.get("/events/")
    with count_queries() as statements:
        assert client.get("/events/").status_code == 200
    assert len(statements) <= 5  # count, page with its hosts and translations, counts, orgs


def test_the_listing_bound_is_the_longest_action_the_forms_allow():
    # listed_events skips actions that started more than LONGEST_ACTION ago: the forms and the
    # API must never let an action last longer.
    assert LONGEST_ACTION == MAX_DURATION
