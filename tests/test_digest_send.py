"""Sending the weekly digest: who is due, exactly once a week, empty weeks, SMTP faults."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from organizer.extensions import db
from organizer.models.digest import (
    DELIVERY_BOUNCED,
    DELIVERY_EMPTY,
    DELIVERY_FAILED,
    DELIVERY_SENDING,
    DELIVERY_SENT,
    SUB_SUSPENDED,
    DigestDelivery,
    DigestRun,
)
from organizer.services import digest_sender
from organizer.services.digest_sender import (
    STALE_CLAIM,
    _claim,
    backoff,
    due_subscription_ids,
    send_batch,
    send_due,
)

from .conftest import free_port
from .factories import make_event, make_org, make_signup, make_subscription
from .helpers import count_queries

# Tuesday 10 November 2026, 10:00 in Jerusalem (UTC+2): Tuesday-09:00 subscribers there are due.
NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
WEEK = "2026-W46"


def send(now=NOW):
    return send_due(now, use_queue=False)


def deliveries(sub) -> list[DigestDelivery]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(DigestDelivery).where(DigestDelivery.subscription_id == sub.id))
    )


@pytest.fixture()
def action(app):
    return make_event(make_org(name="Standing Together"), starts_at=NOW + timedelta(days=2))


def test_due_subscribers_get_one_digest_a_week(app, mailbox, action):
    due = make_subscription("due@example.org")
    later = make_subscription("london@example.org", timezone="Europe/London")  # 09:00 UTC
    make_subscription("pending@example.org", status="pending")
    make_subscription("gone@example.org", status="unsubscribed")

    summary = send()
    assert (summary.sent, summary.empty, summary.failed, summary.retry_later) == (1, 0, 0, 0)
    assert summary.ok
    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == ["due@example.org"]
    [delivery] = deliveries(due)
    assert delivery.status == DELIVERY_SENT and delivery.week == WEEK
    assert delivery.message_id == f"<digest-{due.id}-{WEEK}@localhost>"
    assert delivery.event_count == 1 and delivery.attempts == 1 and delivery.sent_at

    # Later the same week: nobody gets a second one; London's hour has come by now.
    summary = send(NOW + timedelta(hours=3))
    assert summary.sent == 1
    assert [m["To"] for m in mailbox.wait_for(2)] == ["due@example.org", "london@example.org"]
    assert send(NOW + timedelta(days=2)).sent == 0
    assert len(deliveries(due)) == 1 and len(deliveries(later)) == 1
    runs = db.session.scalars(select(DigestRun).order_by(DigestRun.id)).all()
    assert [r.sent for r in runs] == [1, 1, 0] and all(r.finished_at for r in runs)

    # Next week, the next one.
    make_event(action.organization, starts_at=NOW + timedelta(days=9))
    assert send(NOW + timedelta(days=7, hours=3)).sent == 2
    assert {d.week for d in deliveries(due)} == {WEEK, "2026-W47"}


def test_zones_and_daylight_saving_decide_who_is_due(app):
    subs = {
        zone: make_subscription(timezone=zone).id
        for zone in ("Asia/Jerusalem", "Europe/London", "America/New_York")
    }

    def due(now):
        ids = {i for batch in due_subscription_ids(now) for i in batch}
        return {zone for zone, sub_id in subs.items() if sub_id in ids}

    # Tuesday 27 October 2026: Europe and Israel are back on winter time, New York is not yet.
    day = datetime(2026, 10, 27, tzinfo=UTC)
    assert due(day + timedelta(hours=6, minutes=59)) == set()
    assert due(day + timedelta(hours=7)) == {"Asia/Jerusalem"}
    assert due(day + timedelta(hours=9)) == {"Asia/Jerusalem", "Europe/London"}
    assert due(day + timedelta(hours=12, minutes=59)) == {"Asia/Jerusalem", "Europe/London"}
    assert due(day + timedelta(hours=13)) == set(subs)  # 09:00 EDT
    # Tuesday 31 March 2026: all three on summer time.
    day = datetime(2026, 3, 31, tzinfo=UTC)
    assert due(day + timedelta(hours=6)) == {"Asia/Jerusalem"}
    assert due(day + timedelta(hours=8)) == {"Asia/Jerusalem", "Europe/London"}
    assert due(day + timedelta(hours=13)) == set(subs)
    # Tuesday 3 November 2026: New York back on EST, 09:00 is 14:00 UTC.
    day = datetime(2026, 11, 3, tzinfo=UTC)
    assert "America/New_York" not in due(day + timedelta(hours=13, minutes=59))
    assert "America/New_York" in due(day + timedelta(hours=14))


def test_due_ids_come_in_keyset_batches(app):
    ids = [make_subscription().id for _ in range(7)]
    batches = list(due_subscription_ids(NOW, batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [i for b in batches for i in b] == ids


def test_a_week_with_nothing_sends_nothing_and_records_it(app, mailbox):
    sub = make_subscription()
    make_event(starts_at=NOW + timedelta(days=20))  # beyond the 14-day window
    summary = send()
    assert (summary.sent, summary.empty) == (0, 1) and summary.ok
    [delivery] = deliveries(sub)
    assert delivery.status == DELIVERY_EMPTY and delivery.week == WEEK
    assert send(NOW + timedelta(hours=5)).empty == 0  # the week is done
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_actions_already_signed_up_for_are_left_out(app, mailbox, action):
    sub = make_subscription("volunteer@example.org")
    make_signup(action, email="volunteer@example.org")
    assert send().empty == 1
    assert deliveries(sub)[0].status == DELIVERY_EMPTY


def test_a_claim_is_taken_once(app, action):
    sub = make_subscription()
    assert set(_claim({sub.id: WEEK}, NOW)) == {sub.id}
    assert _claim({sub.id: WEEK}, NOW) == {}  # a second sender gets nothing
    # A live sender claims nothing after RUN_CLAIM_LIMIT, so within STALE_CLAIM it is alive.
    assert _claim({sub.id: WEEK}, NOW + STALE_CLAIM - timedelta(minutes=1)) == {}
    # A claim STALE_CLAIM old belongs to a sender that died: it is taken over, once.
    taken = _claim({sub.id: WEEK}, NOW + STALE_CLAIM)
    assert taken[sub.id].attempts == 2
    assert _claim({sub.id: WEEK}, NOW + STALE_CLAIM) == {}
    assert deliveries(sub)[0].status == DELIVERY_SENDING


def test_a_batch_skips_subscribers_another_sender_holds(app, mailbox, action):
    held, free = make_subscription(), make_subscription()
    _claim({held.id: WEEK}, NOW)
    result = send_batch([held.id, free.id], NOW)
    assert result.sent == 1
    assert [m["To"] for m in mailbox.wait_for(1)] == [free.email]


def test_queries_per_batch_do_not_grow_with_subscribers(app, mailbox, action):
    # Reads per batch are fixed; writes come one per commit group (DIGEST_COMMIT_EVERY, the
    # crash window), so group them all here to see that nothing else grows.
    app.config["DIGEST_COMMIT_EVERY"] = 100
    org = action.organization
    for _ in range(3):
        make_subscription(organizations=(org,), causes=("peace",))
    with count_queries() as few:
        assert send().sent == 3
    for _ in range(12):
        make_subscription(organizations=(org,), regions=("jerusalem",))
    with count_queries() as many:
        assert send(NOW + timedelta(minutes=1)).sent == 12
    assert len(many) == len(few)


def test_backoff_doubles_up_to_six_hours():
    assert [backoff(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [
        timedelta(minutes=m) for m in (15, 30, 60, 120, 240, 360, 360)
    ]


# --- SMTP faults ----------------------------------------------------------------------------


class FaultySink:
    """An SMTP server that answers chosen codes for chosen recipients (or for everyone)."""

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


def test_a_temporary_refusal_is_retried_after_backoff(app, faulty, action):
    a, b, c = (make_subscription(f"{x}@example.org") for x in "abc")
    faulty.rcpt_codes["b@example.org"] = "451 4.7.1 Greylisted, try again later"
    summary = send()
    assert (summary.sent, summary.failed, summary.retry_later) == (2, 1, 1)
    assert not summary.ok
    assert sorted(faulty.received) == ["a@example.org", "c@example.org"]
    [delivery] = deliveries(b)
    assert delivery.status == DELIVERY_FAILED and delivery.last_error.startswith("451")
    assert delivery.next_attempt_at == NOW + timedelta(minutes=15)

    faulty.rcpt_codes.clear()
    assert send(NOW + timedelta(minutes=10)).sent == 0  # still backing off
    summary = send(NOW + timedelta(minutes=15))
    assert (summary.sent, summary.failed) == (1, 0)
    assert sorted(faulty.received) == ["a@example.org", "b@example.org", "c@example.org"]
    [delivery] = deliveries(b)
    assert delivery.status == DELIVERY_SENT and delivery.attempts == 2
    assert send(NOW + timedelta(hours=1)).sent == 0


def test_a_server_closing_the_connection_defers_the_rest(app, faulty, action):
    subs = [make_subscription(f"s{n}@example.org") for n in range(4)]
    faulty.rcpt_codes["s1@example.org"] = "421 4.3.2 Service shutting down"
    summary = send()
    assert (summary.sent, summary.failed, summary.retry_later) == (1, 3, 3)
    assert faulty.received == ["s0@example.org"]
    assert [deliveries(s)[0].status for s in subs] == [DELIVERY_SENT] + [DELIVERY_FAILED] * 3
    faulty.rcpt_codes.clear()
    assert send(NOW + timedelta(minutes=15)).sent == 3
    assert sorted(faulty.received) == [s.email for s in subs]


def test_hard_bounces_suspend_after_three_weeks(app, faulty, action):
    sub = make_subscription("nobody@example.org")
    ok = make_subscription("ok@example.org")
    faulty.rcpt_codes["nobody@example.org"] = "550 5.1.1 No such user"
    for week in range(3):
        now = NOW + timedelta(days=7 * week)
        make_event(action.organization, starts_at=now + timedelta(days=1))
        summary = send(now)
        assert (summary.sent, summary.bounced, summary.failed) == (1, 1, 0)
        assert summary.ok  # a bounce is about one address, not a failed run
        assert send(now + timedelta(hours=1)).bounced == 0  # not retried within the week
    db.session.expire_all()
    assert sub.bounce_count == 3 and sub.status == SUB_SUSPENDED
    statuses = {d.week: d.status for d in deliveries(sub)}
    assert statuses == {
        "2026-W46": DELIVERY_BOUNCED,
        "2026-W47": DELIVERY_BOUNCED,
        "2026-W48": DELIVERY_BOUNCED,
    }
    make_event(action.organization, starts_at=NOW + timedelta(days=22))
    summary = send(NOW + timedelta(days=21))
    assert (summary.sent, summary.bounced) == (1, 0)
    assert faulty.received.count("ok@example.org") == 4
    assert "nobody@example.org" not in faulty.received
    assert ok.bounce_count == 0


def test_a_refused_connection_fails_the_run_and_is_retried(app, mailbox, runner, action):
    subs = [make_subscription() for _ in range(3)]
    good_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    result = runner.invoke(args=["digest", "send", "--inline", "--now", "2026-11-10T08:00:00Z"])
    assert result.exit_code == 1, result.output
    assert "sent 0, empty 0, failed 3, bounced 0, retry later 3" in result.output
    for sub in subs:
        [delivery] = deliveries(sub)
        assert delivery.status == DELIVERY_FAILED
        assert delivery.next_attempt_at == NOW + timedelta(minutes=15)
        assert "refused" in delivery.last_error.lower()

    app.config["MAIL_PORT"] = good_port
    result = runner.invoke(args=["digest", "send", "--inline", "--now", "2026-11-10T08:15:00Z"])
    assert result.exit_code == 0, result.output
    assert "sent 3, empty 0, failed 0" in result.output
    assert sorted(m["To"] for m in mailbox.wait_for(3)) == sorted(s.email for s in subs)


def test_gives_up_after_max_attempts(app, faulty, action, monkeypatch):
    monkeypatch.setattr(digest_sender, "MAX_ATTEMPTS", 2)
    sub = make_subscription("flaky@example.org")
    faulty.rcpt_codes["flaky@example.org"] = "450 4.2.0 Mailbox busy"
    assert send().retry_later == 1
    summary = send(NOW + timedelta(minutes=15))
    assert (summary.failed, summary.retry_later) == (1, 0)
    [delivery] = deliveries(sub)
    assert delivery.status == DELIVERY_FAILED and delivery.next_attempt_at is None
    faulty.rcpt_codes.clear()
    assert send(NOW + timedelta(hours=10)).sent == 0  # this week is given up


def test_cli_summary_and_bad_now(app, mailbox, runner, action):
    make_subscription()
    result = runner.invoke(
        args=["digest", "send", "--inline", "--now", "2026-11-10T10:00:00+02:00"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 1, empty 0, failed 0, bounced 0, retry later 0"
    result = runner.invoke(args=["digest", "send", "--now", "next tuesday"])
    assert result.exit_code == 2
    assert "ISO-8601" in result.output


def test_without_a_mail_server_digests_go_to_the_log(app, caplog, action):
    app.config["MAIL_SERVER"] = ""
    make_subscription("logged@example.org")
    with caplog.at_level("INFO", logger="organizer.mail"):
        assert send().sent == 1
    assert "logged@example.org" in caplog.text
