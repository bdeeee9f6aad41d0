"""`flask privacy purge`: guests' personal data goes GUEST_DATA_RETENTION_DAYS after their action
ended; the rows behind rosters, attendance and dashboards stay, anonymous."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import (
    OutboxMessage,
    Signup,
    StandingSignup,
    Subscription,
    WebhookDelivery,
    WebhookEndpoint,
)
from organizer.services import attendance, signups
from organizer.services.privacy import ANONYMOUS_DOMAIN

from . import factories

DAY = timedelta(days=1)


def ended(days_ago: int, **kwargs):
    start = factories.now() - timedelta(days=days_ago, hours=3)
    return factories.make_event(starts_at=start, ends_at=start + timedelta(hours=2), **kwargs)


def test_purge_anonymizes_old_guest_signups_and_keeps_counts(app, runner):
    old = ended(200, capacity=10)
    recent = ended(100)
    member = factories.make_user(email="member@example.org")
    guest = factories.make_signup(old, email="guest@example.org", name="Guest", phone="050")
    factories.make_signup(old, email="guest2@example.org", status="cancelled")
    no_show = factories.make_signup(old, email="guest3@example.org", attendance="no_show")
    came = factories.make_signup(old, email="guest4@example.org", attendance="attended")
    by_account = factories.make_signup(old, email="member@example.org", user=member)
    same_address = factories.make_signup(recent, email="member@example.org")
    keep = factories.make_signup(recent, email="guest@example.org", name="Guest")
    counts_before = signups.counts_by_event([old.id])
    attendance_before = attendance.attendance_counts([old], factories.now())
    confirmed_before = signups.confirmed_count(old.id)

    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "4 sign-ups anonymized" in result.output
    db.session.expire_all()
    for row_id in (guest.id, no_show.id, came.id):
        row = db.session.get(Signup, row_id)
        assert (row.name, row.phone) == ("", "")
        assert row.email.endswith("@" + ANONYMOUS_DOMAIN)
    assert db.session.get(Signup, no_show.id).attendance == "no_show"
    assert db.session.get(Signup, came.id).attendance == "attended"
    for row_id in (by_account.id, same_address.id, keep.id):
        assert not db.session.get(Signup, row_id).email.endswith(ANONYMOUS_DOMAIN)
    assert signups.counts_by_event([old.id]) == counts_before
    assert signups.confirmed_count(old.id) == confirmed_before
    after = attendance.attendance_counts([old], factories.now())
    assert after == attendance_before

    again = runner.invoke(args=["privacy", "purge"])
    assert "0 sign-ups anonymized" in again.output


def test_retention_is_configurable_and_now_replays_a_moment(app, runner):
    event = ended(100)
    row = factories.make_signup(event, email="guest@example.org")
    app.config["GUEST_DATA_RETENTION_DAYS"] = 30
    later = (factories.now() + 10 * DAY).isoformat()
    result = runner.invoke(args=["privacy", "purge", "--now", "2020-01-01T00:00:00"])
    assert "0 sign-ups anonymized" in result.output
    result = runner.invoke(args=["privacy", "purge", "--now", later])
    assert "1 sign-ups anonymized" in result.output
    db.session.expire_all()
    assert db.session.get(Signup, row.id).email.endswith(ANONYMOUS_DOMAIN)
    bad = runner.invoke(args=["privacy", "purge", "--now", "yesterday"])
    assert bad.exit_code == 2 and "ISO-8601" in bad.output


def test_purge_removes_other_old_personal_data(app, runner):
    now = factories.now()
    org = factories.make_org()
    series = factories.make_series(org, first=now - 300 * DAY, created=now - 301 * DAY)
    db.session.add(
        StandingSignup(
            series_id=series.id,
            name="Guest",
            email="guest@example.org",
            created_at=now - 300 * DAY,
            cancelled_at=now - 250 * DAY,
        )
    )
    factories.make_subscription("pending@example.org", status="pending", created_at=now - 200 * DAY)
    factories.make_subscription("active@example.org", created_at=now - 400 * DAY)
    db.session.add(
        OutboxMessage(
            sender="a@example.org",
            to="guest@example.org",
            message=b"Subject: x",
            created_at=now - 200 * DAY,
        )
    )
    endpoint = WebhookEndpoint(
        organization_id=org.id, url="https://example.org/h", secret="s", events="signup.created"
    )
    db.session.add(endpoint)
    db.session.flush()
    payload = {"data": {"signup": {"name": "Guest", "email": "guest@example.org", "phone": "1"}}}
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_type="signup.created",
        delivery_id="00000000-0000-0000-0000-000000000001",
        payload=json.dumps(payload),
        status="sent",
        created_at=now - 200 * DAY,
    )
    db.session.add(delivery)
    db.session.commit()

    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(StandingSignup)) == 0
    emails = db.session.scalars(select(Subscription.email)).all()
    assert emails == ["active@example.org"]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    db.session.expire_all()
    assert "guest@example.org" not in db.session.get(WebhookDelivery, delivery.id).payload
    assert "1 webhook log entries redacted" in result.output


def test_one_guest_stays_one_volunteer_per_organization(app, runner):
    org, other = factories.make_org(), factories.make_org()
    rows = [
        factories.make_signup(ended(200, org=org), email="guest@example.org"),
        factories.make_signup(ended(210, org=org), email="guest@example.org"),
        factories.make_signup(ended(220, org=other), email="guest@example.org"),
    ]
    runner.invoke(args=["privacy", "purge"])
    db.session.expire_all()
    first, second, elsewhere = (db.session.get(Signup, row.id).email for row in rows)
    assert first == second  # returning, on the organization's dashboard
    assert elsewhere != first  # nothing links organizations
