"""Webhook events from the real flows, delivered to a real receiver on 127.0.0.1 that checks
each signature: inline after the response, by `flask webhooks deliver` with retries, disabling
after failures (with the owners emailed), and exactly once under two concurrent deliverers."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Membership, WebhookDelivery, WebhookEndpoint
from organizer.models import webhook as wh
from organizer.services import notifications, signups
from organizer.services import webhooks as service

from . import factories
from .helpers import html_part, scratch_database, text_part
from .test_events_actions import event_form
from .webhook_receiver import serve, verify

SECRET_PLACE = "Secret Garden 7"


@pytest.fixture()
def receiver():
    """A real HTTP receiver on 127.0.0.1 that checks signatures and records the calls."""
    with serve() as running:
        yield running


@pytest.fixture()
def host(app):
    owner = factories.make_user(name="Host Owner", email="owner@example.org")
    org = factories.make_org(slug="host", name="Host Org", owner=owner)
    return {"owner": owner, "org": org}


def endpoint_for(org, receiver, path="/hook", answers=None, events=wh.EVENT_TYPES, owner=None):
    endpoint = service.create_endpoint(org, owner, receiver.url(path), events, factories.now())
    receiver.expect(endpoint, path, answers)
    return endpoint


def add_member(org, user, role: str) -> None:
    db.session.add(Membership(organization_id=org.id, user_id=user.id, role=role))
    db.session.commit()


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def deliver(runner, now: datetime) -> str:
    result = runner.invoke(args=["webhooks", "deliver", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


# --- each event, from the flows people use ------------------------------------------------------


def test_signup_through_the_form_is_delivered_signed_without_the_hidden_place(
    client, post_form, host, receiver
):
    endpoint_for(host["org"], receiver)
    event = factories.make_event(
        host["org"], title="Vigil", address=SECRET_PLACE, location_visibility="confirmed"
    )
    response = post_form(
        f"/events/{event.id}/signup",
        {"name": "Dana Levi", "email": "Dana@Example.org", "phone": "050-1234567"},
    )
    assert response.status_code == 200
    assert receiver.calls == []  # nothing before the response is out...
    response.close()  # ...which the server does once the volunteer has the page
    (call,) = receiver.wait_for(1)
    assert call.valid and call.answered == 200
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.headers["Organizer-Webhook-Event"] == "signup.created"
    body = call.json
    assert body["type"] == "signup.created" and body["id"] == call.delivery_id
    assert body["created_at"].endswith("Z")
    assert body["data"]["action"]["id"] == event.id
    assert body["data"]["action"]["title"] == "Vigil"
    assert body["data"]["action"]["url"] == f"http://localhost/events/{event.id}"
    signup = body["data"]["signup"]
    assert signup["name"] == "Dana Levi" and signup["email"] == "dana@example.org"
    assert signup["phone"] == "050-1234567" and signup["status"] == "confirmed"
    assert signup["shift"] is None
    assert SECRET_PLACE not in call.body.decode()
    (row,) = deliveries()
    assert row.status == wh.SENT and row.attempts == 1 and row.last_status_code == 200


def test_cancel_from_the_email_link_sends_cancelled_and_promoted(client, post_form, host, receiver):
    endpoint_for(host["org"], receiver)
    event = factories.make_event(host["org"], capacity=1)
    leaving = factories.make_signup(event, "confirmed", email="leaving@example.org")
    waiting = factories.make_signup(event, "waitlisted", email="waiting@example.org")
    page = f"/signups/{notifications.manage_token(leaving)}"
    response = post_form(f"{page}/cancel", {}, page=page)
    assert response.status_code == 302
    response.close()
    calls = receiver.wait_for(2)
    assert [(c.type, c.json["data"]["signup"]["email"]) for c in calls] == [
        ("signup.cancelled", leaving.email),
        ("signup.promoted", waiting.email),
    ]
    assert calls[0].json["data"]["signup"]["status"] == "cancelled"
    assert calls[1].json["data"]["signup"]["status"] == "confirmed"
    assert all(c.valid for c in calls)


def test_raising_the_capacity_promotes_and_updates(client, auth, post_form, host, receiver):
    endpoint_for(host["org"], receiver)
    event = factories.make_event(host["org"], capacity=1, title="Friday vigil")
    factories.make_signup(event, "confirmed")
    waiting = factories.make_signup(event, "waitlisted", email="waiting@example.org")
    day = event.local_start.date().isoformat()
    auth.login(host["owner"])
    response = post_form(
        f"/events/{event.id}/edit",
        event_form(
            capacity="2",
            start_date=day,
            start_time=event.local_start.strftime("%H:%M"),
            end_date=event.local_end.date().isoformat(),
            end_time=event.local_end.strftime("%H:%M"),
        ),
    )
    assert response.status_code == 302
    response.close()
    calls = receiver.wait_for(2)
    assert sorted(c.type for c in calls) == ["action.updated", "signup.promoted"]
    promoted = next(c for c in calls if c.type == "signup.promoted")
    assert promoted.json["data"]["signup"]["email"] == waiting.email
    updated = next(c for c in calls if c.type == "action.updated")
    assert "capacity" in updated.json["data"]["changed"]
    assert updated.json["data"]["action"]["capacity"] == 2


def test_editing_and_cancelling_an_action(client, auth, post_form, host, receiver):
    endpoint_for(host["org"], receiver)
    event = factories.make_event(host["org"], address=SECRET_PLACE)
    auth.login(host["owner"])
    response = post_form(f"/events/{event.id}/edit", event_form(title="Renamed vigil"))
    assert response.status_code == 302
    response.close()
    (updated,) = receiver.wait_for(1)
    assert updated.type == "action.updated" and updated.valid
    assert updated.json["data"]["action"]["title"] == "Renamed vigil"
    assert "title" in updated.json["data"]["changed"]
    response = post_form(f"/events/{event.id}/cancel", {"message": "Closed."})
    assert response.status_code == 302
    response.close()
    updated, cancelled = receiver.wait_for(2)
    assert cancelled.type == "action.cancelled" and cancelled.valid
    assert cancelled.json["data"]["action"]["status"] == "cancelled"
    assert all(SECRET_PLACE not in c.body.decode() for c in receiver.calls)


def test_only_subscribed_events_of_active_endpoints_of_the_hosts(client, post_form, host, receiver):
    cohost = factories.make_org(slug="cohost")
    pending = factories.make_org(slug="pending")
    stranger = factories.make_org(slug="stranger")
    endpoint_for(host["org"], receiver, "/host", events=[wh.ACTION_CANCELLED])
    endpoint_for(cohost, receiver, "/cohost")
    endpoint_for(pending, receiver, "/pending")
    endpoint_for(stranger, receiver, "/stranger")
    paused = endpoint_for(host["org"], receiver, "/paused")
    service.pause(paused)
    event = factories.make_event(host["org"], cohosts=(cohost,), pending_cohosts=(pending,))
    response = post_form(f"/events/{event.id}/signup", {"name": "Dana", "email": "d@example.org"})
    response.close()
    receiver.wait_for(2, timeout=1)
    assert [(c.path, c.type) for c in receiver.calls] == [("/cohost", "signup.created")]
    assert [d.endpoint.url for d in deliveries()] == [receiver.url("/cohost")]


def test_a_refused_change_queues_nothing(host, receiver):
    endpoint_for(host["org"], receiver)
    event = factories.make_event(host["org"], capacity=1, waitlist_enabled=False)
    factories.make_signup(event, "confirmed")
    with pytest.raises(signups.SignupClosed):
        signups.sign_up(event.id, name="Late", email="late@example.org", now=factories.now())
    assert deliveries() == []


def test_shift_signups_and_a_deleted_shift(host, receiver, runner):
    from organizer.services import shifts

    endpoint_for(host["org"], receiver)
    event = factories.make_event(host["org"])
    early = factories.make_shift(event, "Early")
    late = factories.make_shift(event, "Late")
    now = factories.now()
    signups.sign_up_for_shifts(
        event.id, [early.id, late.id], name="Rana", email="rana@example.org", now=now
    )
    shifts.delete_shift(event, late.id, now, cancel_signups=True)
    deliver(runner, now)
    calls = receiver.wait_for(3)
    assert [(c.type, c.json["data"]["signup"]["shift"]["name"]) for c in calls] == [
        ("signup.created", "Early"),
        ("signup.created", "Late"),
        ("signup.cancelled", "Late"),
    ]
    assert calls[2].json["data"]["signup"]["status"] == "cancelled"


# --- signatures ---------------------------------------------------------------------------------


def test_signature_is_hmac_of_timestamp_and_body(host, receiver, runner):
    endpoint = endpoint_for(host["org"], receiver)
    now = factories.now()
    service.send_ping(endpoint, now)
    deliver(runner, now)
    (call,) = receiver.wait_for(1)
    assert call.valid and call.type == "ping"
    timestamp = call.headers["Organizer-Webhook-Timestamp"]
    assert call.headers["Organizer-Webhook-Signature"] == service.sign(
        endpoint.secret, int(timestamp), call.body
    )
    assert not verify("whsec_wrong", call.headers, call.body)
    assert not verify(endpoint.secret, call.headers, call.body + b" ")


def test_after_rotating_calls_are_signed_with_the_new_secret(host, receiver, runner):
    endpoint = endpoint_for(host["org"], receiver)
    old = endpoint.secret
    service.rotate_secret(endpoint, factories.now())
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    service.send_ping(endpoint, factories.now())
    deliver(runner, factories.now())
    (call,) = receiver.wait_for(1)
    assert not call.valid  # the receiver still holds the old secret: it refuses (401)
    assert verify(endpoint.secret, call.headers, call.body)
    (row,) = deliveries()
    assert row.status == wh.FAILED and row.last_status_code == 401


# --- retries, giving up, disabling --------------------------------------------------------------


def test_failing_twice_then_succeeding_with_backoff(host, receiver, runner):
    endpoint = endpoint_for(host["org"], receiver, answers=[500, 500])
    event = factories.make_event(host["org"])
    t0 = factories.now()
    signups.sign_up(event.id, name="Dana", email="dana@example.org", now=t0)
    assert receiver.calls == []  # no request: left to cron
    deliver(runner, t0)
    (row,) = deliveries()
    assert row.status == wh.FAILED and row.attempts == 1 and row.last_status_code == 500
    assert row.last_error.startswith("HTTP 500") and len(row.last_error) <= 300
    assert timedelta(seconds=45) <= row.next_attempt_at - t0 <= timedelta(seconds=75)
    assert "sent 0, failed 0" in deliver(runner, t0 + timedelta(seconds=30))  # not due yet
    assert len(receiver.calls) == 1
    deliver(runner, t0 + timedelta(minutes=2))
    (row,) = deliveries()
    assert row.status == wh.FAILED and row.attempts == 2
    assert db.session.get(WebhookEndpoint, endpoint.id).consecutive_failures == 2
    wait = row.next_attempt_at - (t0 + timedelta(minutes=2))
    assert timedelta(seconds=90) <= wait <= timedelta(seconds=150)  # 2 minutes, with jitter
    deliver(runner, t0 + timedelta(minutes=5))
    (row,) = deliveries()
    assert row.status == wh.SENT and row.attempts == 3 and row.last_status_code == 200
    assert row.delivered_at == t0 + timedelta(minutes=5)
    calls = receiver.to("/hook")
    assert [c.answered for c in calls] == [500, 500, 200]
    assert len({c.delivery_id for c in calls}) == 1  # one id: the receiver's idempotency key
    assert len({c.headers["Organizer-Webhook-Signature"] for c in calls}) >= 1
    fresh = db.session.get(WebhookEndpoint, endpoint.id)
    assert fresh.consecutive_failures == 0 and fresh.failure_count == 2 and fresh.active


def test_backoff_doubles_up_to_six_hours():
    for attempts, minutes in ((1, 1), (2, 2), (3, 4), (5, 16), (20, 360)):
        wait = service.backoff(attempts)
        assert minutes * 60 * 0.8 <= wait.total_seconds() <= minutes * 60 * 1.2


def test_too_many_failures_disable_the_endpoint_and_email_the_owners(
    app, host, receiver, runner, mailbox
):
    app.config["WEBHOOKS_MAX_CONSECUTIVE_FAILURES"] = 3
    hebrew_owner = factories.make_user(email="hebrew@example.org", locale="he")
    add_member(host["org"], hebrew_owner, "owner")
    organizer = factories.make_user(email="organizer@example.org")
    add_member(host["org"], organizer, "organizer")
    endpoint = endpoint_for(host["org"], receiver, answers=[500] * 20)
    event = factories.make_event(host["org"])
    t0 = factories.now()
    for n in range(2):
        signups.sign_up(event.id, name=f"V{n}", email=f"v{n}@example.org", now=t0)
    deliver(runner, t0)
    assert db.session.get(WebhookEndpoint, endpoint.id).consecutive_failures == 2
    output = deliver(runner, t0 + timedelta(minutes=3))
    assert "endpoints disabled 1" in output
    assert len(receiver.calls) == 3  # the third failure turned it off; the fourth never went
    fresh = db.session.get(WebhookEndpoint, endpoint.id)
    assert not fresh.active and fresh.disabled_at == t0 + timedelta(minutes=3)
    assert all(d.status == wh.GIVEN_UP for d in deliveries())
    messages = mailbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["hebrew@example.org", "owner@example.org"]
    (english,) = mailbox.to("owner@example.org")
    assert english["Subject"] == "A webhook of Host Org was turned off"
    assert english["Message-ID"] and english["Date"]
    assert receiver.url() in text_part(english)
    assert f"/orgs/host/webhooks/{endpoint.id}" in text_part(english)
    assert receiver.url() in html_part(english)
    (hebrew,) = mailbox.to("hebrew@example.org")
    assert 'lang="he"' in html_part(hebrew) and 'dir="rtl"' in html_part(hebrew)
    # Nothing more is queued or sent while it is off; no second email either.
    signups.sign_up(event.id, name="V9", email="v9@example.org", now=t0)
    deliver(runner, t0 + timedelta(hours=1))
    assert len(receiver.calls) == 3 and len(deliveries()) == 2
    assert len(mailbox.wait_for(3, timeout=0.5)) == 2
    # Resumed, it gets new events again, and its count starts over.
    service.resume(fresh, t0)
    assert fresh.consecutive_failures == 0 and fresh.disabled_at is None
    receiver.plans["/hook"] = []
    signups.sign_up(event.id, name="V10", email="v10@example.org", now=t0)
    deliver(runner, t0 + timedelta(hours=1))
    assert receiver.calls[-1].answered == 200


def test_a_delivery_is_given_up_after_max_attempts(app, host, receiver, runner):
    app.config["WEBHOOKS_MAX_ATTEMPTS"] = 2
    endpoint = endpoint_for(host["org"], receiver, answers=[500] * 5)
    t0 = factories.now()
    service.send_ping(endpoint, t0)
    deliver(runner, t0)
    deliver(runner, t0 + timedelta(minutes=5))
    (row,) = deliveries()
    assert row.status == wh.GIVEN_UP and row.attempts == 2 and row.next_attempt_at is None
    deliver(runner, t0 + timedelta(days=1))
    assert len(receiver.calls) == 2


def test_unreachable_receiver_and_redirects_are_failures(host, receiver, runner):
    from .conftest import free_port

    gone = service.create_endpoint(
        host["org"], None, f"http://127.0.0.1:{free_port()}/x", wh.EVENT_TYPES, factories.now()
    )
    moved = endpoint_for(host["org"], receiver, "/moved", answers=[302])
    service.send_ping(gone, factories.now())
    service.send_ping(moved, factories.now())
    deliver(runner, factories.now())
    by_endpoint = {d.endpoint_id: d for d in deliveries()}
    assert by_endpoint[gone.id].status == wh.FAILED
    assert by_endpoint[gone.id].last_status_code is None
    assert "connection failed" in by_endpoint[gone.id].last_error
    assert by_endpoint[moved.id].last_status_code == 302
    assert "redirects are not followed" in by_endpoint[moved.id].last_error


def test_inline_delivery_keeps_to_its_budget(app, client, post_form, host, receiver):
    """A slow receiver: the request's inline delivery stops within the budget; cron finishes."""
    app.config["WEBHOOKS_INLINE_BUDGET"] = 1.5
    receiver.delay = 1.0
    for n in range(3):
        endpoint_for(host["org"], receiver, f"/slow{n}")
    event = factories.make_event(host["org"])
    response = post_form(f"/events/{event.id}/signup", {"name": "D", "email": "d@example.org"})
    started = datetime.now(UTC)
    response.close()
    assert datetime.now(UTC) - started < timedelta(seconds=2.5)
    statuses = sorted(d.status for d in deliveries())
    assert statuses.count(wh.SENT) == 1  # the second would not have fit in what was left
    assert statuses.count(wh.PENDING) == 2


def test_old_finished_deliveries_are_pruned(host, receiver, runner):
    endpoint = endpoint_for(host["org"], receiver)
    t0 = factories.now()
    service.send_ping(endpoint, t0)
    deliver(runner, t0)
    assert "pruned 0" in deliver(runner, t0 + timedelta(days=29))
    assert "pruned 1" in deliver(runner, t0 + timedelta(days=31))
    assert deliveries() == []


# --- crash safety -------------------------------------------------------------------------------


def test_a_claim_left_by_a_crashed_deliverer_is_taken_over_later(host, receiver, runner):
    endpoint = endpoint_for(host["org"], receiver)
    t0 = factories.now()
    ping = service.send_ping(endpoint, t0)
    assert service.claim(ping.id, t0) == 1  # ...and the process died before calling
    deliver(runner, t0 + timedelta(minutes=1))
    assert receiver.calls == []  # maybe still under way: left alone
    deliver(runner, t0 + service.STALE_CLAIM + timedelta(seconds=1))
    (call,) = receiver.wait_for(1)
    assert call.delivery_id == ping.delivery_id
    (row,) = deliveries()
    assert row.status == wh.SENT and row.attempts == 2


@pytest.fixture()
def file_app(tmp_path, database_url, smtp_server):
    """An app on a database that two threads can really share (a file, or PostgreSQL)."""
    controller, _ = smtp_server
    with scratch_database(database_url, tmp_path, "webhooks_concurrency") as url:

        class Config(TestingConfig):
            SQLALCHEMY_DATABASE_URI = url
            MAIL_SERVER = "127.0.0.1"
            MAIL_PORT = controller.port
            MAIL_BACKEND = "smtp"

        app = create_app(Config)
        with app.app_context():
            db.create_all()
        yield app
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def test_two_concurrent_deliverers_send_each_delivery_once(file_app, receiver):
    receiver.delay = 0.01
    now = datetime.now(UTC)
    with file_app.app_context():
        org = factories.make_org(slug="busy")
        endpoints = [
            service.create_endpoint(org, None, receiver.url(f"/e{n}"), wh.EVENT_TYPES, now)
            for n in range(2)
        ]
        for n, endpoint in enumerate(endpoints):
            receiver.expect(endpoint, f"/e{n}")
        event = factories.make_event(org)
        for n in range(20):
            signups.sign_up(event.id, name=f"V{n}", email=f"v{n}@example.org", now=now)
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 40
        db.session.remove()

    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        with file_app.app_context():
            barrier.wait()
            results.append(service.deliver_due(now))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    ids = [c.delivery_id for c in receiver.calls]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert all(c.valid for c in receiver.calls)
    assert sum(r.sent for r in results) == 40
    with file_app.app_context():
        statuses = db.session.scalars(select(WebhookDelivery.status)).all()
        assert set(statuses) == {wh.SENT}


def test_a_deleted_endpoint_takes_its_deliveries(host, receiver, runner):
    endpoint = endpoint_for(host["org"], receiver)
    service.send_ping(endpoint, factories.now())
    service.delete_endpoint(endpoint)
    assert deliveries() == []
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
    deliver(runner, factories.now())
    assert receiver.calls == []


# --- with Redis: the RQ job delivers ------------------------------------------------------------


@pytest.fixture()
def redis_app(app):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    from organizer.digests import worker

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisConnectionError:
        pytest.skip(f"no Redis at {url}")
    queue = f"webhooks-test-{uuid.uuid4().hex}"  # of its own: other tests share the server
    app.config.update(REDIS_URL=url, WEBHOOK_QUEUE=queue)
    previous = worker._app
    worker.use_app(app)
    yield app, connection, queue
    worker._app = previous
    from rq import Queue

    Queue(queue, connection=connection).empty()
    connection.close()


def test_with_redis_the_worker_delivers_after_the_commit(redis_app, client, post_form, receiver):
    from rq import Queue, SimpleWorker

    app, connection, queue_name = redis_app
    owner = factories.make_user()
    org = factories.make_org(owner=owner)
    endpoint_for(org, receiver)
    event = factories.make_event(org)
    response = post_form(f"/events/{event.id}/signup", {"name": "D", "email": "d@example.org"})
    response.close()
    queue = Queue(queue_name, connection=connection)
    assert receiver.calls == [] and queue.count == 1  # queued, not sent by the request
    SimpleWorker([queue], connection=connection).work(burst=True)
    (call,) = receiver.wait_for(1)
    assert call.valid and call.type == "signup.created"
    (row,) = deliveries()
    assert row.status == wh.SENT and row.attempts == 1
