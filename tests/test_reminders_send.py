"""`flask reminders send`: who is due when, exactly once per sign-up and kind, SMTP faults."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from organizer.extensions import db
from organizer.models import Event, EventTranslation, ReminderDelivery, Shift, Signup
from organizer.services import reminders
from organizer.services.reminders import (
    BOUNCED,
    CLAIMED,
    FAILED,
    SENT,
    STALE_CLAIM,
    claim,
    due_reminders,
    send_due,
)
from organizer.services.signups import cancel

from . import factories
from .conftest import free_port
from .helpers import all_text, count_queries, html_part, text_part

# Tuesday 10 November 2026, 10:00 in Jerusalem (UTC+2).
NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
CANT_COME_LINK = re.compile(r"http://localhost/signups/cant-come/[A-Za-z0-9._-]+")


def action(starts_in: timedelta, **kwargs):
    kwargs.setdefault("title", "Olive harvest")
    return factories.make_event(starts_at=NOW + starts_in, **kwargs)


def confirmed(event, **kwargs):
    kwargs.setdefault("created_at", NOW - timedelta(days=5))
    return factories.make_signup(event, "confirmed", **kwargs)


def rows(signup=None) -> list[ReminderDelivery]:
    db.session.expire_all()
    query = select(ReminderDelivery).order_by(ReminderDelivery.id)
    if signup is not None:
        query = query.where(ReminderDelivery.signup_id == signup.id)
    return list(db.session.scalars(query))


def received(mailbox, count: int, timeout: float = 5.0):
    return mailbox.wait_for(count, timeout=timeout)


def recipients(mailbox) -> list[str]:
    return sorted(m["To"] for m in mailbox.messages)


# --- who is due ---------------------------------------------------------------------------------


def test_due_windows_of_the_first_reminder(app, mailbox):
    due = confirmed(action(23 * H), email="due@example.org")
    confirmed(action(25 * H), email="early@example.org")  # its 24 hours have not come yet
    confirmed(action(50 * H, reminder_hours=48), email="not-yet@example.org")
    two_days = confirmed(action(47 * H, reminder_hours=48), email="two-days@example.org")
    confirmed(action(20 * H, reminder_hours=None), email="never@example.org")
    confirmed(action(timedelta(minutes=50)), email="too-late@example.org")  # under an hour
    confirmed(action(-H), email="started@example.org")

    assert due_reminders(NOW) == [(due.id, "first"), (two_days.id, "first")]
    summary = send_due(NOW)
    assert (summary.sent, summary.failed, summary.bounced, summary.deferred) == (2, 0, 0, 0)
    assert summary.ok
    received(mailbox, 2)
    assert recipients(mailbox) == ["due@example.org", "two-days@example.org"]
    assert {(r.status, r.kind, r.attempts) for r in rows()} == {(SENT, "first", 1)}


def test_exactly_at_the_reminder_time_and_one_hour_before_the_start(app, mailbox):
    on_time = confirmed(action(24 * H))
    last_chance = confirmed(action(H))
    assert {s for s, _ in due_reminders(NOW)} == {on_time.id, last_chance.id}
    assert due_reminders(NOW + timedelta(seconds=1)) == [(on_time.id, "first")]


def test_second_reminder_two_hours_before(app, mailbox):
    event = action(30 * H, second_reminder=True, reminder_hours=24)
    signup = confirmed(event, email="twice@example.org")
    assert send_due(NOW).sent == 0
    assert send_due(NOW + 6 * H).sent == 1  # 24 hours before
    assert send_due(NOW + 7 * H).sent == 0
    assert send_due(NOW + 28 * H).sent == 1  # 2 hours before
    assert send_due(NOW + 28 * H + timedelta(minutes=10)).sent == 0
    first, second = received(mailbox, 2)
    assert first["Message-ID"] == f"<reminder-{signup.id}-first@localhost>"
    assert second["Message-ID"] == f"<reminder-{signup.id}-second@localhost>"
    assert "starts soon, at 16:00" in text_part(second)  # 14:00 UTC, Jerusalem time
    assert [(r.kind, r.status) for r in rows(signup)] == [("first", SENT), ("second", SENT)]


def test_only_the_latest_due_reminder_is_sent(app, mailbox):
    """Signed up 90 minutes before: the 24-hour reminder is overtaken by the 2-hour one."""
    event = action(timedelta(minutes=90), second_reminder=True)
    signup = confirmed(event)
    assert due_reminders(NOW) == [(signup.id, "second")]
    assert send_due(NOW).sent == 1
    assert send_due(NOW + timedelta(minutes=20)).sent == 0
    assert [r.kind for r in rows(signup)] == ["second"]
    received(mailbox, 1)
    assert len(mailbox.messages) == 1


def test_no_first_reminder_but_a_second(app, mailbox):
    signup = confirmed(action(90 * timedelta(minutes=1), reminder_hours=None, second_reminder=True))
    assert due_reminders(NOW) == [(signup.id, "second")]
    assert due_reminders(NOW - 2 * H) == []


def test_cancelled_unpublished_and_unconfirmed_are_skipped(app, mailbox):
    live = action(20 * H)
    for status in ("waitlisted", "pending", "cancelled", "declined"):
        factories.make_signup(live, status, email=f"{status}@example.org")
    ok = confirmed(live, email="ok@example.org")
    called_off = action(20 * H, status="cancelled")
    confirmed(called_off, email="called-off@example.org")
    draft = action(20 * H, status="draft")
    confirmed(draft, email="draft@example.org")
    assert due_reminders(NOW) == [(ok.id, "first")]
    assert send_due(NOW).sent == 1
    assert [m["To"] for m in received(mailbox, 1)] == ["ok@example.org"]


def test_a_second_run_sends_nothing_new(app, mailbox, runner):
    event = action(20 * H)
    for n in range(3):
        confirmed(event, email=f"v{n}@example.org")
    result = runner.invoke(args=["reminders", "send", "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "sent 3, failed 0, bounced 0, deferred 0" in result.output
    result = runner.invoke(args=["reminders", "send", "--now", (NOW + 2 * H).isoformat()])
    assert result.exit_code == 0, result.output
    assert "sent 0, failed 0, bounced 0, deferred 0" in result.output
    received(mailbox, 3)
    assert recipients(mailbox) == ["v0@example.org", "v1@example.org", "v2@example.org"]


def test_cli_refuses_a_bad_now(app, runner):
    result = runner.invoke(args=["reminders", "send", "--now", "yesterday"])
    assert result.exit_code == 2
    assert "not an ISO-8601 date and time" in result.output


def test_late_signups_and_late_promotions_get_one_on_the_next_run(app, mailbox):
    event = action(20 * H, capacity=1)
    early = confirmed(event, email="early@example.org")
    waiting = factories.make_signup(event, "waitlisted", email="waiting@example.org")
    assert send_due(NOW).sent == 1

    later = NOW + 10 * H  # 10 hours before the start, well after the reminder time
    change = cancel(early.id, later)
    assert [s.id for s in change.promoted] == [waiting.id]
    late = confirmed(action(3 * H + 10 * H), email="late@example.org", created_at=later)
    confirmed(action(10 * H + timedelta(minutes=40)), email="too-late@example.org")
    assert send_due(later).sent == 2
    received(mailbox, 3)
    assert recipients(mailbox) == ["early@example.org", "late@example.org", "waiting@example.org"]
    assert [r.kind for r in rows(late)] == ["first"]


def test_a_shift_counts_from_its_own_start(app, mailbox):
    event = action(20 * H, duration=14 * H)
    loading = Shift(
        event=event,
        name="Loading trucks",
        starts_at=event.starts_at + 8 * H,
        ends_at=event.starts_at + 12 * H,
        capacity=5,
    )
    db.session.add(loading)
    db.session.commit()
    sorting = confirmed(event, email="sorting@example.org")
    loader = confirmed(event, email="loader@example.org", shift_id=loading.id)
    assert due_reminders(NOW) == [(sorting.id, "first")]
    assert send_due(NOW).sent == 1
    assert due_reminders(NOW + 5 * H) == [(loader.id, "first")]  # sorting's is not due twice
    assert send_due(NOW + 5 * H).sent == 1
    _first, second = received(mailbox, 2)
    assert second["To"] == "loader@example.org"
    assert "Your shift: Loading trucks" in text_part(second)
    assert "<bdi>Loading trucks</bdi>" in html_part(second)


def test_a_volunteer_in_two_shifts_gets_one_reminder_listing_both(app, mailbox):
    """One email per address, action, start and kind: shifts without hours of their own (or
    with the same start) are reminded together; a shift starting later keeps its own."""
    event = action(20 * H, duration=10 * H, address="Behind the old mill")
    sorting = factories.make_shift(event, "Sorting", capacity=5)
    loading = factories.make_shift(event, "Loading trucks", capacity=5)
    drivers = factories.make_shift(
        event, "Drivers", starts_at=event.starts_at + 6 * H, ends_at=event.starts_at + 8 * H
    )
    first = confirmed(event, email="both@example.org", shift=sorting)
    second = confirmed(event, email="both@example.org", shift=loading)
    later = confirmed(event, email="both@example.org", shift=drivers)
    confirmed(event, email="other@example.org", shift=loading)

    summary = send_due(NOW)
    assert (summary.sent, summary.failed) == (2, 0)
    received(mailbox, 2)
    assert recipients(mailbox) == ["both@example.org", "other@example.org"]
    (both,) = mailbox.to("both@example.org")
    assert both["Message-ID"] == f"<reminder-{first.id}-first@localhost>"
    text, html = text_part(both), html_part(both)
    assert "Your shifts:" in text and "- Sorting" in text and "- Loading trucks" in text
    assert "Drivers" not in text  # its own reminder comes 24 hours before its own start
    assert ">Sorting</strong>" in html and ">Loading trucks</strong>" in html
    assert len(set(CANT_COME_LINK.findall(text))) == 2  # one "I can't come" per shift
    assert [(r.kind, r.status) for r in rows(first)] == [("first", SENT)]
    assert [(r.kind, r.status) for r in rows(second)] == [("first", SENT)]
    assert send_due(NOW + H).sent == 0

    assert send_due(NOW + 6 * H).sent == 1
    received(mailbox, 3)
    (_both, drivers_reminder) = mailbox.to("both@example.org")
    assert "Your shift: Drivers" in text_part(drivers_reminder)
    assert [(r.kind, r.status) for r in rows(later)] == [("first", SENT)]
    assert len(mailbox.wait_for(4, timeout=0.3)) == 3


def test_one_volunteers_shifts_stay_together_across_batches(app, mailbox):
    event = action(20 * H)
    confirmed(event, email="alone@example.org")
    for name in ("Sorting", "Loading", "Driving"):
        confirmed(event, email="busy@example.org", shift=factories.make_shift(event, name))
    assert send_due(NOW, batch_size=2).sent == 2
    received(mailbox, 2)
    assert recipients(mailbox) == ["alone@example.org", "busy@example.org"]
    assert {r.status for r in rows()} == {SENT} and len(rows()) == 4


@pytest.mark.parametrize("who", ["action", "volunteers"])
def test_cancelled_during_a_run_nothing_more_is_sent(app, mailbox, monkeypatch, who):
    """The run's list and sign-ups are read before sending: what another process cancels
    meanwhile must not get a reminder (with the hidden place) all the same."""
    event = action(20 * H, address="Behind the old mill", location_visibility="confirmed")
    for n in range(3):
        confirmed(event, email=f"v{n}@example.org")
    event_id = event.id
    original = reminders._Mailer.send
    sent: list = []

    def send_then_cancel(mailer, message):
        original(mailer, message)
        sent.append(message)
        if len(sent) == 1:  # another process, on its own connection
            with db.engine.connect() as conn:
                if who == "action":
                    conn.execute(
                        update(Event).where(Event.id == event_id).values(status="cancelled")
                    )
                else:
                    conn.execute(
                        update(Signup).where(Signup.event_id == event_id).values(status="cancelled")
                    )
                conn.commit()

    monkeypatch.setattr(reminders._Mailer, "send", send_then_cancel)
    summary = send_due(NOW)
    assert (summary.sent, summary.failed, summary.deferred) == (1, 0, 0)
    assert len(sent) == 1
    assert len(mailbox.wait_for(2, timeout=0.5)) == 1
    assert sum("Behind the old mill" in all_text(m) for m in mailbox.messages) == 1
    assert [r.status for r in rows()] == [SENT]  # nothing claimed for the others either
    assert send_due(NOW + H).sent == 0


# --- the message --------------------------------------------------------------------------------


def test_the_reminder_carries_the_hidden_place_and_both_links(app, mailbox, client):
    event = action(
        20 * H, address="Behind the old mill", location_visibility="confirmed", city="Jenin"
    )
    signup = confirmed(event, name="Lina", email="lina@example.org")
    send_due(NOW)
    (message,) = received(mailbox, 1)
    text = text_part(message)
    assert message["Subject"] == "Reminder: Olive harvest, Wed 11 Nov, 06:00"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Hello Lina," in text
    assert "Behind the old mill" in text and "Behind the old mill" in html_part(message)
    assert "/signups/cant-come/" in text and "/signups/cant-come/" in html_part(message)
    manage = next(line for line in text.splitlines() if "/signups/" in line and "cant" not in line)
    assert client.get(manage.strip().removeprefix("http://localhost")).status_code == 200
    assert signup.email in message["To"]


def test_a_place_revealed_later_is_announced_not_shown(app, mailbox):
    event = action(
        20 * H,
        address="Behind the old mill",
        location_visibility="confirmed",
        reveal_hours_before=3,
        second_reminder=True,
    )
    confirmed(event)
    send_due(NOW)
    (first,) = received(mailbox, 1)
    assert "Behind the old mill" not in all_text(first)
    assert "The exact place will be shared with you from" in text_part(first)
    assert "03:00" in text_part(first)  # 3 hours before 06:00, Jerusalem time
    send_due(NOW + 18 * H)  # the second reminder, 2 hours before: revealed by now
    _first, second = received(mailbox, 2)
    assert "Behind the old mill" in text_part(second)


def test_in_the_volunteers_language(app, mailbox):
    event = action(20 * H, title="Olive harvest")
    db.session.add(EventTranslation(event=event, locale="ar", title="قطف الزيتون"))
    db.session.commit()
    confirmed(event, locale="ar")
    send_due(NOW)
    (message,) = received(mailbox, 1)
    html = html_part(message)
    assert 'lang="ar" dir="rtl"' in html
    assert "قطف الزيتون" in message["Subject"] and "قطف الزيتون" in html


# --- exactly once -------------------------------------------------------------------------------


def test_a_claim_is_taken_once(app):
    signup = confirmed(action(20 * H))
    held = claim(signup.id, "first", NOW)
    assert held is not None and held.attempts == 1
    assert claim(signup.id, "first", NOW) is None
    assert claim(signup.id, "first", NOW + STALE_CLAIM - timedelta(seconds=1)) is None
    assert claim(signup.id, "second", NOW) is not None  # another kind, another row


def test_no_claim_for_what_may_no_longer_be_reminded(app):
    """The claiming statement itself checks the sign-up and its action, at that moment."""
    event = action(20 * H)
    gone, stays, abandoned = (confirmed(event) for _ in range(3))
    assert claim(abandoned.id, "first", NOW) is not None  # then its sender died
    cancel(gone.id, NOW)
    assert claim(gone.id, "first", NOW) is None
    assert claim(stays.id, "first", NOW + 19 * H + timedelta(minutes=1)) is None  # under an hour
    db.session.execute(update(Event).where(Event.id == event.id).values(status="cancelled"))
    db.session.commit()
    assert claim(stays.id, "first", NOW) is None
    assert claim(abandoned.id, "first", NOW + STALE_CLAIM) is None  # no takeover either
    assert [(r.signup_id, r.status, r.attempts) for r in rows()] == [(abandoned.id, CLAIMED, 1)]


def test_an_abandoned_claim_is_taken_over_after_the_limit(app, mailbox):
    signup = confirmed(action(20 * H))
    claim(signup.id, "first", NOW)  # a sender that died before talking to the server
    assert send_due(NOW + timedelta(minutes=5)).sent == 0
    assert send_due(NOW + STALE_CLAIM).sent == 1
    [row] = rows(signup)
    assert (row.status, row.attempts) == (SENT, 2)
    assert row.sent_at is not None and row.sent_at >= NOW + STALE_CLAIM
    received(mailbox, 1)


def test_killed_after_the_server_accepted_sends_an_identical_copy(app, mailbox, monkeypatch):
    """The one window left: the server said 250 and the sender died before recording it.
    The retry is the same message (same Message-ID), recognisable as a duplicate."""
    signup = confirmed(action(20 * H))
    original = reminders._record

    def die(held, status, now, error=""):
        raise KeyboardInterrupt  # SIGKILL, as far as the database knows

    monkeypatch.setattr(reminders, "_record", die)
    with pytest.raises(KeyboardInterrupt):
        send_due(NOW)
    monkeypatch.setattr(reminders, "_record", original)
    db.session.rollback()
    assert rows(signup)[0].status == CLAIMED
    assert send_due(NOW + STALE_CLAIM + timedelta(minutes=1)).sent == 1
    first, second = received(mailbox, 2)
    assert first["Message-ID"] == second["Message-ID"] == f"<reminder-{signup.id}-first@localhost>"


def test_two_runs_at_once_send_each_reminder_once(app, mailbox, monkeypatch):
    """Both runs see the same due list; each reminder goes to whichever claims it first."""
    event = action(20 * H)
    signups = [confirmed(event) for _ in range(6)]
    due = due_reminders(NOW)
    assert len(due) == 6
    monkeypatch.setattr(reminders, "due_reminders", lambda now: due)
    other = claim(signups[2].id, "first", NOW)  # a concurrent run got this one first
    assert other is not None
    summary = send_due(NOW)
    assert summary.sent == 5
    received(mailbox, 5)
    assert signups[2].email not in recipients(mailbox)


def test_queries_grow_by_a_fixed_number_per_reminder(app, mailbox):
    def run(n: int, now: datetime) -> int:
        event = action(now - NOW + 20 * H)
        for _ in range(n):
            confirmed(event)
        with count_queries() as statements:
            assert send_due(now).sent == n
        return len(statements)

    small, large = run(2, NOW), run(12, NOW + 30 * H)
    per_reminder = (large - small) / 10
    assert per_reminder <= 4, (small, large)  # claim + commit, mark + commit


# --- the mail server ----------------------------------------------------------------------------


class FaultySink:
    """Refuses chosen recipients with a chosen reply."""

    def __init__(self) -> None:
        self.rcpt_codes: dict[str, str] = {}
        self.received: list[str] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_codes.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.extend(envelope.rcpt_tos)
        await asyncio.sleep(0)
        return "250 Message accepted for delivery"


@pytest.fixture()
def faulty(app):
    handler = FaultySink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["MAIL_PORT"] = controller.port
    try:
        yield handler
    finally:
        controller.stop()


def test_mail_server_down_fails_and_is_retried_later(app, mailbox, runner):
    event = action(20 * H)
    signups = [confirmed(event, email=f"v{n}@example.org") for n in range(3)]
    good_port = app.config["MAIL_PORT"]
    with socket.socket() as refusing:  # bound, never listening: connections are refused
        refusing.bind(("127.0.0.1", 0))
        app.config["MAIL_PORT"] = refusing.getsockname()[1]
        result = runner.invoke(args=["reminders", "send", "--now", NOW.isoformat()])
    assert result.exit_code == 1, result.output
    assert "sent 0, failed 1, bounced 0, deferred 2" in result.output
    [failed] = rows()
    assert failed.signup_id == signups[0].id
    assert (failed.status, failed.attempts) == (FAILED, 1)
    assert "refused" in failed.last_error.lower()

    app.config["MAIL_PORT"] = good_port
    summary = send_due(NOW + timedelta(minutes=1))  # the others; the failed one backs off
    assert (summary.sent, summary.failed) == (2, 0)
    assert send_due(NOW + timedelta(minutes=4)).sent == 0
    assert send_due(NOW + timedelta(minutes=6)).sent == 1  # backoff(1) is 5 minutes
    received(mailbox, 3)
    assert recipients(mailbox) == [s.email for s in signups]
    assert [(r.status, r.attempts) for r in rows(signups[0])] == [(SENT, 2)]


def test_a_greylisted_address_is_retried_and_a_bounce_is_not(app, faulty):
    event = action(20 * H)
    grey = confirmed(event, email="grey@example.org")
    gone = confirmed(event, email="gone@example.org")
    confirmed(event, email="fine@example.org")
    faulty.rcpt_codes["grey@example.org"] = "451 4.7.1 Greylisted, try again later"
    faulty.rcpt_codes["gone@example.org"] = "550 5.1.1 No such user"
    summary = send_due(NOW)
    assert (summary.sent, summary.failed, summary.bounced) == (1, 1, 1)
    assert not summary.ok
    assert [(r.status, r.last_error[:3]) for r in rows(grey)] == [(FAILED, "451")]
    assert [(r.status, r.last_error[:3]) for r in rows(gone)] == [(BOUNCED, "550")]

    faulty.rcpt_codes.clear()
    summary = send_due(NOW + 2 * H)
    assert (summary.sent, summary.bounced) == (1, 0)
    assert sorted(faulty.received) == ["fine@example.org", "grey@example.org"]
    assert send_due(NOW + 3 * H).sent == 0


def test_a_failed_reminder_is_given_up_once_no_longer_due(app, faulty):
    grey = confirmed(action(2 * H), email="grey@example.org")
    faulty.rcpt_codes["grey@example.org"] = "451 4.7.1 Try again later"
    assert send_due(NOW).failed == 1
    faulty.rcpt_codes.clear()
    assert send_due(NOW + timedelta(minutes=61)).sent == 0  # less than an hour to go
    assert [r.status for r in rows(grey)] == [FAILED]


def test_without_a_mail_server_reminders_go_to_the_log(app, caplog):
    app.config["MAIL_SERVER"] = ""
    app.extensions["mailman"].backend = "organizer.mail_log.EmailBackend"
    confirmed(action(20 * H), email="logged@example.org")
    with caplog.at_level("INFO", logger="organizer.mail"):
        assert send_due(NOW).sent == 1
    assert "logged@example.org" in caplog.text
