"""Deleting an account: password and CSRF, the last owner hands over first, sign-ups are given
up through the services (waitlists move, counts stay right), personal data is gone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import (
    Invitation,
    Membership,
    OutboxMessage,
    Signup,
    StandingSignup,
    Subscription,
    User,
)
from organizer.models import signup as st
from organizer.models.organization import ROLE_ORGANIZER, ROLE_OWNER
from organizer.services import series as series_service
from organizer.services import signups as signup_service
from organizer.services.privacy import ANONYMOUS_DOMAIN

from . import factories
from .conftest import csrf_token


def delete(client, password=factories.PASSWORD, with_token: bool = True):
    data = {"password": password}
    if with_token:
        data["csrf_token"] = csrf_token(client, "/me/data")
    return client.post("/me/delete", data=data)


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_wrong_password_or_no_csrf_deletes_nothing(client, auth):
    user = factories.make_user()
    auth.login(user)
    response = delete(client, password="not my password")
    assert response.status_code == 400
    assert "That password is not right." in response.get_data(as_text=True)
    response = delete(client, password="")
    assert response.status_code == 400
    assert "Please enter your password" in response.get_data(as_text=True)
    assert delete(client, with_token=False).status_code == 400
    assert users() == 1
    assert client.get("/me/data").status_code == 200  # still logged in


def test_a_last_owner_hands_over_first(client, auth):
    owner = factories.make_user()
    org = factories.make_org(owner=owner, name="Women Wage Peace")
    co_lead = factories.make_user()
    db.session.add(Membership(organization=org, user=co_lead, role=ROLE_ORGANIZER))
    db.session.commit()
    auth.login(owner)
    page = client.get("/me/data").get_data(as_text=True)
    assert "You are the last owner" in page and "Women Wage Peace" in page
    response = delete(client)
    assert response.status_code == 409
    assert "You are the last owner" in response.get_data(as_text=True)
    assert users() == 2

    db.session.scalar(select(Membership).where(Membership.user_id == co_lead.id)).role = ROLE_OWNER
    db.session.commit()
    response = delete(client)
    assert response.status_code == 302
    assert users() == 1
    assert db.session.scalar(select(Membership)).user_id == co_lead.id


def test_delete_gives_up_places_and_keeps_only_counts(client, auth, mailbox):
    user = factories.make_user(email="dana@example.org", name="Dana Levi", phone="+972 50 1")
    org = factories.make_org()
    full = factories.make_event(org, title="Vigil", capacity=1)
    mine = factories.make_signup(full, user=user, email="dana@example.org", name="Dana Levi")
    waiting = factories.make_signup(
        full, status="waitlisted", email="next@example.org", name="Next In Line"
    )
    shifts = factories.make_event(org, title="Depot")
    sorting = factories.make_shift(shifts, name="Sorting", capacity=5)
    loading = factories.make_shift(shifts, name="Loading", capacity=5)
    factories.make_signup(shifts, shift=sorting, email="dana@example.org", name="Dana")
    factories.make_signup(shifts, shift=loading, email="dana@example.org", name="Dana")
    past = factories.make_event(
        org, title="Last year", starts_at=factories.now() - timedelta(days=30)
    )
    old = factories.make_signup(past, email="dana@example.org", name="Dana", attendance="attended")
    factories.make_subscription("dana@example.org")
    db.session.add(Invitation(organization=org, email="Dana@example.org"))
    db.session.add(
        OutboxMessage(sender="x@example.org", to="dana@example.org", message=b"Subject: hi")
    )
    db.session.commit()
    series = factories.make_series(org, first=factories.now() + timedelta(days=2), title="Weekly")
    standing, joined = series_service.start_standing(
        series.id, name="Dana", email="dana@example.org", user=user, now=factories.now()
    )
    assert joined
    depot_people = signup_service.confirmed_count(shifts.id)
    assert depot_people == 1
    auth.login(user)
    mailbox.clear()

    response = delete(client)
    assert response.status_code == 302
    assert db.session.get(User, user.id) is None
    db.session.expire_all()
    # The waitlist moved up, and the promoted volunteer was told.
    assert db.session.get(Signup, waiting.id).status == st.CONFIRMED
    assert [m["To"] for m in mailbox.wait_for(1)] == ["next@example.org"]
    # Rows stay for the counts, without anyone's data.
    rows = db.session.scalars(select(Signup).where(Signup.name != "Next In Line")).all()
    assert len(rows) == 4 + len(joined)
    for row in rows:
        assert row.name == "" and row.phone == "" and row.user_id is None
        assert row.email.endswith("@" + ANONYMOUS_DOMAIN)
    assert db.session.get(Signup, mine.id).status == st.CANCELLED
    kept = db.session.get(Signup, old.id)
    assert (kept.status, kept.attendance) == (st.CONFIRMED, "attended")
    # Two shifts of one person: still one person (cancelled now), not two.
    shift_rows = [r for r in rows if r.event_id == shifts.id]
    assert len({r.email for r in shift_rows}) == 1
    assert all(r.status == st.CANCELLED for r in shift_rows)
    assert signup_service.confirmed_count(full.id) == 1
    # Nothing else of Dana's is left.
    for model in (Subscription, StandingSignup, Invitation, OutboxMessage):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    everything = " ".join(
        f"{r.name} {r.email} {r.phone}" for r in db.session.scalars(select(Signup))
    )
    assert "dana" not in everything.lower() and "972" not in everything
    # Logged out, told so.
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Your account and your personal data were deleted" in page
    assert client.get("/me/data").status_code == 302


def test_organizers_see_a_removed_volunteer_as_such(client, auth):
    owner = factories.make_user()
    org = factories.make_org(owner=owner)
    past = factories.make_event(org, starts_at=factories.now() - timedelta(days=3))
    volunteer = factories.make_user(email="dana@example.org", name="Dana Levi")
    factories.make_signup(past, user=volunteer, email="dana@example.org", name="Dana Levi")
    factories.make_signup(past, email="other@example.org", name="Other Person")
    auth.login(volunteer)
    assert delete(client).status_code == 302
    auth.login(owner)
    page = client.get(f"/events/{past.id}/roster").get_data(as_text=True)
    assert "Removed at their request" in page and "Other Person" in page
    assert "Dana" not in page and ANONYMOUS_DOMAIN not in page
    csv = client.get(f"/events/{past.id}/roster.csv").get_data(as_text=True)
    assert "other@example.org" in csv
    assert "dana" not in csv.lower() and ANONYMOUS_DOMAIN not in csv


def test_deleting_guest_data_blanks_webhook_calls_still_waiting(app):
    """The cancellation the deletion causes, and any call not yet delivered, must not carry the
    person to the organization's system afterwards."""
    from datetime import UTC, datetime

    from organizer.models import WebhookDelivery
    from organizer.models import webhook as wh
    from organizer.services import privacy as privacy_service
    from organizer.services import signups as signup_service
    from organizer.services import webhooks as webhook_service

    now = datetime.now(UTC)
    event = factories.make_event(capacity=10)
    webhook_service.create_endpoint(
        event.organization, None, "http://127.0.0.1:9/hook", wh.EVENT_TYPES, now
    )
    signup_service.sign_up(
        event.id, name="Dana Secret", email="dana@example.org", phone="050 999", now=now
    )
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) >= 1

    privacy_service.delete_guest_data("dana@example.org", now)

    payloads = db.session.scalars(select(WebhookDelivery.payload)).all()
    assert len(payloads) >= 2  # signup.created, and signup.cancelled by the deletion
    for payload in payloads:
        assert "dana@example.org" not in payload and "Dana Secret" not in payload
        assert "050 999" not in payload
