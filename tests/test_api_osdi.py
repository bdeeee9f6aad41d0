"""OSDI-style HAL+JSON: events anyone may read, attendances only with the host's token."""

from __future__ import annotations

from datetime import timedelta

from . import factories
from .api_helpers import bearer, make_token
from .helpers import count_queries

HAL = "application/hal+json"


def test_events_collection_is_hal_with_next_links(client, app):
    org = factories.make_org(slug="joint")
    events = [factories.make_event(org, starts_in=timedelta(days=n + 1)) for n in range(3)]
    factories.make_signup(events[0])

    first = client.get("/api/v1/osdi/events?limit=2")
    assert first.status_code == 200 and first.mimetype == HAL
    body = first.json
    listed = body["_embedded"]["osdi:events"]
    assert [e["identifiers"] for e in listed] == [[f"organizer:{e.id}"] for e in events[:2]]
    assert listed[0]["origin_system"] == "Organizer"
    assert listed[0]["total_accepted"] == 1 and listed[0]["status"] == "confirmed"
    assert listed[0]["_links"]["osdi:attendances"]["href"].endswith(
        f"/api/v1/osdi/events/{events[0].id}/attendances"
    )
    assert body["per_page"] == 2
    assert body["_links"]["self"]["href"] == "http://localhost/api/v1/osdi/events?limit=2"

    second = client.get(body["_links"]["next"]["href"].removeprefix("http://localhost")).json
    assert [e["identifiers"] for e in second["_embedded"]["osdi:events"]] == [
        [f"organizer:{events[2].id}"]
    ]
    assert second["_links"]["next"] is None


def test_hidden_meeting_point_never_appears(client):
    org = factories.make_org(slug="joint")
    hidden = factories.make_event(
        org, address="Behind the old mill, gate 3", location_visibility="confirmed"
    )
    open_event = factories.make_event(org, address="Paris Square")

    one = client.get(f"/api/v1/osdi/events/{hidden.id}")
    assert one.status_code == 200 and one.mimetype == HAL
    assert "old mill" not in one.get_data(as_text=True)
    assert one.json["location"]["address_lines"] == []
    assert one.json["location"]["locality"] == "Jerusalem"
    listing = client.get("/api/v1/osdi/events").get_data(as_text=True)
    assert "old mill" not in listing
    shown = client.get(f"/api/v1/osdi/events/{open_event.id}").json
    assert shown["location"]["address_lines"] == ["Paris Square"]


def test_drafts_are_not_found_and_cancelled_say_so(client):
    org = factories.make_org(slug="joint")
    draft = factories.make_event(org, status="draft")
    cancelled = factories.make_event(org, status="cancelled")
    missing = client.get(f"/api/v1/osdi/events/{draft.id}")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/osdi/events/{cancelled.id}").json["status"] == "cancelled"


def test_attendances_need_the_hosts_token(client):
    org = factories.make_org(slug="joint")
    other = factories.make_org(slug="other")
    event = factories.make_event(org)
    confirmed = factories.make_signup(event, name="Dana", email="dana@example.org", phone="050")
    factories.make_signup(event, status="waitlisted")
    factories.make_signup(event, status="pending", attendance=None)
    url = f"/api/v1/osdi/events/{event.id}/attendances"

    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(make_token(other))).status_code == 403

    response = client.get(url, headers=bearer(make_token(org, scope="read")))
    assert response.status_code == 200 and response.mimetype == HAL
    attendances = response.json["_embedded"]["osdi:attendances"]
    assert [a["status"] for a in attendances] == ["accepted", "tentative", "needs action"]
    first = attendances[0]
    assert first["identifiers"] == [f"organizer:signup:{confirmed.id}"]
    assert first["person"]["given_name"] == "Dana"
    assert first["person"]["email_addresses"] == [{"address": "dana@example.org", "primary": True}]
    assert first["attended"] is None


def test_attendance_marks_and_pages(client):
    org = factories.make_org(slug="joint")
    event = factories.make_event(org, starts_in=timedelta(days=-1))
    factories.make_signup(event, attendance="attended")
    factories.make_signup(event, attendance="no_show")
    factories.make_signup(event)
    headers = bearer(make_token(org, scope="read"))
    url = f"/api/v1/osdi/events/{event.id}/attendances?limit=2"
    page = client.get(url, headers=headers).json
    assert [a["attended"] for a in page["_embedded"]["osdi:attendances"]] == [True, False]
    rest = client.get(
        page["_links"]["next"]["href"].removeprefix("http://localhost"), headers=headers
    ).json
    assert [a["attended"] for a in rest["_embedded"]["osdi:attendances"]] == [None]


def test_collection_queries_do_not_grow_with_rows(client, app):
    org = factories.make_org(slug="joint")

    def queries(n: int) -> int:
        for _ in range(n):
            factories.make_signup(factories.make_event(org))
        with count_queries() as statements:
            assert client.get("/api/v1/osdi/events?limit=100").status_code == 200
        return len(statements)

    assert queries(2) == queries(20)


def test_documented_as_hal(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/osdi/events",
        "/api/v1/osdi/events/{event_id}",
        "/api/v1/osdi/events/{event_id}/attendances",
    ):
        assert HAL in paths[path]["get"]["responses"]["200"]["content"]


def test_special_query_keys_are_ignored_not_a_500(client):
    org = factories.make_org(slug="joint")
    event = factories.make_event(org)
    factories.make_signup(event)
    for query in ("_method=POST", "_scheme=x", "_external=0", "_anchor=x"):
        response = client.get(f"/api/v1/osdi/events?{query}")
        assert response.status_code == 200, query
        assert response.json["_links"]["self"]["href"] == "http://localhost/api/v1/osdi/events"
        assert client.get(f"/api/v1/events?limit=1&{query}").status_code == 200, query
    headers = bearer(make_token(org, scope="read"))
    url = f"/api/v1/osdi/events/{event.id}/attendances?event_id=2&_method=POST"
    assert client.get(url, headers=headers).status_code == 200
