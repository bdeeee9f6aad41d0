"""The home page: this week's actions first, then what comes up, quick ways in, the movements."""

from __future__ import annotations

from datetime import timedelta

from . import factories
from .helpers import count_queries
from .test_events_discovery import _events_with_everything


def sections(html: str) -> tuple[str, str]:
    this_week = html.split('id="this-week"', 1)[1].split('id="later-heading"', 1)[0]
    later = html.split('id="later-heading"', 1)[1] if 'id="later-heading"' in html else ""
    return this_week, later


def test_this_week_comes_first_then_coming_up(client):
    org = factories.make_org(slug="circle", name="Parents Circle")
    factories.make_event(org, title="Tomorrow vigil", starts_in=timedelta(days=1))
    factories.make_event(org, title="Next month drive", starts_in=timedelta(days=30))
    factories.make_event(org, title="Draft thing", starts_in=timedelta(days=2), status="draft")
    factories.make_event(org, title="Unlisted thing", visibility="unlisted")
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    this_week, later = sections(html)
    assert "Tomorrow vigil" in this_week and "Next month drive" not in this_week
    assert "Next month drive" in later
    assert "Draft thing" not in html and "Unlisted thing" not in html
    assert 'href="/orgs/circle"' in html
    assert "2 upcoming actions" in html


def test_quick_filters_lead_to_the_listing(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/events/?online=1"' in html
    assert 'href="/events/?region=negev"' in html
    assert 'href="/events/?kind=aid_drive"' in html
    assert "/events/?from=" in html
    assert "Nothing posted for the next seven days yet" in html


def test_home_runs_the_same_few_queries_for_5_or_50_actions(app):
    _events_with_everything(5)
    client = app.test_client()
    client.get("/")
    with count_queries() as few:
        client.get("/")
    _events_with_everything(45)
    client.get("/")
    with count_queries() as many:
        assert client.get("/").status_code == 200
    assert len(few) == len(many) <= 8


def test_home_in_arabic(client):
    org = factories.make_org()
    factories.make_event(org, title="وقفة احتجاجية", language="ar", starts_in=timedelta(days=2))
    html = client.get("/?lang=ar").get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in html
    assert "وقفة احتجاجية" in html
