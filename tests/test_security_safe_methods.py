"""No state change on GET: every GET route of the URL map, called by an organizer (who owns the
organization and is a site administrator) with ids and links that exist, leaves every row of
every table as it was. A page reached by a link (a mail scanner, a prefetch, an <img> on
another site) must never act; only a POST with a CSRF token does.

Two routes are let through on purpose: the links that confirm an email address
(auth.confirm_email, digests.confirm). Opening one only proves that the inbox received it,
which is the whole point of the link, and it changes nothing anybody else can see.
The audit log is not state either: showing a roster records who saw whose data (that record
is the point), so its table is left out of the comparison.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.routing import Rule

from organizer.extensions import db
from organizer.models import Event, Membership
from organizer.services import (
    accounts,
    api_tokens,
    notifications,
    orgs,
    reminders,
    subscriptions,
    webhooks,
)
from organizer.services import series as series_service
from organizer.web import now_utc

from . import factories

CONFIRMATION_LINKS = {"auth.confirm_email", "digests.confirm"}
ACCESS_LOGS = {"audit_entries"}


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    db.session.expire_all()
    rows = {}
    for table in db.metadata.sorted_tables:
        if table.name in ACCESS_LOGS:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*order))]
    return rows


def changed_tables(before, after) -> list[str]:
    return [name for name in before if before[name] != after[name]]


@pytest.fixture()
def world(app):
    """One of everything, owned by `organizer`; ids and secret links to call the pages with."""
    organizer = factories.make_user(is_admin=True, email="owner@example.org")
    org = factories.make_org(slug="circle", owner=organizer)
    partner_owner = factories.make_user(email="partner@example.org")
    partner = factories.make_org(slug="partner", owner=partner_owner)
    member = factories.make_user(email="member@example.org")
    now = now_utc()
    db.session.add(Membership(organization=org, user=member, role="organizer"))
    event = factories.make_event(org, approval_required=True, cohosts=(partner,))
    confirmed = factories.make_signup(event, "confirmed")
    pending = factories.make_signup(event, "pending")
    shifted = factories.make_event(org)
    shift = factories.make_shift(shifted, name="Morning", capacity=3)
    on_shift = factories.make_signup(shifted, "confirmed", shift_id=shift.id)
    asking = factories.make_event(partner, pending_cohosts=(org,))
    first = now + timedelta(days=2)
    series = factories.make_series(org, first=first.replace(microsecond=0))
    dated = db.session.scalars(
        select(Event).where(Event.series_id == series.id).order_by(Event.starts_at)
    ).all()[1]
    dated_signup = factories.make_signup(dated, "confirmed")
    standing, _signups = series_service.start_standing(
        series.id, name="Rina", email="rina@example.org", now=now
    )
    invitation = orgs.invite(partner, organizer.email, "organizer", partner_owner, now)
    token = api_tokens.create_token(org, organizer, "Reports", "read", now)
    endpoint = webhooks.create_endpoint(
        org, organizer, "http://127.0.0.1:9/hook", ["signup.created"], now
    )
    subscription = factories.make_subscription(organizations=(org,))
    unconfirmed = factories.make_subscription(status="pending")
    newcomer = factories.make_user(email_confirmed_at=None)
    organizer.calendar_token = "c" * 32
    db.session.commit()
    membership_id = next(m.id for m in org.memberships)
    with app.test_request_context():
        tokens = {
            "auth.confirm_email": accounts.confirmation_token(newcomer),
            "auth.reset_password": accounts.reset_token(organizer),
            "main.personal_calendar": organizer.calendar_token,
            "digests.confirm": _last_part(subscriptions.confirm_url(unconfirmed)),
            "digests.preferences": _last_part(subscriptions.preferences_url(subscription)),
            "digests.unsubscribe": _last_part(subscriptions.unsubscribe_url(subscription)),
            "orgs.accept_invitation": orgs.invitation_token(invitation),
            "signups.manage": notifications.manage_token(confirmed),
            "reminders.cant_come": reminders.cant_come_token(confirmed),
            "series.confirm_standing": series_service.standing_request_token(dated_signup),
            "series.stop_standing": series_service.standing_token(standing),
        }
    ids = {
        "event_id": [event.id, shifted.id, asking.id, dated.id],
        "slug": ["circle", "partner"],
        ("event_id", "signup_id"): [
            (event.id, confirmed.id),
            (event.id, pending.id),
            (shifted.id, on_shift.id),
        ],
        ("event_id", "shift_id"): [(shifted.id, shift.id)],
        ("slug", "signup_id"): [("circle", confirmed.id)],
        ("slug", "event_id"): [("circle", asking.id), ("circle", event.id)],
        ("slug", "endpoint_id"): [("circle", endpoint.id)],
        ("slug", "token_id"): [("circle", token.token.id)],
        ("slug", "invitation_id"): [
            ("circle", orgs.invite(org, "new@example.org", "organizer", organizer, now).id)
        ],
        ("slug", "membership_id"): [("circle", membership_id)],
        "series_id": [series.id],
    }
    return organizer, ids, tokens


def _last_part(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _values(rule: Rule, ids: dict, tokens: dict) -> list[dict]:
    args = tuple(sorted(rule.arguments))
    if not args:
        return [{}]
    if args == ("token",):
        return [{"token": tokens.get(rule.endpoint, "not-a-real-token")}]
    if len(args) == 1 and args[0] in ids:
        return [{args[0]: value} for value in ids[args[0]]]
    if args in ids:
        return [dict(zip(args, combo, strict=True)) for combo in ids[args]]
    # A route this test does not know yet: ids that exist somewhere, slugs of the world.
    return [{a: ("circle" if a == "slug" else 1) for a in args}]


def get_rules(app) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"),
        key=lambda r: r.rule,
    )


def test_no_get_route_changes_any_row(app, client, auth, world):
    organizer, ids, tokens = world
    auth.login(organizer)
    changes = []
    confirmed = set()
    called = 0
    for rule in get_rules(app):
        for values in _values(rule, ids, tokens):
            path = rule.build(values, append_unknown=False)[1]
            before = snapshot()
            response = client.get(path)
            called += 1
            assert response.status_code < 500, (path, response.status_code)
            tables = changed_tables(before, snapshot())
            if tables and rule.endpoint in CONFIRMATION_LINKS:
                confirmed.add(rule.endpoint)
            elif tables:
                changes.append((rule.endpoint, path, response.status_code, tables))
            if tables:  # later routes start from the same world
                db.session.rollback()
    assert called > 60
    assert confirmed == CONFIRMATION_LINKS  # the walk does see a write when there is one
    assert changes == [], "\n".join(map(str, changes))


def test_the_walk_reaches_real_pages(app, client, auth, world):
    """The ids are right: the organizer's own pages answer 200, not 404."""
    organizer, ids, tokens = world
    auth.login(organizer)
    statuses = {}
    for rule in get_rules(app):
        values = _values(rule, ids, tokens)[0]
        statuses[rule.endpoint] = client.get(
            rule.build(values, append_unknown=False)[1]
        ).status_code
    for endpoint in (
        "signups.roster",
        "signups.export_csv",
        "shifts.edit",
        "shifts.delete",
        "orgs.manage",
        "webhooks.detail",
        "signups.manage",
        "reminders.cant_come",
        "digests.preferences",
        "digests.unsubscribe",
        "orgs.accept_invitation",
        "auth.reset_password",
        "main.personal_calendar",
        "series.confirm_standing",
        "events.cancel",
    ):
        assert statuses.get(endpoint) == 200, (endpoint, statuses.get(endpoint))
