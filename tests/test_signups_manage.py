"""The volunteer's own page, reached by the signed link: view, cancel, promotion of the waitlist."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from organizer.extensions import db
from organizer.models import Signup
from organizer.services.notifications import manage_token
from organizer.tokens import make_token

from . import factories
from .helpers import all_text, ics_attachments, text_part
from .test_signups_guest import manage_path


def manage_url(signup) -> str:
    return f"/signups/{manage_token(signup)}"


def test_cancel_by_link_promotes_first_waitlisted(client, post_form, mailbox):
    event = factories.make_event(
        capacity=1, address="Hidden Yard", location_visibility="confirmed", title="Harvest"
    )
    keeper = factories.make_signup(event, "confirmed", email="keeper@example.org")
    now = factories.now()
    second = factories.make_signup(
        event, "waitlisted", email="second@example.org", created_at=now - timedelta(minutes=5)
    )
    first = factories.make_signup(
        event, "waitlisted", email="first@example.org", created_at=now - timedelta(minutes=10)
    )

    response = post_form(f"{manage_url(keeper)}/cancel", {}, page=manage_url(keeper))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your sign-up is cancelled" in page
    assert "Hidden Yard" not in page  # a cancelled volunteer no longer sees the place

    db.session.expire_all()
    assert db.session.get(Signup, keeper.id).status == "cancelled"
    assert db.session.get(Signup, first.id).status == "confirmed"
    assert db.session.get(Signup, second.id).status == "waitlisted"

    (message,) = mailbox.wait_for(1)
    assert message["To"] == "first@example.org"
    assert message["Subject"].startswith("A place opened up")
    assert "Hidden Yard" in all_text(message)
    assert len(ics_attachments(message)) == 1
    assert "Hidden Yard" in client.get(manage_path(message)).get_data(as_text=True)


def test_cancel_twice_is_harmless(client, post_form, mailbox):
    event = factories.make_event(capacity=1)
    signup = factories.make_signup(event, "confirmed")
    waiting = factories.make_signup(event, "waitlisted")
    url = manage_url(signup)
    assert post_form(f"{url}/cancel", {}, page=url).status_code == 302
    again = post_form(f"{url}/cancel", {}, page="/auth/login")
    assert again.status_code == 302
    assert "already cancelled" in client.get(url).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Signup, waiting.id).status == "confirmed"
    assert len(mailbox.wait_for(2, timeout=0.5)) == 1  # one promotion, one email


def test_cancel_needs_csrf(client):
    signup = factories.make_signup(factories.make_event())
    response = client.post(f"{manage_url(signup)}/cancel", data={"csrf_token": "forged"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Signup, signup.id).status == "confirmed"


def test_tampered_or_foreign_token_is_a_clear_404(client):
    signup = factories.make_signup(factories.make_event())
    token = manage_token(signup)
    for bad in (token[:-2] + "xx", "nonsense", make_token("password-reset", signup.id)):
        response = client.get(f"/signups/{bad}")
        assert response.status_code == 404
        assert "sign-up link is not valid" in response.get_data(as_text=True)
    assert client.post(f"/signups/{token[:-2]}xx/cancel").status_code in (400, 404)
    gone = make_token("signup-manage", 999999)
    assert client.get(f"/signups/{gone}").status_code == 404


def test_manage_page_for_declined_and_cancelled_has_no_cancel_button(client):
    event = factories.make_event(address="Quiet Corner", location_visibility="confirmed")
    declined = factories.make_signup(event, "declined")
    page = client.get(manage_url(declined)).get_data(as_text=True)
    assert "Declined" in page and "Cancel my sign-up" not in page
    assert "Quiet Corner" not in page


def test_public_location_is_on_every_manage_page(client):
    event = factories.make_event(address="Open Square 1", location_visibility="public", capacity=1)
    factories.make_signup(event, "confirmed")
    waiting = factories.make_signup(event, "waitlisted")
    page = client.get(manage_url(waiting)).get_data(as_text=True)
    assert "Open Square 1" in page and "Your place in line: 1" in page


def test_resent_confirmation_for_duplicate_carries_the_same_rules(post_form, mailbox):
    event = factories.make_event(capacity=1, address="Back Door", location_visibility="confirmed")
    factories.make_signup(event, "confirmed")
    factories.make_signup(event, "waitlisted", email="w@example.org")
    response = post_form(f"/events/{event.id}/signup", {"name": "W", "email": "W@example.org"})
    assert "on the waitlist" in response.get_data(as_text=True)
    (message,) = mailbox.wait_for(1)
    assert "already signed up" in text_part(message)
    assert "Back Door" not in all_text(message)
    assert "/signups/" in text_part(message)
    assert db.session.scalar(select(Signup.status).where(Signup.email == "w@example.org")) == (
        "waitlisted"
    )
