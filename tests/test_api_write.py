"""Writing through the API: sign-ups on behalf of volunteers, actions created and changed,
by the same rules (and with the same emails) as the site."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from organizer.extensions import db
from organizer.models import Event, Signup

from . import factories
from .api_helpers import bearer, make_token
from .helpers import text_part


def _sign_up(client, event, secret, **body):
    body = {"name": "Dana Levi", "email": "dana@example.org"} | body
    return client.post(f"/api/v1/events/{event.id}/signups", json=body, headers=bearer(secret))


def test_sign_up_on_behalf_confirms_and_emails(client, mailbox):
    org = factories.make_org(slug="mine", default_locale="he")
    event = factories.make_event(
        org, title="Vigil", address="Secret Garden 7", location_visibility="confirmed"
    )
    secret = make_token(org)

    response = _sign_up(client, event, secret, email="Dana@Example.org", phone="050 1234567")

    assert response.status_code == 201
    (row,) = response.get_json()["data"]
    assert (row["status"], row["email"], row["locale"]) == ("confirmed", "dana@example.org", "he")
    assert response.get_json()["waitlist_position"] is None
    (message,) = mailbox.wait_for(1)
    assert message["To"] == "dana@example.org"
    assert "Secret Garden 7" in text_part(message)  # the volunteer's own email, as on the site


def test_full_action_puts_the_volunteer_on_the_waitlist(client, mailbox):
    org = factories.make_org()
    event = factories.make_event(org, capacity=1)
    factories.make_signup(event)
    secret = make_token(org)

    response = _sign_up(client, event, secret, locale="en")

    assert response.status_code == 201
    assert response.get_json()["data"][0]["status"] == "waitlisted"
    assert response.get_json()["waitlist_position"] == 1
    (message,) = mailbox.wait_for(1)
    assert "waitlist" in message["Subject"].lower()


def test_duplicate_sign_up_is_409_and_writes_nothing(client, mailbox):
    org = factories.make_org()
    event = factories.make_event(org)
    secret = make_token(org)
    assert _sign_up(client, event, secret).status_code == 201
    mailbox.wait_for(1)

    again = _sign_up(client, event, secret, email="DANA@example.org", name="Someone else")

    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_signed_up"
    assert [s.name for s in db.session.scalars(select(Signup))] == ["Dana Levi"]


def test_closed_actions_refuse(client):
    org = factories.make_org()
    secret = make_token(org)
    full = factories.make_event(org, capacity=1, waitlist_enabled=False)
    factories.make_signup(full)
    cancelled = factories.make_event(org, status="cancelled")
    draft = factories.make_event(org, status="draft")
    for event, reason in ((full, "full"), (cancelled, "cancelled"), (draft, "not_published")):
        response = _sign_up(client, event, secret)
        assert response.status_code == 409
        error = response.get_json()["error"]
        assert error["code"] == "signup_closed" and error["details"][0]["type"] == reason


def test_sign_up_for_shifts(client, mailbox):
    org = factories.make_org()
    event = factories.make_event(org)
    shift = factories.make_shift(event, "Sorting", capacity=5)
    secret = make_token(org)
    assert _sign_up(client, event, secret).status_code == 422  # a shift must be chosen
    response = _sign_up(client, event, secret, shift_ids=[shift.id])
    assert response.status_code == 201
    assert response.get_json()["data"][0]["shift_id"] == shift.id
    assert _sign_up(client, event, secret, shift_ids=[shift.id]).status_code == 409


def test_bad_bodies_are_400_or_422(client):
    org = factories.make_org()
    event = factories.make_event(org)
    secret = make_token(org)
    url = f"/api/v1/events/{event.id}/signups"
    headers = bearer(secret) | {"Content-Type": "application/json"}
    cases = {
        "{": 400,
        '"\\ud800"': 400,
        "[]": 422,
        '{"name": "A"}': 422,
        '{"name": 5, "email": "a@example.org"}': 422,
        '{"name": "A", "email": "not an address"}': 422,
        '{"name": "\\u0000", "email": "a@example.org"}': 422,
        '{"name": "A", "email": "a@example.org", "phone": "call me"}': 422,
        '{"name": "A", "email": "a@example.org", "extra": 1}': 422,
    }
    for body, status in cases.items():
        response = client.post(url, data=body, headers=headers)
        assert response.status_code == status, body
        assert response.get_json()["error"]["status"] == status
    huge = client.post(url, data="x" * (2 * 1024 * 1024), headers=headers)
    assert huge.status_code == 413
    assert huge.get_json()["error"]["code"] == "payload_too_large"
    assert db.session.scalar(select(Signup)) is None


def _new_event(**fields):
    start = (factories.now() + timedelta(days=10)).replace(microsecond=0)
    return {
        "title": "Olive harvest",
        "region": "west_bank",
        "address": "The grove",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
    } | fields


def test_create_action_as_draft_or_published(client):
    org = factories.make_org(slug="mine")
    secret = make_token(org)

    draft = client.post("/api/v1/orgs/mine/events", json=_new_event(), headers=bearer(secret))
    published = client.post(
        "/api/v1/orgs/mine/events",
        json=_new_event(
            title="Vigil",
            location_visibility="confirmed",
            capacity=20,
            causes=["peace"],
            publish=True,
        ),
        headers=bearer(secret),
    )

    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"
    body = published.get_json()
    assert published.status_code == 201
    assert (body["status"], body["capacity"], body["causes"]) == ("published", 20, ["peace"])
    assert body["address"] == "The grove"  # organizers see their own hidden place
    public = client.get(f"/api/v1/events/{body['id']}").get_json()
    assert public["address"] is None


def test_create_action_checks_like_the_form(client):
    org = factories.make_org(slug="mine")
    secret = make_token(org)
    past = (factories.now() - timedelta(days=1)).isoformat()
    cases = [
        ({"starts_at": past}, "starts_at"),
        ({"ends_at": _new_event()["starts_at"]}, "ends_at"),
        ({"address": ""}, "address"),
        ({"is_online": True}, "online_url"),
        ({"is_online": True, "online_url": "javascript:alert(1)"}, "online_url"),
        ({"region": "mars"}, "region"),
        ({"starts_at": "2026-12-04T13:00:00"}, "starts_at"),  # no offset
        ({"capacity": 0}, "capacity"),
    ]
    for change, field in cases:
        response = client.post(
            "/api/v1/orgs/mine/events", json=_new_event(**change), headers=bearer(secret)
        )
        assert response.status_code == 422, change
        assert field in {d["field"] for d in response.get_json()["error"]["details"]}, change
    assert db.session.scalar(select(Event)) is None


def test_update_action_tells_volunteers_and_moves_the_waitlist(client, mailbox):
    org = factories.make_org()
    event = factories.make_event(org, capacity=1)
    factories.make_signup(event, email="first@example.org")
    waiting = factories.make_signup(event, status="waitlisted", email="second@example.org")
    secret = make_token(org)

    response = client.patch(
        f"/api/v1/events/{event.id}", json={"capacity": 2}, headers=bearer(secret)
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["capacity"] == 2
    db.session.refresh(waiting)
    assert waiting.status == "confirmed"
    assert mailbox.wait_for(1)[0]["To"] == "second@example.org"

    mailbox.clear()
    moved = (event.starts_at + timedelta(hours=1)).isoformat()
    ends = (event.ends_at + timedelta(hours=1)).isoformat()
    response = client.patch(
        f"/api/v1/events/{event.id}",
        json={"starts_at": moved, "ends_at": ends},
        headers=bearer(secret),
    )
    assert response.status_code == 200
    assert {m["To"] for m in mailbox.wait_for(2)} == {"first@example.org", "second@example.org"}


def test_update_refuses_bad_values_and_cancelled_actions(client):
    org = factories.make_org()
    event = factories.make_event(org)
    cancelled = factories.make_event(org, status="cancelled")
    secret = make_token(org)
    assert (
        client.patch(
            f"/api/v1/events/{event.id}",
            json={"ends_at": event.starts_at.isoformat()},
            headers=bearer(secret),
        ).status_code
        == 422
    )
    assert (
        client.patch(
            f"/api/v1/events/{event.id}", json={"capacity": "many"}, headers=bearer(secret)
        ).status_code
        == 422
    )
    response = client.patch(
        f"/api/v1/events/{cancelled.id}", json={"title": "Back on"}, headers=bearer(secret)
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "cancelled"
