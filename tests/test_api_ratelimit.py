"""Rate limits: per address without a token, per token with one; 429 in the API's shape."""

from __future__ import annotations

from . import factories
from .api_helpers import bearer, make_token


def test_anonymous_calls_are_limited_per_address(app, client):
    app.config["API_RATELIMIT_ANONYMOUS"] = "3 per minute"
    for _ in range(3):
        assert client.get("/api/v1/events").status_code == 200

    response = client.get("/api/v1/orgs")

    assert response.status_code == 429
    error = response.get_json()["error"]
    assert (error["status"], error["code"]) == (429, "rate_limited")
    assert 0 < int(response.headers["Retry-After"]) <= 60
    other = client.get("/api/v1/events", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_each_token_has_its_own_limit(app, client):
    app.config["API_RATELIMIT_ANONYMOUS"] = "2 per minute"
    app.config["API_RATELIMIT_TOKEN"] = "4 per minute"
    org = factories.make_org(slug="mine")
    first, second = make_token(org), make_token(org, name="Other")
    for _ in range(4):
        assert client.get("/api/v1/orgs/mine/signups", headers=bearer(first)).status_code == 200
    assert client.get("/api/v1/orgs/mine/signups", headers=bearer(first)).status_code == 429
    assert client.get("/api/v1/orgs/mine/signups", headers=bearer(second)).status_code == 200
    # Made-up tokens count against the address, not a fresh bucket each.
    for n in range(2):
        client.get("/api/v1/orgs/mine/signups", headers=bearer(f"org_{n:012d}_x"))
    assert client.get("/api/v1/events", headers=bearer("org_000000000009_x")).status_code == 429


def test_limits_can_be_switched_off(app, client):
    app.config["API_RATELIMIT_ANONYMOUS"] = "1 per minute"
    from organizer.extensions import limiter

    limiter.enabled = False
    try:
        for _ in range(3):
            assert client.get("/api/v1/events").status_code == 200
    finally:
        limiter.enabled = True
