"""API tokens: the owners' page, and what a token may and may not reach."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from organizer.extensions import db
from organizer.models import ApiToken

from . import factories
from .api_helpers import bearer, make_token


def test_owner_makes_a_token_shown_once_and_stored_hashed(client, auth, post_form):
    owner = factories.make_user()
    org = factories.make_org(slug="joint", owner=owner)
    auth.login(owner)

    assert "API tokens" in client.get("/orgs/joint/manage").get_data(as_text=True)
    response = post_form("/orgs/joint/api-tokens", {"name": "Spreadsheet", "scope": "read"})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(r"(org_[0-9a-f]{12}_[\w-]+)", response.get_data(as_text=True)).group(1)
    token = db.session.scalar(select(ApiToken))
    assert (token.organization_id, token.name, token.scope) == (org.id, "Spreadsheet", "read")
    assert token.created_by_id == owner.id
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.token_hash, token.prefix}
    # Shown once: the page afterwards lists the token, not its secret.
    later = client.get("/orgs/joint/api-tokens").get_data(as_text=True)
    assert secret not in later and f"org_{token.prefix}_" in later

    assert client.get("/api/v1/orgs/joint/signups", headers=bearer(secret)).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at is not None


def test_only_owners_reach_the_token_page(client, auth, post_form):
    owner = factories.make_user()
    org = factories.make_org(slug="joint", owner=owner)
    organizer = factories.make_user()
    db.session.add(factories.Membership(organization=org, user=organizer, role="organizer"))
    db.session.commit()
    auth.login(organizer)
    assert client.get("/orgs/joint/api-tokens").status_code == 403
    auth.logout()  # a logged-out visitor is sent to log in
    assert client.get("/orgs/joint/api-tokens").status_code == 302


def test_form_needs_csrf_and_a_name(client, auth, post_form):
    owner = factories.make_user()
    factories.make_org(slug="joint", owner=owner)
    auth.login(owner)
    assert client.post("/orgs/joint/api-tokens", data={"name": "x"}).status_code == 400
    assert post_form("/orgs/joint/api-tokens", {"name": "  ", "scope": "read"}).status_code == 400
    assert post_form("/orgs/joint/api-tokens", {"name": "x", "scope": "all"}).status_code == 400
    assert db.session.scalar(select(ApiToken)) is None


def test_revoked_token_stops_working(client, auth, post_form):
    owner = factories.make_user()
    org = factories.make_org(slug="joint", owner=owner)
    secret = make_token(org, owner=owner)
    token = db.session.scalar(select(ApiToken))
    auth.login(owner)

    response = post_form(
        f"/orgs/joint/api-tokens/{token.id}/revoke", {}, page="/orgs/joint/api-tokens"
    )

    assert response.status_code == 302
    denied = client.get("/api/v1/orgs/joint/signups", headers=bearer(secret))
    assert denied.status_code == 401
    assert denied.get_json()["error"]["code"] == "unauthorized"


def test_missing_and_wrong_tokens_are_401(client):
    org = factories.make_org(slug="joint")
    secret = make_token(org)
    wrong = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")
    for headers in (
        {},
        bearer("nonsense"),
        bearer(wrong),
        bearer("org_zzzzzzzzzzzz_x"),
        {"Authorization": f"Basic {secret}"},
    ):
        response = client.get("/api/v1/orgs/joint/subscribers", headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"]["status"] == 401


def test_a_token_sees_its_own_organization_only(client):
    mine = factories.make_org(slug="mine")
    theirs = factories.make_org(slug="theirs")
    their_event = factories.make_event(theirs)
    their_draft = factories.make_event(theirs, status="draft")
    factories.make_signup(their_event, email="private@example.org")
    secret = make_token(mine)

    for path in ("/api/v1/orgs/theirs/signups", "/api/v1/orgs/theirs/subscribers"):
        response = client.get(path, headers=bearer(secret))
        assert response.status_code == 403
        assert "private@" not in response.get_data(as_text=True)
    sign_up = client.post(
        f"/api/v1/events/{their_event.id}/signups",
        json={"name": "A", "email": "a@example.org"},
        headers=bearer(secret),
    )
    assert sign_up.status_code == 403
    assert (
        client.patch(
            f"/api/v1/events/{their_event.id}", json={"title": "Mine now"}, headers=bearer(secret)
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/v1/events/{their_draft.id}", json={"title": "Mine now"}, headers=bearer(secret)
        ).status_code
        == 404
    )
    assert (
        client.post("/api/v1/orgs/theirs/events", json={}, headers=bearer(secret)).status_code
        == 403
    )


def test_read_token_cannot_write(client):
    org = factories.make_org(slug="mine")
    event = factories.make_event(org)
    secret = make_token(org, scope="read")
    response = client.post(
        f"/api/v1/events/{event.id}/signups",
        json={"name": "A", "email": "a@example.org"},
        headers=bearer(secret),
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "read_only_token"
    assert (
        client.patch(
            f"/api/v1/events/{event.id}", json={"capacity": 3}, headers=bearer(secret)
        ).status_code
        == 403
    )
    assert client.get("/api/v1/orgs/mine/signups", headers=bearer(secret)).status_code == 200


def test_signups_of_the_organization_paginated_and_filtered(client):
    org = factories.make_org(slug="mine")
    host = factories.make_org()
    own = factories.make_event(org)
    cohosted = factories.make_event(host, cohosts=(org,))
    asked = factories.make_event(host, pending_cohosts=(org,))
    elsewhere = factories.make_event()
    for event in (own, own, cohosted):
        factories.make_signup(event, phone="050 1234567")
    factories.make_signup(asked, email="not-yours@example.org")
    factories.make_signup(elsewhere, email="not-yours-either@example.org")
    secret = make_token(org, scope="read")

    first = client.get("/api/v1/orgs/mine/signups?limit=2", headers=bearer(secret)).get_json()
    second = client.get(first["next"], headers=bearer(secret)).get_json()
    rows = first["data"] + second["data"]
    assert [r["event_id"] for r in rows] == [own.id, own.id, cohosted.id]
    assert rows[0]["phone"] == "050 1234567" and rows[0]["status"] == "confirmed"
    assert second["next"] is None
    only = client.get(f"/api/v1/orgs/mine/signups?event={cohosted.id}", headers=bearer(secret))
    assert [r["event_id"] for r in only.get_json()["data"]] == [cohosted.id]


def test_subscribers_who_follow_the_organization(client):
    org = factories.make_org(slug="mine")
    other = factories.make_org()
    factories.make_subscription("a@example.org", organizations=(org,), name="", locale="ar")
    factories.make_subscription("b@example.org", organizations=(org,), status="pending")
    factories.make_subscription("c@example.org", organizations=(org,), status="unsubscribed")
    factories.make_subscription("d@example.org", organizations=(other,))
    factories.make_subscription("e@example.org")  # follows no organization in particular
    secret = make_token(org, scope="read")

    body = client.get("/api/v1/orgs/mine/subscribers", headers=bearer(secret)).get_json()

    (row,) = body["data"]
    assert set(row) == {"email", "name", "language", "since"}
    assert (row["email"], row["name"], row["language"]) == ("a@example.org", None, "ar")
    assert row["since"]
