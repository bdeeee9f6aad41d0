"""A network sees only what its members publish: its organizers and its API token get 403 on a
member's rosters, CSV, messages, check-in and sign-up lists, and nothing personal crosses over."""

from __future__ import annotations

import pytest

from organizer.extensions import db
from organizer.models import Membership
from organizer.models.organization import ROLE_ORGANIZER
from organizer.services import networks

from .api_helpers import bearer, make_token
from .factories import make_event, make_org, make_signup, make_user, now

VOLUNTEER_EMAIL = "private.volunteer@example.org"
VOLUNTEER_NAME = "Private Volunteer"
HIDDEN = "Hidden Meeting Point 12"


@pytest.fixture()
def boundary(app):
    coordinator, network_organizer, member_owner = make_user(), make_user(), make_user()
    network = make_org(slug="umbrella", owner=coordinator, is_network=True)
    db.session.add(Membership(organization=network, user=network_organizer, role=ROLE_ORGANIZER))
    member = make_org(slug="member-org", owner=member_owner)
    db.session.commit()
    row = networks.invite(network, member.slug, coordinator, now()).membership
    networks.accept(member, row.id, member_owner, now())
    event = make_event(
        member,
        title="Member action",
        location_visibility="confirmed",
        address=HIDDEN,
        approval_required=True,
    )
    signup = make_signup(event, "pending", name=VOLUNTEER_NAME, email=VOLUNTEER_EMAIL)
    return {
        "network": network,
        "member": member,
        "event": event,
        "signup": signup,
        "coordinator": coordinator,
        "network_organizer": network_organizer,
        "member_owner": member_owner,
    }


def member_pages(b) -> list[str]:
    event_id, signup_id = b["event"].id, b["signup"].id
    return [
        f"/events/{event_id}/roster",
        f"/events/{event_id}/roster.csv",
        f"/events/{event_id}/message",
        f"/events/{event_id}/checkin",
        f"/events/{event_id}/shifts",
        f"/events/{event_id}/edit",
        f"/events/{event_id}/volunteers/{signup_id}",
        f"/orgs/member-org/volunteers/{signup_id}",
        "/orgs/member-org/manage",
        "/orgs/member-org/members",
        "/orgs/member-org/dashboard",
        "/digest/orgs/member-org/highlights",
    ]


@pytest.mark.parametrize("who", ["coordinator", "network_organizer"])
def test_network_organizers_get_403_on_members_volunteer_pages(boundary, client, auth, who):
    auth.login(boundary[who])
    for url in member_pages(boundary):
        response = client.get(url)
        assert response.status_code == 403, url
        body = response.get_data(as_text=True)
        assert VOLUNTEER_EMAIL not in body and VOLUNTEER_NAME not in body, url


def test_the_member_itself_still_sees_its_roster(boundary, client, auth):
    auth.login(boundary["member_owner"])
    html = client.get(f"/events/{boundary['event'].id}/roster").get_data(as_text=True)
    assert VOLUNTEER_EMAIL in html


@pytest.mark.parametrize("who", ["coordinator", "network_organizer"])
def test_network_organizers_cant_act_on_members_sign_ups(boundary, client, auth, post_form, who):
    auth.login(boundary[who])
    event_id, signup_id = boundary["event"].id, boundary["signup"].id
    page = "/orgs/umbrella/manage"  # a page of theirs, for a CSRF token
    for url, data in (
        (f"/events/{event_id}/signups/{signup_id}/approve", {}),
        (f"/events/{event_id}/signups/{signup_id}/decline", {}),
        (f"/events/{event_id}/message", {"subject": "Hi", "body": "Hello"}),
        (f"/events/{event_id}/checkin/{signup_id}", {"action": "check_in"}),
    ):
        assert post_form(url, data, page=page).status_code == 403, url
    db.session.refresh(boundary["signup"])
    assert boundary["signup"].status == "pending"


def test_the_networks_api_token_gets_403_on_members_sign_ups(boundary, client):
    secret = make_token(boundary["network"], owner=boundary["coordinator"])
    headers = bearer(secret)
    event_id = boundary["event"].id
    assert client.get("/api/v1/orgs/member-org/signups", headers=headers).status_code == 403
    assert client.get("/api/v1/orgs/member-org/subscribers", headers=headers).status_code == 403
    response = client.post(
        f"/api/v1/events/{event_id}/signups",
        json={"name": "Someone", "email": "someone@example.org"},
        headers=headers,
    )
    assert response.status_code == 403
    # Its own list of sign-ups holds only its own actions' volunteers.
    own = client.get("/api/v1/orgs/umbrella/signups", headers=headers)
    assert own.status_code == 200
    assert VOLUNTEER_EMAIL not in own.get_data(as_text=True)
    # The member's action reads as it does for anyone: no hidden place, no names.
    public = client.get(f"/api/v1/events/{event_id}", headers=headers).get_data(as_text=True)
    assert HIDDEN not in public and VOLUNTEER_EMAIL not in public


def test_network_pages_and_feed_carry_no_personal_data(boundary, client, auth):
    auth.login(boundary["coordinator"])
    for url in (
        "/orgs/umbrella",
        "/orgs/umbrella/events.ics",
        "/orgs/umbrella/network",
        "/digest/orgs/umbrella/highlights",
        "/digest/orgs/umbrella/preview",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert VOLUNTEER_EMAIL not in body and VOLUNTEER_NAME not in body, url
        assert HIDDEN not in body, url
