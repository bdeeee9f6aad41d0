"""Histories: a volunteer's with one organization (for its organizers, its actions only), and a
volunteer's own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from organizer.extensions import db
from organizer.models import EventHost

from . import factories
from .helpers import count_queries


@pytest.fixture()
def history(app):
    """Maya took part in two of Tag Meir's actions (one as a guest), missed one, joined one
    co-hosted with Roots, and one of Roots' own; she signs up for one more to come."""
    maya = factories.make_user(email="maya@example.org", name="Maya Stein")
    tag_owner, roots_owner = factories.make_user(), factories.make_user()
    tag = factories.make_org(owner=tag_owner, name="Tag Meir")
    roots = factories.make_org(owner=roots_owner, name="Roots")
    days = timedelta(days=1)
    events = {
        "harvest": factories.make_event(tag, title="Olive harvest", starts_in=-20 * days),
        "vigil": factories.make_event(tag, title="Friday vigil", starts_in=-10 * days),
        "missed": factories.make_event(tag, title="Food drive", starts_in=-5 * days),
        "joint": factories.make_event(
            roots, title="Joint walk", starts_in=-3 * days, cohosts=(tag,)
        ),
        "roots_only": factories.make_event(roots, title="Roots meeting", starts_in=-2 * days),
        "next": factories.make_event(tag, title="Next harvest", starts_in=4 * days),
    }
    mine = {"user_id": maya.id, "email": maya.email, "name": "Maya Stein", "phone": "050-1"}
    signups = {
        "harvest": factories.make_signup(events["harvest"], attendance="attended", **mine),
        # As a guest, with the same address and no account.
        "vigil": factories.make_signup(
            events["vigil"], email="maya@example.org", name="Maya S.", attendance="attended"
        ),
        "missed": factories.make_signup(events["missed"], attendance="no_show", **mine),
        "joint": factories.make_signup(events["joint"], attendance="attended", **mine),
        "roots_only": factories.make_signup(events["roots_only"], attendance="attended", **mine),
        "next": factories.make_signup(events["next"], "waitlisted", **mine),
    }
    someone = factories.make_signup(events["harvest"], name="Someone Else", email="s@example.org")
    return {
        "maya": maya,
        "tag": tag,
        "roots": roots,
        "tag_owner": tag_owner,
        "roots_owner": roots_owner,
        "events": events,
        "signups": signups,
        "someone": someone,
    }


def history_url(org, signup) -> str:
    return f"/orgs/{org.slug}/volunteers/{signup.id}"


def test_an_organizer_sees_the_volunteers_history_with_their_organization(client, auth, history):
    auth.login(history["tag_owner"])
    response = client.get(history_url(history["tag"], history["signups"]["missed"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    for title in ("Olive harvest", "Friday vigil", "Food drive", "Joint walk", "Next harvest"):
        assert title in page
    assert "Roots meeting" not in page  # another organization's action
    assert "Someone Else" not in page
    assert "maya@example.org" in page
    assert "Past actions, confirmed: <strong>4</strong>" in page
    assert "Attended: <strong>3</strong>" in page
    assert "No-show: <strong>1</strong>" in page
    assert "maya@example.org" not in history_url(history["tag"], history["signups"]["missed"])


def test_the_other_host_sees_only_its_own_part(client, auth, history):
    auth.login(history["roots_owner"])
    page = client.get(history_url(history["roots"], history["signups"]["joint"])).get_data(
        as_text=True
    )
    assert "Joint walk" in page and "Roots meeting" in page
    for title in ("Olive harvest", "Friday vigil", "Food drive", "Next harvest"):
        assert title not in page


def test_a_signup_to_another_organizations_action_is_404(client, auth, history):
    """A Tag Meir organizer can't reach Roots' sign-ups through Tag Meir's address."""
    auth.login(history["tag_owner"])
    roots_signup = history["signups"]["roots_only"]
    assert client.get(history_url(history["tag"], roots_signup)).status_code == 404
    assert client.get(f"/orgs/{history['tag'].slug}/volunteers/999999").status_code == 404


@pytest.mark.parametrize("who", ["volunteer", "other_organizer"])
def test_outsiders_are_refused(client, auth, history, who):
    user = history["maya"] if who == "volunteer" else history["roots_owner"]
    auth.login(user)
    response = client.get(history_url(history["tag"], history["signups"]["harvest"]))
    assert response.status_code == 403
    assert "Olive harvest" not in response.get_data(as_text=True)


def test_anonymous_is_sent_to_log_in(client, history):
    response = client.get(history_url(history["tag"], history["signups"]["harvest"]))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_roster_links_to_the_history_through_the_readers_organization(client, auth, history):
    joint, signup = history["events"]["joint"], history["signups"]["joint"]
    for owner, org in ((history["tag_owner"], "tag"), (history["roots_owner"], "roots")):
        auth.login(owner)
        roster = client.get(f"/events/{joint.id}/roster").get_data(as_text=True)
        link = f"/events/{joint.id}/volunteers/{signup.id}"
        assert f'href="{link}"' in roster
        response = client.get(link)
        assert response.status_code == 302
        assert response.headers["Location"] == history_url(history[org], signup)
        auth.logout()
    auth.login(history["maya"])
    assert client.get(f"/events/{joint.id}/volunteers/{signup.id}").status_code == 403


def test_organization_history_takes_a_fixed_number_of_queries(client, auth, history):
    auth.login(history["tag_owner"])
    url = history_url(history["tag"], history["signups"]["harvest"])
    client.get(url)
    db.session.expire_all()
    with count_queries() as few:
        client.get(url)
    for _ in range(10):
        event = factories.make_event(history["tag"], starts_in=timedelta(days=-1))
        factories.make_signup(event, user_id=history["maya"].id, email="maya@example.org")
    db.session.expire_all()
    with count_queries() as many:
        page = client.get(url).get_data(as_text=True)
    assert "Past actions, confirmed: <strong>14</strong>" in page
    assert len(few) == len(many)


# --- the volunteer's own -----------------------------------------------------------------------


def test_my_history_lists_every_organization_and_my_attendance(client, auth, history):
    auth.login(history["maya"])
    response = client.get("/me/history")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for title in ("Olive harvest", "Friday vigil", "Food drive", "Joint walk", "Roots meeting"):
        assert title in page
    assert "Next harvest" in page and "Waitlisted" in page
    assert "You took part in 4 actions." in page
    assert "No-show" in page
    assert "Someone Else" not in page
    upcoming, past = page.split("Past actions", 1)
    assert "Next harvest" in upcoming and "Olive harvest" in past
    assert past.index("Roots meeting") < past.index("Olive harvest")  # latest first


def test_my_history_is_mine_only(client, auth, history):
    auth.login(factories.make_user())
    page = client.get("/me/history").get_data(as_text=True)
    assert "Olive harvest" not in page and "Nothing coming up." in page


def test_unconfirmed_address_does_not_claim_guest_signups(client, auth):
    user = factories.make_user(email="new@example.org", email_confirmed_at=None)
    factories.make_signup(factories.make_event(title="As a guest"), email="new@example.org")
    factories.make_signup(
        factories.make_event(title="With the account"), user_id=user.id, email="new@example.org"
    )
    auth.login(user)
    page = client.get("/me/history").get_data(as_text=True)
    assert "With the account" in page and "As a guest" not in page


def test_my_history_needs_a_login(client):
    response = client.get("/me/history")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_my_history_takes_a_fixed_number_of_queries(client, auth, history):
    auth.login(history["maya"])
    client.get("/me/history")
    db.session.expire_all()
    with count_queries() as few:
        client.get("/me/history")
    other = factories.make_org()
    for i in range(10):
        event = factories.make_event(other, starts_in=timedelta(days=i - 5))
        factories.make_signup(event, user_id=history["maya"].id, email="maya@example.org")
    db.session.expire_all()
    with count_queries() as many:
        client.get("/me/history")
    assert len(few) == len(many) <= 3


def test_profile_links_to_the_history(client, auth, history):
    auth.login(history["maya"])
    assert 'href="/me/history"' in client.get("/auth/profile").get_data(as_text=True)


def test_co_host_pending_does_not_open_the_history(client, auth, history):
    """Asked to co-host but not accepted yet: not a host, so no history through it."""
    asked_owner = factories.make_user()
    asked = factories.make_org(owner=asked_owner)
    harvest = history["events"]["harvest"]
    harvest.cohosts = [EventHost(organization=asked, status="pending")]
    db.session.commit()
    auth.login(asked_owner)
    assert client.get(history_url(asked, history["signups"]["harvest"])).status_code == 404
