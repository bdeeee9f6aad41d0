"""The reminder's one-click "I can't come": a page with one button, then the place moves on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from organizer.extensions import db
from organizer.models import Signup
from organizer.services import reminders
from organizer.services.notifications import notify_signup
from organizer.services.reminders import cant_come_token, send_due
from organizer.services.signups import sign_up
from organizer.tokens import make_token

from . import factories
from .conftest import csrf_token
from .helpers import all_text, html_part, text_part

H = timedelta(hours=1)
CANT_COME_RE = re.compile(r"http://localhost(/signups/cant-come/[A-Za-z0-9._-]+)")


def cant_come_path(message) -> str:
    return CANT_COME_RE.search(text_part(message)).group(1)


def status_of(signup) -> str:
    db.session.expire_all()
    return db.session.get(Signup, signup.id).status


def press(client, path: str):
    """What a browser does: open the page, then press its one button."""
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


@pytest.fixture()
def full_action(app):
    """Three hours ahead, one place, a hidden meeting point, one volunteer waiting."""
    event = factories.make_event(
        starts_in=3 * H,
        capacity=1,
        title="Night watch",
        address="Olive grove gate",
        location_visibility="confirmed",
    )
    keeper = factories.make_signup(event, "confirmed", email="keeper@example.org", name="Keeper")
    waiting = factories.make_signup(event, "waitlisted", email="waiting@example.org")
    return event, keeper, waiting


def test_cant_come_frees_the_place_for_the_waitlist(client, mailbox, full_action):
    event, keeper, waiting = full_action
    assert send_due(factories.now()).sent == 1  # the waitlisted volunteer gets no reminder
    (reminder,) = mailbox.wait_for(1)
    assert reminder["To"] == "keeper@example.org"
    assert "Olive grove gate" in all_text(reminder)
    path = cant_come_path(reminder)
    assert path in html_part(reminder)

    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Night watch" in html and "Keeper" in html
    assert "I can't come: cancel my sign-up" in html
    assert "Olive grove gate" not in html  # a page to cancel, not to look things up
    assert page.headers["Cache-Control"] == "private, no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert client.head(path).status_code == 200
    assert status_of(keeper) == "confirmed"  # opening the link (or a mail scanner) changes nothing

    response = press(client, path)
    assert response.status_code == 302
    landing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your sign-up is cancelled" in landing
    assert status_of(keeper) == "cancelled"
    assert status_of(waiting) == "confirmed"

    _reminder, promoted = mailbox.wait_for(2)
    assert promoted["To"] == "waiting@example.org"
    assert promoted["Subject"].startswith("A place opened up")
    assert "Olive grove gate" in all_text(promoted)

    # Promoted late, less than three hours before: their reminder comes on the next run.
    assert send_due(factories.now()).sent == 1
    _reminder, _promoted, second = mailbox.wait_for(3)
    assert second["To"] == "waiting@example.org"
    assert "Olive grove gate" in all_text(second)


def test_pressing_twice_changes_nothing_more(client, mailbox, full_action):
    event, keeper, waiting = full_action
    path = f"/signups/cant-come/{cant_come_token(keeper)}"
    assert press(client, path).status_code == 302
    again = client.post(path, data={"csrf_token": csrf_token(client, "/auth/login")})
    assert again.status_code == 409  # a second tap, from the page still open
    html = again.get_data(as_text=True)
    assert "Your sign-up was already cancelled." in html
    assert "See your sign-up" in html
    assert client.get(path).status_code == 409
    assert len(mailbox.wait_for(2, timeout=0.5)) == 1  # one promotion, one email
    assert status_of(waiting) == "confirmed"


def test_no_hidden_place_in_any_email_to_the_waitlisted(client, mailbox, app):
    event = factories.make_event(
        starts_in=20 * H, capacity=1, address="Olive grove gate", location_visibility="confirmed"
    )
    factories.make_signup(event, "confirmed")
    waiting = sign_up(event.id, name="Waiting", email="waiting@example.org", now=factories.now())
    assert waiting.status == "waitlisted"
    notify_signup(waiting)
    send_due(factories.now() + 5 * H)
    messages = mailbox.wait_for(2)
    to_waiting = [m for m in messages if m["To"] == "waiting@example.org"]
    assert [m["Subject"].split(":")[0] for m in to_waiting] == ["You're on the waitlist"]
    assert all("Olive grove gate" not in all_text(m) for m in to_waiting)
    assert "Olive grove gate" in all_text(next(m for m in messages if m not in to_waiting))


def test_needs_a_csrf_token(client, full_action):
    _event, keeper, _waiting = full_action
    path = f"/signups/cant-come/{cant_come_token(keeper)}"
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 400
    assert client.post(path).status_code == 400
    assert status_of(keeper) == "confirmed"


def test_forged_and_foreign_links_are_a_clear_404(client, full_action):
    _event, keeper, _waiting = full_action
    token = cant_come_token(keeper)
    for bad in (
        token[:-2] + "xx",
        "nonsense",
        make_token("signup-manage", keeper.id),
        make_token(reminders.CANT_COME_PURPOSE, keeper.id),
        make_token(reminders.CANT_COME_PURPOSE, [keeper.id, True]),
    ):
        response = client.get(f"/signups/cant-come/{bad}")
        assert response.status_code == 404, bad
        assert "This link is not valid" in response.get_data(as_text=True)
        assert press_status(client, f"/signups/cant-come/{bad}") == 404
    assert status_of(keeper) == "confirmed"


def press_status(client, path: str) -> int:
    token = csrf_token(client, "/auth/login")
    return client.post(path, data={"csrf_token": token}).status_code


def test_an_expired_link_says_so(client, full_action, monkeypatch):
    _event, keeper, _waiting = full_action
    token = cant_come_token(keeper)
    monkeypatch.setattr(reminders, "CANT_COME_MAX_AGE", -1)
    response = client.get(f"/signups/cant-come/{token}")
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)
    assert press_status(client, f"/signups/cant-come/{token}") == 410
    assert status_of(keeper) == "confirmed"


def test_a_link_from_an_earlier_signup_no_longer_works(client, app, full_action):
    event, keeper, _waiting = full_action
    path = f"/signups/cant-come/{cant_come_token(keeper)}"
    assert press(client, path).status_code == 302
    # Signed up again later (the same row, confirmed anew): the old reminder's link is stale.
    db.session.get(Signup, keeper.id).confirmed_at = factories.now() + timedelta(seconds=5)
    db.session.get(Signup, keeper.id).status = "confirmed"
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "earlier sign-up" in response.get_data(as_text=True)
    assert press_status(client, path) == 410
    assert status_of(keeper) == "confirmed"


def test_over_cancelled_declined_and_deleted(client, full_action):
    event, keeper, waiting = full_action
    path = f"/signups/cant-come/{cant_come_token(keeper)}"

    event.status = "cancelled"
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 409
    assert "The organizers cancelled this action" in response.get_data(as_text=True)

    event.status = "published"
    event.starts_at = factories.now() - 3 * H
    event.ends_at = factories.now() - H
    db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "already over" in response.get_data(as_text=True)
    assert press_status(client, path) == 410
    assert status_of(keeper) == "confirmed"

    declined = factories.make_signup(factories.make_event(), "declined")
    response = client.get(f"/signups/cant-come/{cant_come_token(declined)}")
    assert response.status_code == 409
    assert "can no longer be cancelled" in response.get_data(as_text=True)

    db.session.delete(db.session.get(Signup, waiting.id))
    db.session.commit()
    assert client.get(f"/signups/cant-come/{cant_come_token(waiting)}").status_code == 404


def test_the_page_in_the_volunteers_language(client, full_action):
    _event, keeper, _waiting = full_action
    html = client.get(f"/signups/cant-come/{cant_come_token(keeper)}?lang=ar").get_data(
        as_text=True
    )
    assert 'lang="ar" dir="rtl"' in html
