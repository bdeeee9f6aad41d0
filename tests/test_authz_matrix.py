"""Authorization matrix: every route of the app, and what each kind of visitor gets from it.

HOW TO ADD AN ENTRY (test_every_route_has_an_entry fails naming a route that has none)
---------------------------------------------------------------------------------------
1. Find the route's endpoint name (`flask --app organizer routes`, or the failure message).
2. Add a line to MATRIX below, in its area, `"blueprint.view": Route(...)`:
     Route(PUBLIC)                   GET answers 200 to everyone
     Route(LOGGED_IN)                anonymous -> the login page, every account -> 200
     Route(ORGANIZERS)               organizers of the hosting organization (and its owners and
                                     site administrators) -> 200, other accounts -> 403,
                                     anonymous -> the login page
     Route(OWNERS)                   the same, but a plain organizer gets 403 too
     Route(post=ORGANIZERS)          a POST-only route (GET must answer 405): the roles that
                                     may not are refused with the given status and run no
                                     INSERT/UPDATE/DELETE; the roles that may (200 or ALLOWED in
                                     the table) are not exercised, so the world stays as built
     Route(ORGANIZERS, post=...)     a GET and POST route: both are checked
     Route(API_TOKEN)                the JSON API: the session is ignored, a bearer token decides;
                                     add its line to API_MATRIX too (test_api_bearer_tokens)
   Change single roles with `expect(ORGANIZERS, admin=404)`; statuses are ints, LOGIN means
   "302 to /auth/login", ALLOWED (POST only) means "may do it, not exercised here".
3. The URL is built from the fixture world by argument name (ARGS: event_id, slug, signup_id,
   ...). Give other values with `args=lambda w: {...}` (extra keys become the query string);
   a new kind of thing goes into build_world().
4. A route with a signed token in its URL gets a valid one through `args`, and declares what
   a bad token gets: `bad_token=404` (tried with a garbage token for every role).
5. Where the same route must answer differently for another kind of thing (a draft, another
   organization's action or webhook), add a line to VARIANTS as well.
The roles: anonymous; volunteer (an account with no organization); organizer and owner of the
hosting organization ("host"); other_organizer (owner of another organization); admin (site
administrator). Each role gets its own fresh database and world (one test each; the app is
shared so templates compile once), so a GET with a side effect (confirming an email, say)
cannot change what another role sees. Read the view before writing an expectation: a
surprising one gets a `note=`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Membership, StandingSignup
from organizer.models import webhook as wh
from organizer.models.organization import ROLE_ORGANIZER
from organizer.services import accounts, api_tokens, calendars, notifications, orgs, subscriptions
from organizer.services import reminders as reminder_service
from organizer.services import series as series_service
from organizer.services import webhooks as webhook_service
from organizer.signups.embed import embed_token

from . import factories
from .conftest import CSRF_RE, _fresh_request_globals
from .helpers import count_queries, empty_all_tables

ROLES = ("anonymous", "volunteer", "organizer", "owner", "other_organizer", "admin")
LOGIN = "302 to the login page"
ALLOWED = "allowed (not exercised)"


def expect(base: dict | None = None, **overrides) -> dict:
    """A role -> expectation table: `base` with some roles changed."""
    table = dict(base or {})
    table.update(overrides)
    assert set(table) == set(ROLES), f"give every role: {sorted(set(ROLES) - set(table))}"
    return table


def everyone(value) -> dict:
    return dict.fromkeys(ROLES, value)


PUBLIC = everyone(200)
LOGGED_IN = expect(everyone(200), anonymous=LOGIN)
ORGANIZERS = expect(everyone(200), anonymous=LOGIN, volunteer=403, other_organizer=403)
OWNERS = expect(ORGANIZERS, organizer=403)
ANYONE = everyone(ALLOWED)  # public forms (log in, sign up, subscribe): nothing to refuse
API_TOKEN = "api"  # the JSON API: see API_MATRIX


@dataclass
class Route:
    """What each role gets from one route (see the header)."""

    get: dict | str | None = None  # None: the route has no GET (it must answer 405)
    post: dict | str | None = None  # POST, PATCH, PUT, DELETE; 200 or ALLOWED: not exercised
    args: Callable[[SimpleNamespace], dict] | None = None  # URL values besides ARGS
    bad_token: int | None = None  # the status for a forged token in the URL, for every role
    note: str = ""  # why, when the expectation is surprising


def _network_membership(w):
    return {"membership_id": w.network_membership}


def _signup_token(w):
    return {"token": notifications.manage_token(w.signup)}


MATRIX: dict[str, Route] = {
    # --- public pages, feeds and health -----------------------------------------------------
    "static": Route(PUBLIC, args=lambda w: {"filename": "css/app.css"}),
    "healthz": Route(PUBLIC),
    "main.home": Route(PUBLIC),
    "main.calendar_ics": Route(PUBLIC),
    "main.personal_calendar": Route(
        PUBLIC, args=lambda w: {"token": w.calendar_token}, bad_token=404
    ),
    "events.index": Route(PUBLIC),
    "events.detail": Route(PUBLIC),
    "events.ics": Route(PUBLIC),
    "orgs.index": Route(PUBLIC),
    "orgs.public": Route(PUBLIC),
    "orgs.feed": Route(PUBLIC),
    # --- accounts ---------------------------------------------------------------------------
    "auth.register": Route(PUBLIC, post=ANYONE),
    "auth.login": Route(expect(everyone(302), anonymous=200), post=ANYONE),
    "auth.logout": Route(post=ANYONE),
    "auth.confirm_email": Route(
        everyone(302), args=lambda w: {"token": w.confirm_token}, bad_token=400
    ),
    "auth.resend_confirmation": Route(post=ANYONE),
    "auth.forgot_password": Route(PUBLIC, post=ANYONE),
    "auth.reset_password": Route(
        PUBLIC, post=ANYONE, args=lambda w: {"token": w.reset_token}, bad_token=400
    ),
    "auth.profile": Route(LOGGED_IN, post=LOGGED_IN),
    "auth.change_password": Route(LOGGED_IN, post=LOGGED_IN),
    "me.history": Route(LOGGED_IN),
    "me.create_calendar": Route(post=LOGGED_IN),
    "me.reset_calendar": Route(post=LOGGED_IN),
    # --- organizations ----------------------------------------------------------------------
    "orgs.mine": Route(LOGGED_IN),
    "orgs.new": Route(LOGGED_IN, post=LOGGED_IN),
    "orgs.manage": Route(ORGANIZERS),
    "orgs.edit": Route(OWNERS, post=OWNERS),
    "orgs.members": Route(ORGANIZERS),
    "orgs.invite": Route(post=OWNERS),
    "orgs.change_role": Route(post=OWNERS),
    "orgs.remove_member": Route(post=OWNERS),
    "orgs.revoke_invitation": Route(post=OWNERS),
    "orgs.accept_cohost": Route(post=ORGANIZERS, args=lambda w: {"event_id": w.cohost_event.id}),
    "orgs.decline_cohost": Route(post=ORGANIZERS, args=lambda w: {"event_id": w.cohost_event.id}),
    "orgs.accept_invitation": Route(
        expect(everyone(403), anonymous=200),
        post=expect(everyone(403), anonymous=ALLOWED),
        args=lambda w: {"token": orgs.invitation_token(w.invitation)},
        bad_token=400,
        note="only the invited address may accept; anonymous sees the page asking to log in",
    ),
    "audit.index": Route(OWNERS),
    "dashboard.organization": Route(ORGANIZERS),
    "dashboard.network": Route(ORGANIZERS),
    "networks.manage": Route(ORGANIZERS),
    "networks.enable": Route(post=OWNERS),
    "networks.disable": Route(post=OWNERS),
    "networks.invite": Route(post=OWNERS),
    "networks.join": Route(post=OWNERS),
    "networks.accept": Route(post=OWNERS, args=_network_membership),
    "networks.end": Route(post=OWNERS, args=_network_membership),
    "webhooks.index": Route(OWNERS),
    "webhooks.create": Route(post=OWNERS),
    "webhooks.detail": Route(OWNERS),
    "webhooks.rotate": Route(post=OWNERS),
    "webhooks.pause": Route(post=OWNERS),
    "webhooks.resume": Route(post=OWNERS),
    "webhooks.ping": Route(post=OWNERS),
    "webhooks.delete": Route(post=OWNERS),
    "api_tokens.index": Route(OWNERS),
    "api_tokens.create": Route(post=OWNERS),
    "api_tokens.revoke": Route(post=OWNERS),
    "digest_manage.highlights": Route(ORGANIZERS),
    "digest_manage.add_highlight": Route(post=ORGANIZERS),
    "digest_manage.remove_highlight": Route(post=ORGANIZERS),
    "digest_manage.preview": Route(ORGANIZERS),
    # --- actions: organizers of a host (the host or a co-host that accepted) ----------------
    "events.new": Route(ORGANIZERS, post=ORGANIZERS, args=lambda w: {"org": w.org.slug}),
    "events.edit": Route(ORGANIZERS, post=ORGANIZERS),
    "events.publish": Route(post=ORGANIZERS),
    "events.cancel": Route(ORGANIZERS, post=ORGANIZERS),
    "events.delete": Route(post=ORGANIZERS),
    "series.end": Route(
        ORGANIZERS, post=ORGANIZERS, args=lambda w: {"event_id": w.series_event.id}
    ),
    "shifts.index": Route(ORGANIZERS),
    "shifts.add": Route(post=ORGANIZERS),
    "shifts.edit": Route(ORGANIZERS, post=ORGANIZERS),
    "shifts.move": Route(post=ORGANIZERS),
    "shifts.delete": Route(ORGANIZERS, post=ORGANIZERS),
    "signups.roster": Route(ORGANIZERS),
    "signups.export_csv": Route(ORGANIZERS),
    "signups.message": Route(ORGANIZERS, post=ORGANIZERS),
    "signups.approve": Route(post=ORGANIZERS),
    "signups.decline": Route(post=ORGANIZERS),
    "signups.attendance": Route(post=ORGANIZERS),
    "attendance.checkin": Route(ORGANIZERS),
    "attendance.checkin_action": Route(post=ORGANIZERS),
    "attendance.volunteer_from_roster": Route(
        expect(ORGANIZERS, organizer=302, owner=302, admin=302),
        note="organizers are sent on to the volunteer's page under their own organization",
    ),
    "attendance.volunteer": Route(ORGANIZERS),
    # --- volunteers: sign-up forms and the signed links in their emails ---------------------
    "signups.signup": Route(PUBLIC, post=ANYONE),
    "embed.signup": Route(PUBLIC, post=ANYONE, note="the POST checks its own signed token"),
    "signups.manage": Route(PUBLIC, args=_signup_token, bad_token=404),
    "signups.cancel": Route(post=ANYONE, args=_signup_token, bad_token=404),
    "reminders.cant_come": Route(
        PUBLIC, args=lambda w: {"token": w.cant_come_token}, bad_token=404
    ),
    "reminders.cant_come_confirm": Route(
        post=ANYONE, args=lambda w: {"token": w.cant_come_token}, bad_token=404
    ),
    "series.stop_standing": Route(
        PUBLIC, post=ANYONE, args=lambda w: {"token": w.standing_token}, bad_token=404
    ),
    "series.confirm_standing": Route(
        PUBLIC, post=ANYONE, args=lambda w: {"token": w.standing_request_token}, bad_token=400
    ),
    "privacy.guest": Route(PUBLIC, post=ANYONE),
    "privacy.guest_data": Route(PUBLIC, args=lambda w: {"token": w.privacy_token}, bad_token=404),
    "privacy.guest_data_json": Route(
        PUBLIC, args=lambda w: {"token": w.privacy_token}, bad_token=404
    ),
    "privacy.guest_delete": Route(
        post=ANYONE, args=lambda w: {"token": w.privacy_token}, bad_token=404
    ),
    "me.my_data": Route(LOGGED_IN),
    "me.my_data_json": Route(LOGGED_IN),
    "me.delete_account": Route(post=LOGGED_IN),
    # --- the weekly digest ------------------------------------------------------------------
    "digests.subscribe": Route(PUBLIC, post=ANYONE),
    "digests.check_inbox": Route(PUBLIC),
    "digests.confirm": Route(
        PUBLIC, args=lambda w: {"token": w.digest_confirm_token}, bad_token=400
    ),
    "digests.preferences": Route(
        PUBLIC, post=ANYONE, args=lambda w: {"token": w.digest_prefs_token}, bad_token=400
    ),
    "digests.unsubscribe": Route(
        PUBLIC, post=ANYONE, args=lambda w: {"token": w.digest_unsubscribe_token}, bad_token=400
    ),
    "digests.mine": Route(LOGGED_IN, post=LOGGED_IN),
    # --- the JSON API (bearer tokens; see API_MATRIX) ---------------------------------------
    "api.docs": Route(PUBLIC),
    "api.openapi_json": Route(PUBLIC),
    "api.list_events": Route(PUBLIC),
    "api.get_event": Route(PUBLIC),
    "api.list_orgs": Route(PUBLIC),
    "api.get_org": Route(PUBLIC),
    "api.osdi_events": Route(PUBLIC),
    "api.osdi_event": Route(PUBLIC),
    "api.osdi_attendances": Route(API_TOKEN),
    "api.list_signups": Route(API_TOKEN),
    "api.list_subscribers": Route(API_TOKEN),
    "api.create_event": Route(post=API_TOKEN),
    "api.update_event": Route(post=API_TOKEN),
    "api.create_signup": Route(post=API_TOKEN),
}

# The same routes pointed at other things of the world: (what, endpoint, Route).
HOSTS_ONLY = expect(everyone(404), organizer=200, owner=200, admin=200)
OTHER_ORGS = expect(everyone(403), anonymous=LOGIN, other_organizer=200, admin=200)
VARIANTS: list[tuple[str, str, Route]] = [
    ("a draft", "events.detail", Route(HOSTS_ONLY, args=lambda w: {"event_id": w.draft.id})),
    ("a draft", "events.ics", Route(everyone(404), args=lambda w: {"event_id": w.draft.id})),
    (
        "a draft",
        "signups.signup",
        Route(everyone(404), post=everyone(404), args=lambda w: {"event_id": w.draft.id}),
    ),
    (
        "an action whose co-hosting host has not accepted yet",
        "signups.roster",
        Route(OTHER_ORGS, args=lambda w: {"event_id": w.cohost_event.id}),
    ),
    (
        "another organization's action",
        "signups.export_csv",
        Route(OTHER_ORGS, args=lambda w: {"event_id": w.cohost_event.id}),
    ),
    (
        "another organization's webhook, under this one's address",
        "webhooks.detail",
        Route(
            expect(OWNERS, owner=404, admin=404), args=lambda w: {"endpoint_id": w.other_hook.id}
        ),
    ),
    (
        "another organization's sign-up, under this action's address",
        "attendance.volunteer_from_roster",
        Route(
            expect(ORGANIZERS, organizer=404, owner=404, admin=404),
            args=lambda w: {"signup_id": w.other_signup.id},
        ),
    ),
]

# The API decides by bearer token, whoever is logged in: none, the host's read-only token, the
# host's read-write token, another organization's read-write token.
API_KINDS = ("none", "host_read", "host_write", "other_write")
API_MATRIX: dict[str, dict] = {
    "api.list_signups": {"none": 401, "host_read": 200, "host_write": 200, "other_write": 403},
    "api.list_subscribers": {"none": 401, "host_read": 200, "host_write": 200, "other_write": 403},
    "api.osdi_attendances": {"none": 401, "host_read": 200, "host_write": 200, "other_write": 403},
    "api.create_event": {"none": 401, "host_read": 403, "host_write": ALLOWED, "other_write": 403},
    "api.update_event": {"none": 401, "host_read": 403, "host_write": ALLOWED, "other_write": 403},
    "api.create_signup": {"none": 401, "host_read": 403, "host_write": ALLOWED, "other_write": 403},
}


# --- the world ---------------------------------------------------------------------------------


def build_world() -> SimpleNamespace:
    """One of everything a route can point at, hosted by "host"; "other" is another org."""
    now = factories.now()
    w = SimpleNamespace()
    w.owner = factories.make_user(email="owner@example.org", name="Host Owner")
    w.organizer = factories.make_user(email="organizer@example.org", name="Host Organizer")
    w.other_organizer = factories.make_user(email="other@example.org", name="Other Owner")
    w.volunteer = factories.make_user(email="volunteer@example.org", name="Plain Volunteer")
    w.admin = factories.make_user(email="admin@example.org", name="Site Admin", is_admin=True)
    w.org = factories.make_org(slug="host", owner=w.owner)
    w.other_org = factories.make_org(slug="other", owner=w.other_organizer)
    w.membership = Membership(organization_id=w.org.id, user_id=w.organizer.id, role=ROLE_ORGANIZER)
    db.session.add(w.membership)
    db.session.commit()

    w.event = factories.make_event(w.org, title="Depot shifts", capacity=20)
    w.shift = factories.make_shift(w.event, capacity=10)
    w.signup = factories.make_signup(
        w.event, email="guest@example.org", name="Guest Volunteer", shift_id=w.shift.id
    )
    w.cant_come_token = reminder_service.cant_come_token(w.signup)
    w.privacy_token = _privacy_token("guest@example.org")

    first = now + timedelta(days=2)
    series = factories.make_series(w.org, first=first, created=now)
    w.series_event = min(series.occurrences, key=lambda e: e.starts_at)
    series_signup = factories.make_signup(w.series_event, email="weekly@example.org")
    w.standing_request_token = series_service.standing_request_token(series_signup)
    standing = StandingSignup(series_id=series.id, name="Weekly", email="weekly@example.org")
    db.session.add(standing)
    db.session.commit()
    w.standing_token = series_service.standing_token(standing)

    w.cohost_event = factories.make_event(w.other_org, pending_cohosts=(w.org,))
    w.other_signup = factories.make_signup(w.cohost_event, email="theirs@example.org")
    w.draft = factories.make_event(w.org, status="draft")
    w.webhook = webhook_service.create_endpoint(
        w.org,
        w.owner,
        "http://127.0.0.1:9/hook",
        wh.EVENT_TYPES,
        now,  # nothing listens
    )
    w.other_hook = webhook_service.create_endpoint(
        w.other_org, w.other_organizer, "http://127.0.0.1:9/theirs", wh.EVENT_TYPES, now
    )
    w.api_token = api_tokens.create_token(w.org, w.owner, "Sheet", "read", now)
    w.api_write = api_tokens.create_token(w.org, w.owner, "Bot", "read_write", now)
    w.other_api = api_tokens.create_token(w.other_org, w.other_organizer, "X", "read_write", now)
    w.invitation = orgs.invite(w.org, "invitee@example.org", "organizer", w.owner, now)
    w.network_membership = _network(w)

    subscription = factories.make_subscription("reader@example.org")
    w.digest_confirm_token = subscriptions.link_token(subscriptions.CONFIRM_PURPOSE, subscription)
    w.digest_prefs_token = subscriptions.link_token(subscriptions.PREFS_PURPOSE, subscription)
    w.digest_unsubscribe_token = subscriptions.link_token(
        subscriptions.UNSUBSCRIBE_PURPOSE, subscription
    )
    w.calendar_token = calendars.calendar_token(w.volunteer)
    w.confirm_token = accounts.confirmation_token(w.volunteer)
    w.reset_token = accounts.reset_token(w.volunteer)
    w.embed_token = embed_token(w.event.id)
    return w


def _privacy_token(address: str) -> str:
    from organizer.services import privacy

    return privacy.guest_token(address)


def _network(w) -> int:
    """ "host" becomes a network and invites "other": the id of that membership."""
    from organizer.services import networks

    networks.set_network(w.org, w.owner, True)
    asked = networks.invite(w.org, w.other_org.slug, w.owner, factories.now())
    return asked.membership.id


def ARGS(w: SimpleNamespace) -> dict:  # noqa: N802 - a table, read like MATRIX
    """URL values by argument name; a route's `args` adds to them or replaces them."""
    return {
        "event_id": w.event.id,
        "slug": w.org.slug,
        "signup_id": w.signup.id,
        "shift_id": w.shift.id,
        "endpoint_id": w.webhook.id,
        "token_id": w.api_token.token.id,
        "membership_id": w.membership.id,
        "invitation_id": w.invitation.id,
    }


# --- running it --------------------------------------------------------------------------------


def _rules(app):
    return [rule for rule in app.url_map.iter_rules()]


def _url(app, rule, w, route: Route, token: str | None = None) -> str:
    values = {k: v for k, v in ARGS(w).items() if k in rule.arguments}
    if route.args is not None:
        values.update(route.args(w))  # keys the rule does not take become the query string
    if token is not None:
        values["token"] = token
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


# Statements a request may run without doing anything: a token's "last used" time.
WRITE_RE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE|ALTER|DROP)\b", re.I)
IGNORED_WRITES = re.compile(r"\s*UPDATE api_tokens SET last_used_at", re.I)


def _writes(statements: list[str]) -> list[str]:
    return [
        " ".join(sql.split())[:80]
        for sql in statements
        if WRITE_RE.match(sql) and not IGNORED_WRITES.match(sql)
    ]


def _other_rule_answers_get(app, rule, url: str) -> bool:
    """The same address may be another route's GET (shifts.index and shifts.add)."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _values = adapter.match(url.split("?")[0], method="GET")
    except Exception:  # noqa: BLE001 - 405 or 404: nothing else answers
        return False
    return endpoint != rule.endpoint


@dataclass
class Answer:
    status_code: int
    location: str


def fetch(client, url: str, method: str = "GET", **kwargs) -> Answer:
    """The status and redirect of one request; the response is closed (files, streams)."""
    response = client.open(url, method=method, **kwargs)
    try:
        return Answer(response.status_code, response.headers.get("Location", ""))
    finally:
        response.close()


def _check(response: Answer, expected) -> str | None:
    """Why `response` does not match `expected`, or None."""
    status = response.status_code
    if expected == LOGIN:
        location = response.location
        if status == 302 and "/auth/login" in location:
            return None
        return f"{status} {location}".strip()
    if status != expected:
        return str(status)
    return None


def _login(client, user) -> str:
    """Log in (unless anonymous) and return a CSRF token of this session."""
    if user is not None:
        html = client.get("/auth/login").get_data(as_text=True)
        token = _csrf(html)
        response = client.post(
            "/auth/login",
            data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302, "could not log in"
        return _csrf(client.get("/auth/profile").get_data(as_text=True))
    return _csrf(client.get("/auth/login").get_data(as_text=True))


def _csrf(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def shared_app(database_url, smtp_server):
    """One app for the module (its templates compile once); each test gets a fresh database."""
    controller, _ = smtp_server

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        MAIL_SERVER = "127.0.0.1"
        MAIL_PORT = controller.port
        MAIL_BACKEND = "smtp"

    app = create_app(Config)
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    with app.app_context():
        yield app


@pytest.fixture()
def app(shared_app):
    db.create_all()
    yield shared_app
    empty_all_tables()


class Writes:
    """Runs a request that must change nothing and says which writing statements it ran
    (any INSERT, UPDATE or DELETE, even one rolled back later: a refused request should not
    get that far)."""

    def around(self, send: Callable[[], Answer]) -> tuple[Answer, list[str]]:
        with count_queries() as statements:
            answer = send()
        return answer, _writes(statements)


def _method(methods: set[str]) -> str:
    return "GET" if "GET" in methods else sorted(methods & WRITE_METHODS)[0]


def _check_rule(app, client, rule, route: Route, w, role: str, csrf: str, writes: Writes):
    """The mismatches of one route for one role."""
    failures: list[str] = []
    name = rule.endpoint
    methods = rule.methods - {"HEAD", "OPTIONS"}
    url = _url(app, rule, w, route)
    form = {"csrf_token": csrf}

    def fail(method: str, answer: Answer, expected, what: str = "") -> None:
        if (why := _check(answer, expected)) is not None:
            failures.append(f"{name} {method} {url}{what} as {role}: {why}, want {expected}")

    if API_TOKEN in (route.get, route.post):  # no bearer token: the session does not count
        method = _method(methods)
        answer, changed = writes.around(lambda: fetch(client, url, method, json={}))
        fail(method, answer, API_MATRIX[name]["none"])
        if changed:
            failures.append(f"{name} {method} as {role} wrote: {changed}")
        return failures
    if "GET" in methods:
        if route.get is None:
            failures.append(f"{name}: answers GET but its entry has no `get`")
        else:
            answer, changed = writes.around(lambda: fetch(client, url))
            fail("GET", answer, route.get[role])
            if changed and route.get[role] in (LOGIN, 401, 403, 404):  # refused: writes nothing
                failures.append(f"{name} GET as {role} was refused but wrote: {changed}")
    elif route.get is not None:
        failures.append(f"{name}: has a `get` entry but no GET method")
    elif not _other_rule_answers_get(app, rule, url):
        fail("GET", fetch(client, url), 405)
    for method in sorted(methods & WRITE_METHODS):  # refused roles change nothing
        if route.post is None:
            failures.append(f"{name}: answers {method} but its entry has no `post`")
            continue
        expected = route.post[role]
        if expected in (ALLOWED, 200):  # 200 in a shared table (ORGANIZERS): may do it
            continue
        answer, changed = writes.around(lambda m=method: fetch(client, url, m, data=form))
        fail(method, answer, expected)
        if changed:
            failures.append(f"{name} {method} as {role} wrote: {changed}")
    if route.bad_token is not None:  # a forged or mangled signed link
        method = _method(methods)
        url = _url(app, rule, w, route, token="not-a-valid-token")
        answer, changed = writes.around(lambda: fetch(client, url, method, data=form))
        fail(method, answer, route.bad_token, " (bad token)")
        if changed:
            failures.append(f"{name} {method} with a bad token as {role} wrote: {changed}")
    elif "<token>" in rule.rule:
        failures.append(f"{name}: a token in the URL needs `bad_token=`")
    return failures


@pytest.mark.parametrize("role", ROLES)
def test_matrix(app, client, role):
    w = build_world()
    user = None if role == "anonymous" else getattr(w, role)
    csrf = _login(client, user)
    writes = Writes()
    failures: list[str] = []
    for rule in _rules(app):
        if rule.endpoint in MATRIX:  # else test_every_route_has_an_entry names it
            route = MATRIX[rule.endpoint]
            failures += _check_rule(app, client, rule, route, w, role, csrf, writes)
    rules = {rule.endpoint: rule for rule in _rules(app)}
    for what, endpoint, route in VARIANTS:
        found = _check_rule(app, client, rules[endpoint], route, w, role, csrf, writes)
        failures += [f"{line} ({what})" for line in found]
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures)


def test_every_route_has_an_entry(app):
    missing = sorted({rule.endpoint for rule in _rules(app)} - set(MATRIX))
    assert not missing, (
        "These routes have no entry in tests/test_authz_matrix.py MATRIX (see the header of "
        "that file for how to add one): " + ", ".join(missing)
    )
    stale = sorted(set(MATRIX) - {rule.endpoint for rule in _rules(app)})
    assert not stale, "MATRIX names routes that no longer exist: " + ", ".join(stale)


def test_api_bearer_tokens(app, client):
    w = build_world()
    tokens = {
        "none": None,
        "host_read": w.api_token.secret,
        "host_write": w.api_write.secret,
        "other_write": w.other_api.secret,
    }
    failures = []
    writes = Writes()
    for rule in _rules(app):
        if rule.endpoint not in API_MATRIX:
            continue
        url = _url(app, rule, w, MATRIX[rule.endpoint])
        method = _method(rule.methods - {"HEAD", "OPTIONS"})
        for kind, expected in API_MATRIX[rule.endpoint].items():
            if expected == ALLOWED:
                continue
            headers = {"Authorization": f"Bearer {tokens[kind]}"} if tokens[kind] else {}
            answer, changed = writes.around(
                lambda u=url, m=method, h=headers: fetch(client, u, m, json={}, headers=h)
            )
            if answer.status_code != expected:
                failures.append(
                    f"{rule.endpoint} {method} with {kind}: {answer.status_code}, want {expected}"
                )
            if changed:
                failures.append(f"{rule.endpoint} with {kind} wrote: {changed}")
    assert not failures, "\n".join(failures)
