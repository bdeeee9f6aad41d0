"""The mail server down never loses a sign-up: the sign-up is stored, the email waits in the
outbox, and `flask mail retry` hands it over once the server is back, exactly once."""

from __future__ import annotations

import email
import logging
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import OutboxMessage, Signup
from organizer.services import notifications, outbox

from . import factories
from .conftest import _Mailbox, free_port
from .helpers import ics_attachments, text_part


@pytest.fixture()
def mail_down(app):
    """Point the app at a port nothing listens on; yields that port."""
    port = free_port()
    app.extensions["mailman"].port = port
    return port


@pytest.fixture()
def later_server():
    """Start an SMTP server on a given port, later in the test; stopped at the end."""
    started = []

    def start(port: int) -> _Mailbox:
        handler = _Mailbox()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        return handler

    yield start
    for controller in started:
        controller.stop()


def outbox_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_signup_while_the_mail_server_is_down_is_kept_and_emailed_later(
    client, post_form, runner, mail_down, later_server
):
    event = factories.make_event(title="Vigil at the square", address="Paris Square")
    response = post_form(
        f"/events/{event.id}/signup", {"name": "Dana Levi", "email": "dana@example.org"}
    )
    assert response.status_code == 200
    assert "signed up" in response.get_data(as_text=True)
    signup = db.session.scalar(select(Signup))
    assert (signup.status, signup.email) == ("confirmed", "dana@example.org")
    (row,) = outbox_rows()
    assert row.to == "dana@example.org"
    assert row.attempts == 1 and row.last_error
    assert row.next_attempt_at > factories.now()
    stored_id = email.message_from_bytes(row.message)["Message-ID"]
    assert stored_id

    # Not due yet: nothing tried. Due, server still down: tried again, kept.
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0 and "0 sent" in result.output
    soon = (factories.now() + timedelta(minutes=6)).isoformat()
    result = runner.invoke(args=["mail", "retry", "--now", soon])
    assert result.exit_code == 1 and "1 to retry later" in result.output
    (row,) = outbox_rows()
    assert row.attempts == 2

    inbox = later_server(mail_down)  # the mail server is back
    later = (factories.now() + timedelta(hours=1)).isoformat()
    result = runner.invoke(args=["mail", "retry", "--now", later])
    assert result.exit_code == 0 and "1 sent" in result.output, result.output
    (message,) = inbox.wait_for(1)
    assert message["To"] == "dana@example.org"
    assert message["Subject"] == "You're signed up: Vigil at the square"
    assert message["Message-ID"] == stored_id and message["Date"]
    assert "Paris Square" in text_part(message)
    assert len(ics_attachments(message)) == 1
    assert outbox_rows() == []
    # Once: a second run finds nothing.
    runner.invoke(args=["mail", "retry", "--now", later])
    assert len(inbox.wait_for(2, timeout=0.3)) == 1


def test_emails_to_many_volunteers_wait_together(app, mail_down, later_server):
    event = factories.make_event(title="March")
    for n in range(3):
        factories.make_signup(event, email=f"v{n}@example.org")
    assert notifications.notify_volunteers(event, "event_cancelled", factories.now()) == 0
    assert sorted(row.to for row in outbox_rows()) == [f"v{n}@example.org" for n in range(3)]
    inbox = later_server(mail_down)
    summary = outbox.retry_due(factories.now() + timedelta(hours=1))
    assert summary.sent == 3 and summary.ok
    assert sorted(m["To"] for m in inbox.wait_for(3)) == [f"v{n}@example.org" for n in range(3)]


def test_retries_back_off_and_give_up_with_a_log_line(app, mail_down, caplog):
    app.config["MAIL_RETRY_MAX_ATTEMPTS"] = 3
    event = factories.make_event()
    signup = factories.make_signup(event, email="dana@example.org")
    notifications.notify_signup(signup)
    now = factories.now()
    (row,) = outbox_rows()
    first = row.next_attempt_at
    assert timedelta(minutes=4) < first - now < timedelta(minutes=6)
    outbox.retry_due(first)
    (row,) = outbox_rows()
    assert (row.attempts, row.next_attempt_at - first) == (2, timedelta(minutes=10))
    with caplog.at_level(logging.WARNING, logger="organizer.mail"):
        summary = outbox.retry_due(row.next_attempt_at)
    assert summary.given_up == 1
    (row,) = outbox_rows()
    assert (row.attempts, row.next_attempt_at) == (3, None)
    assert "Gave up on outbox message" in caplog.text
    assert outbox.retry_due(now + timedelta(days=30)).sent == 0  # never tried again


def test_a_claimed_message_is_not_sent_by_a_second_run(app, mail_down):
    signup = factories.make_signup(factories.make_event(), email="dana@example.org")
    notifications.notify_signup(signup)
    (row,) = outbox_rows()
    due = row.next_attempt_at
    assert outbox._claim(row.id, due) is not None
    assert outbox._claim(row.id, due) is None  # the other run's turn has not come
    assert outbox._claim(row.id, due + outbox.LEASE) is not None  # the first run died


def test_backoff_grows_and_is_capped():
    assert outbox.backoff(1) == timedelta(minutes=5)
    assert outbox.backoff(3) == timedelta(minutes=20)
    assert outbox.backoff(30) == timedelta(hours=6)


def test_nothing_goes_to_the_outbox_when_the_server_takes_it(client, post_form, mailbox):
    event = factories.make_event()
    post_form(f"/events/{event.id}/signup", {"name": "Dana", "email": "dana@example.org"})
    assert len(mailbox.wait_for(1)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
