"""Downloading one's own data: everything about the volunteer, nothing about anyone else."""

from __future__ import annotations

import json
from datetime import timedelta

from organizer.extensions import db
from organizer.models import Membership
from organizer.models.organization import ROLE_OWNER
from organizer.services import calendars

from . import factories
from .helpers import count_queries


def _volunteer_with_data():
    user = factories.make_user(email="dana@example.org", name="Dana Levi", phone="+972 50 1")
    org = factories.make_org(name="Standing Together")
    db.session.add(Membership(organization=org, user=user, role=ROLE_OWNER))
    db.session.commit()
    hidden = factories.make_event(
        org,
        title="Vigil at the square",
        address="Secret Garden 7",
        location_visibility="confirmed",
    )
    shown = factories.make_event(org, title="March", address="Habima Square")
    waiting = factories.make_event(
        org, title="Full vigil", address="Hidden Yard 3", location_visibility="confirmed"
    )
    # As a guest (with the address the account confirmed), and with the account.
    factories.make_signup(hidden, email="dana@example.org", name="Dana", phone="050")
    factories.make_signup(shown, user=user, email="dana@example.org", name="Dana L")
    factories.make_signup(waiting, status="waitlisted", email="dana@example.org", name="Dana")
    depot = factories.make_event(org, title="Aid depot")
    shift = factories.make_shift(depot, name="Sorting 08:00")
    factories.make_signup(depot, shift=shift, email="dana@example.org", name="Dana")
    # Someone else, on the same actions: never in Dana's file.
    factories.make_signup(hidden, email="other@example.org", name="Other Person", phone="999")
    factories.make_subscription("Dana@Example.org", organizations=(org,), causes=("peace",))
    calendars.calendar_token(user)
    return user


def test_export_holds_everything_of_the_volunteer_and_nobody_else(client, auth):
    user = _volunteer_with_data()
    auth.login(user)
    page = client.get("/me/data")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "Delete my account" not in page.get_data(as_text=True)  # the last owner first
    response = client.get("/me/data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    body = response.get_data(as_text=True)
    data = json.loads(body)

    assert data["account"]["email"] == "dana@example.org"
    assert data["account"]["name"] == "Dana Levi"
    assert data["account"]["phone"] == "+972 50 1"
    assert data["account"]["personal_calendar_link"] is True
    assert "calendar_token" not in body and user.calendar_token not in body
    assert "password" not in body
    titles = sorted(s["action"]["title"] for s in data["signups"])
    assert titles == ["Full vigil", "March", "Vigil at the square"]
    assert [s["shift"]["name"] for s in data["shift_signups"]] == ["Sorting 08:00"]
    assert all(s["action"]["starts_at"] for s in data["signups"])
    assert data["organizations"][0]["role"] == "owner"
    (subscription,) = data["digest_subscriptions"]
    assert subscription["organizations"] == ["Standing Together"]
    assert subscription["causes"] == ["peace"]

    # A hidden place shows only where Dana is confirmed; never other people's data.
    assert "Secret Garden 7" in body
    assert "Hidden Yard 3" not in body
    by_title = {s["action"]["title"]: s for s in data["signups"]}
    assert by_title["Full vigil"]["action"]["location_hidden"] is True
    assert "Other Person" not in body and "other@example.org" not in body and "999" not in body


def test_export_hides_a_place_not_revealed_yet(client, auth):
    user = factories.make_user()
    event = factories.make_event(
        address="Olive Grove 2",
        location_visibility="confirmed",
        reveal_hours_before=2,
        starts_in=timedelta(days=5),
    )
    factories.make_signup(event, user=user, email=user.email)
    auth.login(user)
    body = client.get("/me/data.json").get_data(as_text=True)
    assert "Olive Grove 2" not in body


def test_export_needs_a_login(client):
    for url in ("/me/data", "/me/data.json"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]


def test_export_queries_do_not_grow_with_rows(app, client, auth):
    user = _volunteer_with_data()
    auth.login(user)
    client.get("/me/data.json")
    db.session.expire_all()
    with count_queries() as few:
        client.get("/me/data.json")
    org = factories.make_org()
    for n in range(6):
        event = factories.make_event(org, title=f"More {n}")
        factories.make_signup(event, email=user.email)
        shift = factories.make_shift(event)
        factories.make_signup(event, shift=shift, email=user.email)
    db.session.expire_all()
    with count_queries() as many:
        client.get("/me/data.json")
    assert len(many) == len(few), "\n\n".join(many)
