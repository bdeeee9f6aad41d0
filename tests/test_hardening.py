"""Defences found by review: huge ids, NUL bytes, closed actions, production keys, mail headers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from config import ProductionConfig
from organizer import create_app
from organizer.email import send_email
from organizer.extensions import db
from organizer.models import Organization, Signup

from . import factories
from .helpers import all_text


@pytest.mark.parametrize("event_id", ["2147483648", "99999999999999999999"])
def test_ids_beyond_the_database_range_are_not_found(client, auth, event_id):
    assert client.get(f"/events/{event_id}").status_code == 404
    assert client.get(f"/events/{event_id}.ics").status_code == 404
    auth.login(factories.make_user(is_admin=True))
    assert client.get(f"/events/{event_id}/roster").status_code == 404


@pytest.mark.parametrize(
    "url", ["/orgs/a%00b", "/events/?q=a%00b", "/events/?org=x%00", "/auth/login?next=%00"]
)
def test_nul_bytes_in_urls_are_a_clear_400(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "could not be understood" in response.get_data(as_text=True)


def test_nul_bytes_in_a_form_write_nothing(client, auth, post_form):
    auth.login(factories.make_user())
    response = post_form(
        "/orgs/new",
        {"slug": "nul-org", "name": "Bad\x00Name", "timezone": "Asia/Jerusalem"},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 0


def test_a_cancelled_action_confirms_nobody_on_approval(client, auth, post_form, mailbox):
    owner = factories.make_user()
    org = factories.make_org(owner=owner)
    event = factories.make_event(
        org, approval_required=True, address="Secret Yard 3", location_visibility="confirmed"
    )
    pending = factories.make_signup(event, "pending")
    event.status = "cancelled"
    db.session.commit()
    auth.login(owner)
    roster = f"/events/{event.id}/roster"
    response = post_form(
        f"/events/{event.id}/signups/{pending.id}/approve", {}, page=roster, follow_redirects=True
    )
    assert "nobody can join it" in response.get_data(as_text=True)
    assert db.session.scalar(select(Signup.status).where(Signup.id == pending.id)) == "pending"
    assert all("Secret Yard 3" not in all_text(m) for m in mailbox.wait_for(1, timeout=0.5))


def test_production_refuses_to_start_with_the_default_secret_key():
    class Insecure(ProductionConfig):
        SECRET_KEY = "dev-only-not-secret"
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Insecure)

    class Secure(Insecure):
        SECRET_KEY = "a-long-random-value-from-the-environment"

    assert create_app(Secure).config["SESSION_COOKIE_SECURE"] is True


def test_message_ids_name_the_site(app, mailbox):
    app.config["PUBLIC_URL"] = "https://act.example.org"
    with app.test_request_context():
        send_email("v@example.org", "test_message", "en", subject="Hi")
    (message,) = mailbox.wait_for(1)
    assert message["Message-ID"].endswith("@act.example.org>")


def test_addresses_needing_smtputf8_are_refused_with_a_message(client, post_form):
    event = factories.make_event()
    response = post_form(f"/events/{event.id}/signup", {"name": "Dana", "email": "דנה@example.org"})
    assert response.status_code == 400
    assert "valid email address" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Signup)) == 0
