"""Signing up without an account (and with one), the confirmation page and the emails."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Signup

from . import factories
from .helpers import all_text, html_part, ics_attachments, text_part

MANAGE_LINK = re.compile(r"http://localhost(/signups/[A-Za-z0-9_.\-]+)")


def count_signups(event_id: int | None = None) -> int:
    query = select(func.count()).select_from(Signup)
    if event_id is not None:
        query = query.where(Signup.event_id == event_id)
    return db.session.scalar(query)


def signup_url(event) -> str:
    return f"/events/{event.id}/signup"


def manage_path(message) -> str:
    match = MANAGE_LINK.search(text_part(message))
    assert match, "no manage link in the email"
    return match.group(1)


@pytest.fixture()
def hidden_event():
    org = factories.make_org(name="Peace Now & Friends")
    return factories.make_event(
        org,
        title="Vigil at the square",
        address="Secret Garden 7",
        capacity=10,
        location_visibility="confirmed",
    )


def test_guest_signup_is_confirmed_and_emailed(client, post_form, mailbox, hidden_event):
    response = post_form(
        signup_url(hidden_event),
        {"name": "Dana Levi", "email": "Dana@Example.org", "phone": "+972 50 123 4567"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "You&#39;re signed up!" in page or "You're signed up!" in page
    assert "dana@example.org" in page
    assert "An email is on its way" in page
    # The confirmation page itself never shows the hidden address.
    assert "Secret Garden" not in page

    signup = db.session.scalar(select(Signup))
    assert (signup.status, signup.email, signup.name) == (
        "confirmed",
        "dana@example.org",
        "Dana Levi",
    )
    assert signup.phone == "+972 50 123 4567"
    assert signup.locale == "en"

    (message,) = mailbox.wait_for(1)
    assert message["To"] == "dana@example.org"
    assert message["Message-ID"] and message["Date"]
    assert message.is_multipart()
    assert message["Subject"] == "You're signed up: Vigil at the square"
    text, html = text_part(message), html_part(message)
    for body in (text, html):
        assert "Vigil at the square" in body
        assert "Secret Garden 7" in body
        assert "Jerusalem" in body  # the time zone label
    assert "Peace Now &amp; Friends" in html

    (attachment,) = ics_attachments(message)
    assert attachment.get_filename() == f"action-{hidden_event.id}.ics"
    calendar = Calendar.from_ical(attachment.get_content())
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Vigil at the square"
    assert "Secret Garden 7" in str(vevent["LOCATION"])
    assert "Secret Garden 7" in all_text(message)
    assert vevent.decoded("DTSTART") == hidden_event.starts_at.replace(microsecond=0)

    manage = client.get(manage_path(message))
    assert manage.status_code == 200
    body = manage.get_data(as_text=True)
    assert "Secret Garden 7" in body and "Dana Levi" in body
    assert "Cancel my sign-up" in body
    assert manage.headers["Cache-Control"] == "private, no-store"


def test_waitlisted_and_pending_never_see_the_hidden_address(client, post_form, mailbox):
    full = factories.make_event(
        capacity=1, address="Hidden Alley 3", location_visibility="confirmed"
    )
    factories.make_signup(full, "confirmed")
    approval = factories.make_event(
        address="Hidden Alley 4", location_visibility="confirmed", approval_required=True
    )

    response = post_form(signup_url(full), {"name": "Wait Ing", "email": "wait@example.org"})
    assert response.status_code == 200
    assert "on the waitlist" in response.get_data(as_text=True)
    response = post_form(signup_url(approval), {"name": "Pen Ding", "email": "pend@example.org"})
    assert response.status_code == 200
    assert "request is sent" in response.get_data(as_text=True)

    statuses = {s.email: s.status for s in db.session.scalars(select(Signup))}
    assert statuses["wait@example.org"] == "waitlisted"
    assert statuses["pend@example.org"] == "pending"
    messages = mailbox.wait_for(2)
    assert len(messages) == 2
    for message in messages:
        assert "Hidden Alley" not in all_text(message)
        assert not ics_attachments(message)
        page = client.get(manage_path(message)).get_data(as_text=True)
        assert "Hidden Alley" not in page
        assert "shared with confirmed volunteers" in page
    (waitlisted,) = mailbox.to("wait@example.org")
    assert waitlisted["Subject"].startswith("You're on the waitlist")
    assert "Your place in line: 1" in text_part(waitlisted)


def test_hidden_address_waits_for_the_reveal_time(client, post_form, mailbox):
    event = factories.make_event(
        starts_in=timedelta(days=5),
        address="Olive Grove Gate",
        location_visibility="confirmed",
        reveal_hours_before=24,
    )
    response = post_form(signup_url(event), {"name": "Early Bird", "email": "early@example.org"})
    assert response.status_code == 200
    (message,) = mailbox.wait_for(1)
    assert "Olive Grove Gate" not in all_text(message)
    assert "will be shared with you from" in text_part(message)
    (attachment,) = ics_attachments(message)
    assert "Olive Grove Gate" not in attachment.get_content()
    page = client.get(manage_path(message)).get_data(as_text=True)
    assert "Olive Grove Gate" not in page
    assert "will appear here from" in page

    # Once the reveal time has come, the same link shows the place.
    event.starts_at = factories.now() + timedelta(hours=3)
    event.ends_at = event.starts_at + timedelta(hours=2)
    db.session.commit()
    page = client.get(manage_path(message)).get_data(as_text=True)
    assert "Olive Grove Gate" in page


def test_online_link_only_for_confirmed(post_form, mailbox):
    event = factories.make_event(
        is_online=True,
        online_url="https://meet.example.org/secret-room",
        address="",
        location_visibility="confirmed",
        capacity=1,
    )
    post_form(signup_url(event), {"name": "First", "email": "first@example.org"})
    post_form(signup_url(event), {"name": "Second", "email": "second@example.org"})
    mailbox.wait_for(2)
    (first,) = mailbox.to("first@example.org")
    (second,) = mailbox.to("second@example.org")
    assert "https://meet.example.org/secret-room" in text_part(first)
    assert "secret-room" in ics_attachments(first)[0].get_content()
    assert "secret-room" not in all_text(second)


def test_full_without_waitlist_is_refused(client, post_form, mailbox):
    event = factories.make_event(capacity=1, waitlist_enabled=False)
    factories.make_signup(event, "confirmed")
    page = client.get(signup_url(event)).get_data(as_text=True)
    assert "no waitlist" in page and 'name="email"' not in page
    response = post_form(
        signup_url(event), {"name": "Late", "email": "late@example.org"}, page="/auth/login"
    )
    assert response.status_code == 409
    assert "full" in response.get_data(as_text=True)
    assert count_signups(event.id) == 1
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_box_shows_places_left_and_waitlist(client):
    event = factories.make_event(capacity=3)
    factories.make_signup(event, "confirmed")
    page = client.get(signup_url(event)).get_data(as_text=True)
    assert "2 places left" in page
    factories.make_signup(event, "confirmed")
    factories.make_signup(event, "confirmed")
    page = client.get(signup_url(event)).get_data(as_text=True)
    assert "Full — join the waitlist" in page and "Join the waitlist" in page
    approval = factories.make_event(approval_required=True)
    assert "Sign-ups need approval" in client.get(signup_url(approval)).get_data(as_text=True)
    # Counts, never names.
    assert "Volunteer" not in page


def test_same_email_twice_keeps_one_signup(post_form, mailbox):
    event = factories.make_event(capacity=5)
    first = post_form(signup_url(event), {"name": "Noa", "email": "noa@example.org"})
    assert first.status_code == 200
    again = post_form(signup_url(event), {"name": "Noa again", "email": "  NOA@Example.ORG "})
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    # A guest page never says whether the address was already signed up (no probing who
    # joined); the page reads as for a newcomer and the inbox is told.
    assert page == first.get_data(as_text=True).replace("Noa again", "Noa")
    assert "already" not in page
    assert count_signups(event.id) == 1
    assert db.session.scalar(select(Signup.name)) == "Noa"
    # The link to manage it went to that inbox again (never shown on the page).
    messages = mailbox.wait_for(2)
    assert [m["To"] for m in messages] == ["noa@example.org", "noa@example.org"]
    assert "already signed up" in text_part(messages[1])
    assert "already" not in text_part(messages[0])
    assert "/signups/" not in page


def test_logged_in_owner_of_the_address_is_told_on_the_page(client, auth, post_form):
    event = factories.make_event(capacity=5)
    user = factories.make_user(email="owner@example.org")
    auth.login(user)
    post_form(signup_url(event), {"name": user.name, "email": user.email})
    again = post_form(signup_url(event), {"name": user.name, "email": user.email})
    assert "already signed up" in again.get_data(as_text=True)
    assert count_signups(event.id) == 1


def test_unconfirmed_account_is_not_linked_to_the_signup(client, auth, post_form):
    event = factories.make_event(capacity=5, address="Hidden 7", location_visibility="confirmed")
    user = factories.make_user(email="claims@example.org", email_confirmed_at=None)
    auth.login(user)
    post_form(signup_url(event), {"name": user.name, "email": user.email})
    assert db.session.scalar(select(Signup.user_id)) is None
    assert "your sign-up page" not in client.get(f"/events/{event.id}").get_data(as_text=True)


def test_cancelled_volunteer_can_sign_up_again(post_form, mailbox):
    event = factories.make_event(capacity=5)
    factories.make_signup(event, "cancelled", email="back@example.org")
    response = post_form(signup_url(event), {"name": "Back", "email": "back@example.org"})
    assert response.status_code == 200
    (signup,) = db.session.scalars(select(Signup)).all()
    assert signup.status == "confirmed" and signup.name == "Back"


def test_past_and_cancelled_actions_refuse(post_form, client):
    past = factories.make_event(starts_in=timedelta(days=-2))
    cancelled = factories.make_event(status="cancelled")
    for event in (past, cancelled):
        token_page = client.get(signup_url(event))
        assert token_page.status_code == 200
        response = post_form(
            signup_url(event), {"name": "X", "email": "x@example.org"}, page="/auth/login"
        )
        assert response.status_code == 409
    assert count_signups() == 0


def test_logged_in_user_signs_up_in_one_click(client, auth, post_form, mailbox):
    user = factories.make_user(email="Rana@Example.org", name="Rana Khoury", phone="050-1234567")
    event = factories.make_event(capacity=5)
    auth.login(user)
    page = client.get(signup_url(event)).get_data(as_text=True)
    assert "Rana Khoury" in page
    assert 'name="email"' not in page  # one button, no fields
    response = post_form(signup_url(event), {})
    assert response.status_code == 200
    signup = db.session.scalar(select(Signup))
    assert (signup.name, signup.email, signup.phone) == (
        "Rana Khoury",
        "rana@example.org",
        "050-1234567",
    )
    assert signup.user_id == user.id
    assert mailbox.wait_for(1)[0]["To"] == "rana@example.org"
    # The box now shows their status and the link to manage it.
    page = client.get(signup_url(event)).get_data(as_text=True)
    assert "You&#39;re signed up" in page or "You're signed up" in page
    assert "/signups/" in page


def test_signup_in_hebrew_gets_hebrew_locale(client, post_form, mailbox):
    event = factories.make_event()
    client.get("/?lang=he")
    response = post_form(signup_url(event), {"name": "דנה", "email": "dana@example.org"})
    assert response.status_code == 200
    assert db.session.scalar(select(Signup.locale)) == "he"
    (message,) = mailbox.wait_for(1)
    assert "דנה" in text_part(message)


def test_action_page_includes_the_signup_box(client, auth):
    event = factories.make_event(capacity=4, address="Secret Spot", location_visibility="confirmed")
    factories.make_signup(event, "confirmed", name="Hidden Name")
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert 'id="signup"' in page and "3 places left" in page
    assert f'action="/events/{event.id}/signup"' in page
    assert "Hidden Name" not in page and "Secret Spot" not in page

    user = factories.make_user(name="Lina")
    auth.login(user)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "Lina" in page and 'name="email"' not in page
