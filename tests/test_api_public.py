"""The public API: actions and organizations as anyone sees them, filters, stable pages."""

from __future__ import annotations

import json
from datetime import timedelta

from organizer.extensions import db

from . import factories
from .helpers import count_queries


def test_lists_upcoming_public_actions_with_counts(client):
    org = factories.make_org(slug="peace-now", name="Peace Now")
    event = factories.make_event(org, title="Vigil", capacity=10)
    factories.make_signup(event)
    factories.make_event(org, status="draft", title="Draft")
    factories.make_event(org, visibility="unlisted", title="Unlisted")
    factories.make_event(org, starts_in=timedelta(days=-3), title="Over")

    response = client.get("/api/v1/events")

    assert response.status_code == 200
    body = response.get_json()
    assert [e["title"] for e in body["data"]] == ["Vigil"]
    item = body["data"][0]
    assert item["organization"]["slug"] == "peace-now"
    assert item["confirmed_count"] == 1 and item["places_left"] == 9
    assert item["url"].endswith(f"/events/{event.id}")
    assert body["next"] is None and body["next_cursor"] is None
    assert "Set-Cookie" not in response.headers


def test_filters_are_those_of_the_events_page(client):
    org = factories.make_org(slug="bereaved")
    other = factories.make_org(slug="women")
    factories.make_event(org, title="Haifa talk", region="haifa_north", causes=("bereavement",))
    factories.make_event(other, title="Online circle", is_online=True, online_url="https://x.org")
    factories.make_event(other, title="Far away", starts_in=timedelta(days=40))

    def titles(query: str) -> list[str]:
        response = client.get(f"/api/v1/events?{query}")
        assert response.status_code == 200, response.get_json()
        return [e["title"] for e in response.get_json()["data"]]

    assert titles("region=haifa_north") == ["Haifa talk"]
    assert titles("cause=bereavement") == ["Haifa talk"]
    assert titles("org=women") == ["Online circle", "Far away"]
    assert titles("online=true") == ["Online circle"]
    assert titles("online=false") == ["Haifa talk", "Far away"]
    assert titles("q=circle") == ["Online circle"]
    later = (factories.now() + timedelta(days=30)).date().isoformat()
    assert titles(f"from={later}") == ["Far away"]
    assert "Far away" not in titles(f"to={(factories.now() + timedelta(days=10)).date()}")


def test_bad_filters_are_422_not_ignored(client):
    for query in ("region=mars", "org=nobody", "from=yesterday", "limit=1000", "online=maybe"):
        response = client.get(f"/api/v1/events?{query}")
        assert response.status_code == 422, query
        assert response.get_json()["error"]["code"] == "validation_error"


def test_cursor_pages_are_stable_when_actions_are_added(client):
    org = factories.make_org()
    start = factories.now() + timedelta(days=2)
    events = [factories.make_event(org, starts_at=start, title=f"Same time {i}") for i in range(5)]

    first = client.get("/api/v1/events?limit=2").get_json()
    assert [e["id"] for e in first["data"]] == [events[0].id, events[1].id]
    # An action added before the cursor does not shift the next page.
    factories.make_event(org, starts_at=start - timedelta(hours=1), title="Earlier")
    second = client.get(first["next"]).get_json()
    assert [e["id"] for e in second["data"]] == [events[2].id, events[3].id]
    third = client.get(f"/api/v1/events?limit=2&cursor={second['next_cursor']}").get_json()
    assert [e["id"] for e in third["data"]] == [events[4].id]
    assert third["next"] is None


def test_bad_cursors_are_400(client):
    for cursor in ("zz", "bm90IGpzb24", "WyJ4IiwiMSJd", "WzFd", "%00"):
        response = client.get(f"/api/v1/events?cursor={cursor}")
        assert response.status_code == 400, cursor
        assert set(response.get_json()["error"]) == {"status", "code", "message", "details"}


def test_list_queries_do_not_grow_with_rows(client, app):
    org = factories.make_org()
    cohost = factories.make_org()

    def make(n):
        for _ in range(n):
            event = factories.make_event(org, cohosts=(cohost,), causes=("peace", "equality"))
            factories.make_signup(event)
        db.session.expire_all()

    make(2)
    with count_queries() as few:
        assert len(client.get("/api/v1/events").get_json()["data"]) == 2
    make(8)
    with count_queries() as many:
        assert len(client.get("/api/v1/events").get_json()["data"]) == 10
    assert len(many) == len(few)
    with count_queries() as orgs_queries:
        client.get("/api/v1/orgs")
    assert len(orgs_queries) <= 2


def test_one_action_never_shows_a_hidden_place_or_names(client):
    org = factories.make_org()
    event = factories.make_event(
        org,
        address="Secret Corner 5",
        location_visibility="confirmed",
        visibility="unlisted",
    )
    factories.make_signup(event, name="Samira Haddad", email="samira@example.org", phone="0501234")

    response = client.get(f"/api/v1/events/{event.id}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["location_hidden"] is True and body["address"] is None
    assert body["confirmed_count"] == 1
    raw = json.dumps(body)
    for secret in ("Secret Corner", "Samira", "samira@", "0501234"):
        assert secret not in raw
    listing = client.get("/api/v1/events").get_data(as_text=True)
    assert "Secret Corner" not in listing


def test_online_link_hidden_too(client):
    event = factories.make_event(
        is_online=True, online_url="https://meet.example/secret", location_visibility="confirmed"
    )
    body = client.get(f"/api/v1/events/{event.id}").get_json()
    assert body["online_url"] is None
    assert "meet.example" not in json.dumps(body)


def test_public_place_is_shown(client):
    event = factories.make_event(address="Paris Square")
    assert client.get(f"/api/v1/events/{event.id}").get_json()["address"] == "Paris Square"


def test_drafts_and_unknown_ids_are_404(client):
    draft = factories.make_event(status="draft")
    for path in (
        f"/api/v1/events/{draft.id}",
        "/api/v1/events/999999",
        "/api/v1/events/99999999999",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/events/abc").status_code == 404


def test_organizations(client):
    owner = factories.make_user(email="owner@example.org")
    factories.make_org(slug="b-org", name="Beta", owner=owner)
    factories.make_org(slug="a-org", name="Alpha")
    body = client.get("/api/v1/orgs").get_json()
    assert [o["slug"] for o in body["data"]] == ["a-org", "b-org"]
    one = client.get("/api/v1/orgs/b-org").get_json()
    assert one["name"] == "Beta" and one["events"].endswith("/api/v1/events?org=b-org")
    assert "owner@example.org" not in json.dumps(body) + json.dumps(one)
    assert client.get("/api/v1/orgs/nope").status_code == 404


def test_errors_have_one_shape(client):
    responses = [
        client.delete("/api/v1/events"),
        client.get("/api/v1/nothing-here"),
        client.get("/api/v1/events?q=%00"),
        client.post("/api/v1/events/1/signups", data="{", content_type="application/json"),
    ]
    for response in responses:
        error = response.get_json()["error"]
        assert set(error) == {"status", "code", "message", "details"}
        assert error["status"] == response.status_code
    assert responses[0].status_code == 405 and "GET" in responses[0].headers["Allow"]


def test_openapi_document_and_docs_page(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/v1/events" in doc["paths"] and "/api/v1/events/{event_id}" in doc["paths"]
    post = doc["paths"]["/api/v1/events/{event_id}/signups"]["post"]
    assert post["security"] == [{"bearerToken": []}]
    assert {"401", "403", "409", "422", "429"} <= set(post["responses"])
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "POST /api/v1/events/{event_id}/signups" in html and "curl " in html
    assert "<script" not in html.split("</head>")[1]
