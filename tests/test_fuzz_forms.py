"""Hypothesis against every web form: hostile values never cause a 5xx, and a refused form
writes nothing (no row changed, no email sent).

How it works
- FORMS maps each endpoint that accepts a form POST to a Route: who posts it (a role), where
  (a URL built from a small fixture world, the World below), and what (the fields of its
  WTForms class, derived automatically by field type, plus per-route overrides and a valid
  body that examples mutate, so they reach the services and not only the form checks).
- Each example posts as that role with a valid CSRF token: a mutated valid body or random
  fields (unicode, RTL marks, control characters, huge strings, numbers out of range, bad
  dates and choices, fields missing, extra or sent twice, now and then one sent as a file),
  url-encoded, multipart or JSON, in English, Hebrew or Arabic. It then compares every row of
  every table with the world as built: after a refusal (4xx, or the form shown again with
  fields in error) nothing may differ and no email may have gone out. Whatever an accepted
  example wrote is undone before the next one, so every example starts from the same world.
  The valid body is also posted once without a valid CSRF token: refused.
- test_every_post_route_is_fuzzed_or_skipped fails when a POST route is in neither FORMS nor
  SKIPPED: a new form must get an entry here (or a reason in SKIPPED).

Adding a form: add `"blueprint.endpoint": Route(role, url, form=TheForm, valid=...)` to FORMS;
`fields=` overrides a field's strategy (choices the form fills in at run time, ids from the
world, values that pass) or adds a field the view reads from request.form itself. Run with
FUZZ_REPORT=1 to see how far the examples got (status codes per route).
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy import text as sql
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.security import generate_password_hash
from werkzeug.test import encode_multipart
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectFieldBase,
    SelectMultipleField,
    TimeField,
)
from wtforms.fields.core import UnboundField

from organizer.api.tokens import TokenForm
from organizer.attendance.forms import CheckinForm
from organizer.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResendConfirmationForm,
    ResetPasswordForm,
)
from organizer.choices import CAUSES, COMMON_TIMEZONES, EVENT_KINDS, LANGUAGE_NAMES, REGIONS
from organizer.digests.forms import PreferencesForm, SubscribeForm
from organizer.digests.manage import HighlightForm
from organizer.events.forms import CancelForm, EventForm
from organizer.extensions import db
from organizer.i18n import LANG_COOKIE
from organizer.me.forms import DeleteAccountForm, GuestDataForm
from organizer.models import Membership, StandingSignup
from organizer.models import event as ev
from organizer.models import network as nw
from organizer.models import webhook as wh
from organizer.models.network import NetworkMembership
from organizer.models.organization import ROLE_ORGANIZER, ROLE_OWNER
from organizer.networks.forms import OrganizationSlugForm
from organizer.orgs.forms import InviteForm, OrganizationDetailsForm, OrganizationForm, RoleForm
from organizer.series.forms import EndSeriesForm
from organizer.services import accounts, api_tokens, orgs, privacy, subscriptions, webhooks
from organizer.services import highlights as hl
from organizer.services import series as series_service
from organizer.services.notifications import manage_token
from organizer.services.reminders import REMINDER_HOURS, cant_come_token
from organizer.shifts.forms import DeleteShiftForm, MoveForm, ShiftForm
from organizer.signups.embed import embed_token
from organizer.signups.forms import AttendanceForm, MessageForm, ShiftSignupForm
from organizer.webhooks.forms import EndpointForm

from . import factories
from .conftest import csrf_token

SETTINGS = settings(
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible
    database=None,
    suppress_health_check=list(HealthCheck),  # big constant strings, slow pages: on purpose
)

# FUZZ_SCALE=10 runs ten times as many examples per form: a longer hunt on a developer's machine.
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))

# --- values ----------------------------------------------------------------------------------


class Long(str):
    """A long string that reports itself briefly (Hypothesis prints failing examples)."""

    def __repr__(self) -> str:
        return f"Long({self[:1]!r} * {len(self)})"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


HUGE = Long("x" * 200_000)
TOO_BIG = Long("y" * (1024 * 1024 + 10))  # over MAX_CONTENT_LENGTH: 413
NASTY = [
    "",
    " ",
    "\t\r\n",
    "\x00",
    "a\x00b",
    "\x1b[31mred",
    "\x7f\x08",
    "\u200f\u200e",  # right-to-left / left-to-right marks
    "\u202eevil\u202c",  # right-to-left override
    "\ufeffbom",
    "e\u0301\u0301\u0301",  # combining marks
    "שלום עולם",
    "مرحبا بالعالم",
    "٣٤٥",  # Arabic-Indic digits
    "𝟙𝟚𝟛",
    "\U0001f600" * 20,
    "\ud7ff\ue000\uffff",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "{{ 7*7 }}",
    "%(name)s %s {0}",
    "../../etc/passwd",
    "null",
    "None",
    "-1",
    "0",
    "1e309",
    "NaN",
    "\u2028\u2029",
    "İ" * 130,  # longer once lower-cased (İ -> i + combining dot)
    "\ufdfa" * 10,  # one character each, eighteen after NFKC
    Long("ש" * 5_000),
    HUGE,
]


def text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=40),
        st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]), max_size=12),
    )


def numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-5, 200).map(str),
        st.integers().map(str),
        st.sampled_from(
            ["", "1e309", "NaN", "inf", "-0", "٣", "0x10", "1_000", " 5 ", "3.5", "9" * 40]
        ),
        text(),
    )


BAD_DATES = ["2027-02-30", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "2027-13-01"]
BAD_DATES += ["yesterday", "2027-1-1", "٢٠٢٧-٠١-٠١", "2027-03-26T02:30", "20270326"]


def dates(near: date) -> st.SearchStrategy[str]:
    """Days around `near` (and the clock changes), any day at all, and things that are not days."""
    return st.one_of(
        st.integers(-3, 400).map(lambda n: (near + timedelta(days=n)).isoformat()),
        st.sampled_from([d.isoformat() for d in clock_changes(near)]),
        st.dates().map(date.isoformat),
        st.sampled_from(BAD_DATES),
        text(),
    )


def times() -> st.SearchStrategy[str]:
    return st.one_of(
        st.times().map(lambda t: t.strftime("%H:%M")),
        st.sampled_from(["02:30", "01:30", "00:00", "23:59", "24:00", "25:61", "12:60", "-1:00"]),
        st.sampled_from(["12:00:00", "12:00:00.5", "noon", "1200", "12.00", ""]),
        text(),
    )


ODD_EMAILS = [
    "dana@exämple.org",
    "דנה@example.org",
    "a@b",
    "a..b@example.org",
    "a@[127.0.0.1]",
    '"quoted local"@example.org',
    "a@xn--80ak6aa92e.com",
    "a@-example.org",
    "a@example.org.",
    "DANA@EXAMPLE.ORG",
    "x" * 65 + "@example.org",
    "a@" + "b" * 64 + ".org",
    "a@" + ".".join(["b" * 60] * 5) + ".org",
    "a@b.c\u200f",
    "a@example.org, b@example.org",
    "a@example.org\r\nBcc: b@example.org",
]


def emails() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(ODD_EMAILS), st.emails().map(str), text())


ODD_ZONES = ["UTC", "Etc/GMT+14", "EST5EDT", "posixrules", "localtime", "Factory", "right/UTC"]
ODD_ZONES += ["/etc/localtime", "Asia/../Asia/Jerusalem", "asia/jerusalem", "Mars/Olympus", "."]


def zones(*valid: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from([*valid, *ODD_ZONES]), text())


def flags() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["y", "on", "1", "true", "", "false", "0", "no"]), text())


def choice(*valid: Any) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from([str(v) for v in valid]), text())


def choices(*valid: Any) -> st.SearchStrategy[list[str]]:
    return st.lists(choice(*valid), max_size=5)


def an_id(*valid: int) -> st.SearchStrategy[str]:
    """A row's id: real ones, and any number (past 2**31 and 2**63 too) or text."""
    return st.one_of(choice(*valid), numbers())


def some_ids(*valid: int) -> st.SearchStrategy[list[str]]:
    return st.lists(an_id(*valid), max_size=4)


def clock_changes(near: date, tz: str = "Asia/Jerusalem") -> list[date]:
    """The days the clocks change in `tz` within about two years of `near`."""
    zone = ZoneInfo(tz)
    days = []
    for n in range(800):
        day = near + timedelta(days=n)
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
        before = datetime(day.year, day.month, day.day, tzinfo=zone)
        if noon.utcoffset() != before.utcoffset():
            days.append(day)
    return days or [near]


def strategy_for(unbound: UnboundField) -> st.SearchStrategy:
    """A field's default strategy, by its type (and its choices when the class fixes them)."""
    kind = unbound.field_class
    static = [
        getattr(c, "value", c[0] if isinstance(c, tuple) else c)
        for c in unbound.kwargs.get("choices") or []
    ]
    if issubclass(kind, BooleanField):
        return flags()
    if issubclass(kind, IntegerField):
        return numbers()
    if issubclass(kind, DateField):
        return dates(date.today())
    if issubclass(kind, TimeField):
        return times()
    if issubclass(kind, EmailField):
        return emails()
    if issubclass(kind, SelectMultipleField):
        return choices(*static) if static else st.lists(text(), max_size=4)
    if issubclass(kind, SelectFieldBase):
        return choice(*static) if static else text()
    return text()


def form_fields(form: type[FlaskForm]) -> dict[str, st.SearchStrategy]:
    """Every field of a form class (CSRF aside), with its default strategy."""
    fields = {}
    for name in dir(form):
        unbound = getattr(form, name, None)
        if isinstance(unbound, UnboundField) and name != "csrf_token":
            fields[name] = strategy_for(unbound)
    return fields


# --- the world -------------------------------------------------------------------------------

TZ = "Asia/Jerusalem"  # the organizations' clock


@dataclass
class World:
    """A small organization with one of everything, as plain ids and tokens (the rows are put
    back between examples, so ORM objects would go stale)."""

    now: datetime
    today: date  # on the organization's clock
    slug: str = "fuzz"
    other_slug: str = "other"
    emails: dict[str, str] = field(default_factory=dict)  # role -> email
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    weeks: tuple[str, str] = ("", "")

    def url(self, pattern: str) -> str:
        return pattern.format(slug=self.slug, **self.ids, **self.tokens)


def build_world() -> World:
    now = factories.now()
    world = World(now=now, today=now.astimezone(ZoneInfo(TZ)).date())
    owner = factories.make_user(email="owner@example.org", name="Owner")
    organizer = factories.make_user(email="organizer@example.org", name="Organizer")
    volunteer = factories.make_user(email="volunteer@example.org", name="Volunteer")
    newcomer = factories.make_user(email="new@example.org", email_confirmed_at=None)
    world.emails = {
        "owner": owner.email,
        "organizer": organizer.email,
        "volunteer": volunteer.email,
    }

    org = factories.make_org(slug=world.slug, owner=owner)
    membership = Membership(organization=org, user=organizer, role=ROLE_ORGANIZER)
    db.session.add(membership)
    db.session.commit()
    other = factories.make_org(slug=world.other_slug, owner=factories.make_user())

    event = factories.make_event(org, capacity=5, starts_in=timedelta(days=5))
    signup = factories.make_signup(event, email="guest@example.org")
    draft = factories.make_event(org, status="draft")
    approval = factories.make_event(org, approval_required=True)
    pending = factories.make_signup(approval, status="pending")
    eight_am = datetime.combine(world.today + timedelta(days=3), time(8), ZoneInfo(TZ))
    shifted = factories.make_event(org, starts_at=eight_am, duration=timedelta(hours=8))
    shift = factories.make_shift(shifted, capacity=3)
    empty_shift = factories.make_shift(shifted)
    shift_signup = factories.make_signup(shifted, shift_id=shift.id)
    series = factories.make_series(org, first=now + timedelta(days=4), created=now, horizon_weeks=3)
    occurrence = series.occurrences[0]
    series_guest = factories.make_signup(occurrence, email="weekly@example.org")
    standing = StandingSignup(series_id=series.id, name="Sam", email="sam@example.org")
    db.session.add(standing)
    db.session.commit()
    asking = factories.make_event(other, pending_cohosts=(org,))
    invitation = orgs.invite(org, volunteer.email, ROLE_ORGANIZER, owner, now)
    endpoint = webhooks.create_endpoint(org, owner, "http://127.0.0.1:9/hook", wh.EVENT_TYPES, now)
    token = api_tokens.create_token(org, owner, "CRM", "read", now)
    subscription = factories.make_subscription(organizations=(org,))
    # "fuzz" is a network too; "umbrella", another network, invited it.
    org.is_network = True
    umbrella = factories.make_org(slug="umbrella", owner=factories.make_user(), is_network=True)
    invited = NetworkMembership(
        network_id=umbrella.id, member_id=org.id, status=nw.NETWORK_INVITED, created_at=now
    )
    db.session.add(invited)
    db.session.commit()

    world.ids = {
        "org": org.id,
        "other_org": other.id,
        "event": event.id,
        "signup": signup.id,
        "draft": draft.id,
        "approval": approval.id,
        "pending": pending.id,
        "shifted": shifted.id,
        "shift": shift.id,
        "empty_shift": empty_shift.id,
        "shift_signup": shift_signup.id,
        "occurrence": occurrence.id,
        "asking": asking.id,
        "membership": membership.id,
        "invitation": invitation.id,
        "endpoint": endpoint.id,
        "api_token": token.token.id,
        "network_row": invited.id,
    }
    world.tokens = {
        "manage": manage_token(signup),
        "manage_shift": manage_token(shift_signup),
        "cant_come": cant_come_token(signup),
        "standing": series_service.standing_token(standing),
        "standing_request": series_service.standing_request_token(series_guest),
        "preferences": subscriptions.link_token(subscriptions.PREFS_PURPOSE, subscription),
        "invitation_token": orgs.invitation_token(invitation),
        "reset": accounts.reset_token(volunteer),
        "confirm": accounts.confirmation_token(newcomer),
        "embed": embed_token(event.id),
        "embed_shifted": embed_token(shifted.id),
        "guest_data": privacy.guest_token(signup.email),
    }
    world.weeks = hl.weeks(org, now)
    return world


# --- the registry ----------------------------------------------------------------------------

Fields = Callable[[World], dict[str, st.SearchStrategy]]
Body = Callable[[World], dict[str, str | list[str]]]


@dataclass(frozen=True)
class Route:
    """How to fuzz one endpoint's form. `role`: anonymous, volunteer (a logged-in user of no
    organization), organizer or owner (of the world's organization "fuzz"); a tuple: one of
    them per example. `url`: one pattern or several (World.url fills {slug}, ids and tokens)."""

    role: str | tuple[str, ...]
    url: str | tuple[str, ...]
    form: type[FlaskForm] | None = None
    fields: Fields = lambda world: {}
    valid: Body = lambda world: {}
    examples: int = 20
    csrf: bool = True  # False: the view is exempt (it checks a token of its own)
    prefix: str = ""  # the form's WTForms prefix: its fields are posted as "prefix-name"

    def strategies(self, world: World) -> dict[str, st.SearchStrategy]:
        derived = form_fields(self.form) if self.form is not None else {}
        return self._named(derived | self.fields(world))

    def body(self, world: World) -> dict:
        return self._named(self.valid(world))

    def _named(self, fields: dict) -> dict:
        return {f"{self.prefix}-{k}" if self.prefix else k: v for k, v in fields.items()}


BUTTON = 8  # examples for a form with no fields but the CSRF token: extra fields only


def _event_fields(world: World) -> dict[str, st.SearchStrategy]:
    return {
        "language": choice(*LANGUAGE_NAMES),
        "kind": choice(*EVENT_KINDS),
        "causes": choices(*CAUSES),
        "region": choice(*REGIONS),
        "start_date": dates(world.today),
        "end_date": dates(world.today),
        "online_url": st.one_of(
            st.sampled_from(
                [
                    "https://meet.example.org/x",
                    "javascript:alert(1)",
                    "http://",
                    "https://[::1",
                    "https://a.example:99999/x",
                    "https://例え.jp/x",
                    "https://user:pw@example.org/x",
                    "HTTPS://EXAMPLE.ORG",
                ]
            ),
            text(),
        ),
        "visibility": choice(ev.VISIBILITY_PUBLIC, ev.VISIBILITY_UNLISTED),
        "location_visibility": choice(ev.LOCATION_PUBLIC, ev.LOCATION_CONFIRMED),
        "reminder_hours": choice("", *REMINDER_HOURS, 1, 168, 169),
        "cohosts": choices(world.other_slug, world.slug),
        "repeat_weekdays": choices(*range(7), 7, -1),
    }


def _event_body(world: World) -> dict:
    day = (world.today + timedelta(days=10)).isoformat()
    return {
        "title": "Vigil for peace",
        "language": "en",
        "description": "Bring *water*.",
        "kind": "rally",
        "causes": ["peace", "equality"],
        "region": "jerusalem",
        "city": "Jerusalem",
        "start_date": day,
        "start_time": "18:00",
        "end_date": day,
        "end_time": "20:00",
        "address": "Paris Square",
        "capacity": "20",
        "waitlist_enabled": "y",
        "visibility": "public",
        "location_visibility": "public",
        "reminder_hours": "24",
        "repeat": "none",
        "repeat_interval": "1",
        "edit_scope": "this",
        "title_he": "משמרת",
        "description_ar": "وقفة",
        "title_ar": "وقفة",
    }


def _preferences_fields(world: World) -> dict[str, st.SearchStrategy]:
    return {
        "organizations": some_ids(world.ids["org"], world.ids["other_org"]),
        "causes": choices(*CAUSES),
        "regions": choices(*REGIONS),
        "locale": choice(*LANGUAGE_NAMES),
        "weekday": choice(*range(7), 7, -1),
        "hour": choice(*range(24), 24),
        "timezone": zones(*COMMON_TIMEZONES),
    }


def _preferences_body(world: World) -> dict:
    return {
        "name": "Dana",
        "organizations": [str(world.ids["org"])],
        "causes": ["peace"],
        "regions": ["galilee"],
        "locale": "ar",
        "weekday": "4",
        "hour": "18",
        "timezone": "Asia/Jerusalem",
        "max_actions": "5",
    }


def _signup_fields(world: World) -> dict[str, st.SearchStrategy]:
    return {
        "email": st.one_of(
            st.sampled_from(["dana@example.org", "DANA@Example.org", "@", "a@b@c.org"]),
            emails(),
        ),
        "phone": st.one_of(st.sampled_from(["+972 50 123 4567", "(02) 123-4567"]), text()),
        "shifts": some_ids(world.ids["shift"], world.ids["empty_shift"], world.ids["event"]),
        "standing": flags(),  # the "every week" box, read by the view itself
    }


def _signup_body(world: World) -> dict:
    return {
        "name": "Dana",
        "email": "dana@example.org",
        "phone": "+972 50 123 4567",
        "shifts": [str(world.ids["shift"])],
        "standing": "y",
    }


def _shift_body(world: World) -> dict:
    """Within the action with shifts: 08:00 to 16:00, three days from now."""
    day = (world.today + timedelta(days=3)).isoformat()
    return {"name": "Loading", "day": day, "start_time": "09:00", "end_time": "12:00"}


def _times_of_shift(world: World) -> dict[str, st.SearchStrategy]:
    """Hours inside the action with shifts (08:00 to 16:00) as often as any others."""
    inside = st.sampled_from([f"{h:02d}:{m:02d}" for h in range(8, 17) for m in (0, 30)])
    return {"start_time": st.one_of(inside, times()), "end_time": st.one_of(inside, times())}


def _org_fields(world: World) -> dict[str, st.SearchStrategy]:
    return {
        "timezone": zones(*COMMON_TIMEZONES, "America/New_York"),
        "default_locale": choice(*LANGUAGE_NAMES),
        "slug": choice(
            "new-movement",
            world.slug,
            "Admin",
            "a",
            "-x-",
            "api",
            "x" * 70,
            "new",
            "mine",
            "invitations",
            "café",
            "שלום",
            "new--movement",
            "a" * 64,
        ),
    }


def _org_body(world: World) -> dict:
    return {
        "slug": "new-movement",
        "name": "New movement",
        "description": "Together.",
        "timezone": "Asia/Jerusalem",
        "default_locale": "he",
    }


def _roles(world: World) -> dict[str, st.SearchStrategy]:
    return {"role": choice(ROLE_ORGANIZER, ROLE_OWNER)}


def _roster_search(world: World) -> dict[str, st.SearchStrategy]:
    """What a roster button sends back besides its value: the search it came from."""
    return {"q": text(), "show": choice("all", "waiting", "on_site", "left")}


def _password_body(world: World) -> dict:
    return {"password": "a new long password", "confirm": "a new long password"}


def _highlight_fields(world: World) -> dict[str, st.SearchStrategy]:
    ids = [world.ids[k] for k in ("event", "draft", "asking", "occurrence")]
    return {
        "event_id": an_id(*ids),
        "week": choice(*world.weeks, "2020-W01", "2027-W99", "2027-W00"),
    }


def _email_of(role: str) -> Fields:
    return lambda world: {
        "email": st.one_of(st.sampled_from([world.emails[role], "x@example.org"]), emails())
    }


FORMS: dict[str, Route] = {
    # --- accounts
    "auth.login": Route(
        "anonymous",
        "/auth/login",
        LoginForm,
        fields=lambda w: (
            _email_of("volunteer")(w)
            | {"password": choice(factories.PASSWORD), "next": choice("/orgs/", "//evil.example")}
        ),
        valid=lambda w: {"email": w.emails["volunteer"], "password": factories.PASSWORD},
    ),
    "auth.register": Route(
        "anonymous",
        "/auth/register",
        RegisterForm,
        fields=lambda w: _email_of("volunteer")(w) | {"next": choice("/orgs/", "https://x.y")},
        valid=lambda w: {
            "name": "Dana",
            "email": "dana@example.org",
            "password": "a long password",
            "confirm": "a long password",
        },
    ),
    "auth.forgot_password": Route(
        "anonymous",
        "/auth/reset",
        ForgotPasswordForm,
        fields=_email_of("volunteer"),
        valid=lambda w: {"email": w.emails["volunteer"]},
    ),
    "auth.reset_password": Route(
        "anonymous", "/auth/reset/{reset}", ResetPasswordForm, valid=_password_body
    ),
    "auth.resend_confirmation": Route(
        ("anonymous", "volunteer"),
        "/auth/confirm/resend",
        ResendConfirmationForm,
        fields=lambda w: {"token": choice(w.tokens["confirm"], w.tokens["reset"])},
        valid=lambda w: {"token": w.tokens["confirm"]},
    ),
    "auth.profile": Route(
        "volunteer",
        "/auth/profile",
        ProfileForm,
        fields=lambda w: {
            "locale": choice(*LANGUAGE_NAMES),
            "timezone": zones(*COMMON_TIMEZONES),
        },
        valid=lambda w: {
            "name": "Dana",
            "phone": "+972 50 123 4567",
            "locale": "he",
            "timezone": "Asia/Hebron",
        },
    ),
    "auth.change_password": Route(
        "volunteer",
        "/auth/password",
        ChangePasswordForm,
        fields=lambda w: {"current_password": choice(factories.PASSWORD)},
        valid=lambda w: {"current_password": factories.PASSWORD} | _password_body(w),
    ),
    "me.create_calendar": Route("volunteer", "/me/calendar", examples=BUTTON),
    "me.reset_calendar": Route("volunteer", "/me/calendar/reset", examples=BUTTON),
    # --- digests
    "digests.subscribe": Route(
        "anonymous",
        "/digest/subscribe",
        SubscribeForm,
        fields=lambda w: (
            _preferences_fields(w)
            | _signup_fields(w)
            | {"org": choice(w.slug, w.other_slug, "nope")}
        ),
        valid=lambda w: _preferences_body(w) | {"email": "dana@example.org", "org": w.slug},
    ),
    "digests.preferences": Route(
        "anonymous",
        "/digest/preferences/{preferences}",
        PreferencesForm,
        fields=_preferences_fields,
        valid=_preferences_body,
    ),
    "digests.mine": Route(
        "volunteer",
        "/digest/mine",
        PreferencesForm,
        fields=_preferences_fields,
        valid=_preferences_body,
    ),
    "digest_manage.add_highlight": Route(
        "organizer",
        "/digest/orgs/{slug}/highlights/add",
        HighlightForm,
        fields=_highlight_fields,
        valid=lambda w: {"event_id": str(w.ids["event"]), "week": w.weeks[0]},
    ),
    "digest_manage.remove_highlight": Route(
        "organizer",
        "/digest/orgs/{slug}/highlights/remove",
        HighlightForm,
        fields=_highlight_fields,
        valid=lambda w: {"event_id": str(w.ids["event"]), "week": w.weeks[1]},
    ),
    # --- actions
    "events.new": Route(
        "organizer",
        ("/events/new?org={slug}",),
        EventForm,
        fields=_event_fields,
        valid=_event_body,
        examples=30,
    ),
    "events.edit": Route(
        "organizer",
        ("/events/{event}/edit", "/events/{occurrence}/edit"),
        EventForm,
        fields=_event_fields,
        valid=_event_body,
        examples=30,
    ),
    "events.cancel": Route(
        "organizer",
        "/events/{event}/cancel",
        CancelForm,
        valid=lambda w: {"message": "Sorry."},
    ),
    "events.publish": Route("organizer", "/events/{draft}/publish", examples=BUTTON),
    "events.delete": Route(
        "organizer", ("/events/{draft}/delete", "/events/{event}/delete"), examples=BUTTON
    ),
    "series.end": Route(
        "organizer",
        "/events/{occurrence}/series/end",
        EndSeriesForm,
        valid=lambda w: {"last_day": (w.today + timedelta(days=8)).isoformat(), "message": "Bye"},
    ),
    # --- sign-ups
    "signups.signup": Route(
        ("anonymous", "volunteer"),
        (
            "/events/{event}/signup",
            "/events/{shifted}/signup",
            "/events/{occurrence}/signup",
            "/events/{approval}/signup",
        ),
        ShiftSignupForm,
        fields=_signup_fields,
        valid=_signup_body,
        examples=30,
    ),
    "embed.signup": Route(
        "anonymous",
        ("/events/{event}/embed", "/events/{shifted}/embed"),
        ShiftSignupForm,
        fields=lambda w: (
            _signup_fields(w)
            | {"embed_token": choice(w.tokens["embed"], w.tokens["embed_shifted"])}
        ),
        valid=lambda w: _signup_body(w) | {"embed_token": w.tokens["embed"]},
        csrf=False,  # framed: its own signed token instead of the session's
    ),
    "signups.cancel": Route(
        "anonymous",
        ("/signups/{manage}/cancel", "/signups/{manage_shift}/cancel"),
        fields=lambda w: {"signup": an_id(w.ids["signup"], w.ids["shift_signup"])},
        examples=12,
    ),
    "reminders.cant_come_confirm": Route(
        "anonymous", "/signups/cant-come/{cant_come}", examples=BUTTON
    ),
    "series.confirm_standing": Route(
        ("anonymous", "volunteer"), "/standing/confirm/{standing_request}", examples=BUTTON
    ),
    "series.stop_standing": Route("anonymous", "/standing/{standing}", examples=BUTTON),
    "signups.message": Route(
        "organizer",
        "/events/{event}/message",
        MessageForm,
        valid=lambda w: {"subject": "Water", "body": "Bring water.\nSee you."},
    ),
    "signups.approve": Route(
        "organizer",
        "/events/{approval}/signups/{pending}/approve",
        fields=_roster_search,
        examples=BUTTON,
    ),
    "signups.decline": Route(
        "organizer",
        "/events/{approval}/signups/{pending}/decline",
        fields=_roster_search,
        examples=BUTTON,
    ),
    "signups.attendance": Route(
        "organizer",
        "/events/{event}/signups/{signup}/attendance",
        AttendanceForm,
        fields=lambda w: _roster_search(w) | {"value": choice("attended", "no_show", "clear")},
        valid=lambda w: {"value": "attended"},
        examples=12,
    ),
    "attendance.checkin_action": Route(
        "organizer",
        ("/events/{event}/checkin/{signup}", "/events/{approval}/checkin/{pending}"),
        CheckinForm,
        fields=lambda w: _roster_search(w) | {"action": choice("in", "out", "back")},
        valid=lambda w: {"action": "in"},
        examples=12,
    ),
    # --- shifts
    "shifts.add": Route(
        "organizer",
        ("/events/{shifted}/shifts", "/events/{event}/shifts"),
        ShiftForm,
        fields=lambda w: {"day": dates(w.today)} | _times_of_shift(w),
        valid=lambda w: {"name": "Loading", "capacity": "3"},  # no times: fits any action
    ),
    "shifts.edit": Route(
        "organizer",
        "/events/{shifted}/shifts/{shift}/edit",
        ShiftForm,
        fields=lambda w: {"day": dates(w.today)} | _times_of_shift(w),
        valid=lambda w: _shift_body(w) | {"capacity": "1"},
    ),
    "shifts.move": Route(
        "organizer",
        "/events/{shifted}/shifts/{shift}/move",
        MoveForm,
        fields=lambda w: {"direction": choice("up", "down")},
        valid=lambda w: {"direction": "down"},
        examples=BUTTON,
    ),
    "shifts.delete": Route(
        "organizer",
        (
            "/events/{shifted}/shifts/{shift}/delete",
            "/events/{shifted}/shifts/{empty_shift}/delete",
        ),
        DeleteShiftForm,
        examples=12,
    ),
    # --- organizations
    "orgs.new": Route(
        "volunteer", "/orgs/new", OrganizationForm, fields=_org_fields, valid=_org_body
    ),
    "orgs.edit": Route(
        "owner", "/orgs/{slug}/edit", OrganizationDetailsForm, fields=_org_fields, valid=_org_body
    ),
    "orgs.invite": Route(
        "owner",
        "/orgs/{slug}/members/invite",
        InviteForm,
        fields=lambda w: _roles(w) | _email_of("organizer")(w),
        valid=lambda w: {"email": "colead@example.org", "role": ROLE_OWNER},
    ),
    "orgs.change_role": Route(
        "owner",
        "/orgs/{slug}/members/{membership}/role",
        RoleForm,
        fields=_roles,
        valid=lambda w: {"role": ROLE_OWNER},
        examples=12,
    ),
    "orgs.remove_member": Route(
        "owner", "/orgs/{slug}/members/{membership}/remove", examples=BUTTON
    ),
    "orgs.revoke_invitation": Route(
        "owner", "/orgs/{slug}/invitations/{invitation}/revoke", examples=BUTTON
    ),
    "orgs.accept_invitation": Route(
        "volunteer", "/orgs/invitations/{invitation_token}", examples=BUTTON
    ),
    "orgs.accept_cohost": Route(
        "organizer", "/orgs/{slug}/cohosting/{asking}/accept", examples=BUTTON
    ),
    "orgs.decline_cohost": Route(
        "organizer", "/orgs/{slug}/cohosting/{asking}/decline", examples=BUTTON
    ),
    "api_tokens.create": Route(
        "owner",
        "/orgs/{slug}/api-tokens",
        TokenForm,
        valid=lambda w: {"name": "CRM sync", "scope": "read_write"},
    ),
    "api_tokens.revoke": Route(
        "owner", "/orgs/{slug}/api-tokens/{api_token}/revoke", examples=BUTTON
    ),
    # --- networks (the world's "fuzz" is a network; "umbrella", another, invited it)
    "networks.invite": Route(
        "owner",
        "/orgs/{slug}/network/invite",
        OrganizationSlugForm,
        fields=lambda w: {"slug": choice(w.other_slug, w.slug, "umbrella", "nope")},
        valid=lambda w: {"slug": w.other_slug},
        prefix="invite",
    ),
    "networks.join": Route(
        "owner",
        "/orgs/{slug}/network/join",
        OrganizationSlugForm,
        fields=lambda w: {"slug": choice("umbrella", w.other_slug, w.slug, "nope")},
        valid=lambda w: {"slug": "umbrella"},
        prefix="join",
    ),
    "networks.accept": Route("owner", "/orgs/{slug}/network/{network_row}/accept", examples=BUTTON),
    "networks.end": Route("owner", "/orgs/{slug}/network/{network_row}/end", examples=BUTTON),
    "networks.enable": Route("owner", "/orgs/{slug}/network/enable", examples=BUTTON),
    "networks.disable": Route("owner", "/orgs/{slug}/network/disable", examples=BUTTON),
    # --- privacy
    "me.delete_account": Route(
        "volunteer",
        "/me/delete",
        DeleteAccountForm,
        fields=lambda w: {"password": choice(factories.PASSWORD)},
        valid=lambda w: {"password": factories.PASSWORD},
        examples=12,
    ),
    "privacy.guest": Route(
        "anonymous",
        "/privacy/guest",
        GuestDataForm,
        fields=lambda w: {"email": _signup_fields(w)["email"]},
        valid=lambda w: {"email": "guest@example.org"},
        examples=12,
    ),
    "privacy.guest_delete": Route(
        "anonymous", "/privacy/guest/{guest_data}/delete", examples=BUTTON
    ),
    # --- webhooks
    "webhooks.create": Route(
        "owner",
        "/orgs/{slug}/webhooks",
        EndpointForm,
        fields=lambda w: {
            "url": st.one_of(
                st.sampled_from(
                    [
                        "http://127.0.0.1:9/hook",
                        "http://localhost:99999/x",
                        "https://[::1]/x",
                        "https://[fe80::1%25eth0]/x",
                        "https://user:pw@example.org/x",
                        "https://example.org/x#frag",
                        "https://exa mple.org/x",
                        "javascript:alert(1)",
                        "https://",
                        "https://xn--/x",
                    ]
                ),
                text(),
            ),
            "events": choices(*wh.EVENT_TYPES),
        },
        valid=lambda w: {"url": "http://127.0.0.1:9/other", "events": list(wh.EVENT_TYPES)},
    ),
    "webhooks.rotate": Route("owner", "/orgs/{slug}/webhooks/{endpoint}/rotate", examples=BUTTON),
    "webhooks.pause": Route("owner", "/orgs/{slug}/webhooks/{endpoint}/pause", examples=BUTTON),
    "webhooks.resume": Route("owner", "/orgs/{slug}/webhooks/{endpoint}/resume", examples=BUTTON),
    "webhooks.ping": Route("owner", "/orgs/{slug}/webhooks/{endpoint}/ping", examples=BUTTON),
    "webhooks.delete": Route("owner", "/orgs/{slug}/webhooks/{endpoint}/delete", examples=BUTTON),
}

# POST routes that are not web forms, each with the reason and where it is tested instead.
SKIPPED: dict[str, str] = {
    # No fields, nothing to refuse: it ends the session (tests/test_auth_login.py).
    "auth.logout": "not a form",
    # RFC 8058 one-click unsubscribe: the mail client posts List-Unsubscribe=One-Click with no
    # session and no CSRF token (tests/test_digest_unsubscribe.py).
    "digests.unsubscribe": "one-click unsubscribe",
    # The JSON API: Schemathesis fuzzes every operation of its OpenAPI document, write
    # operations with a read-write token (tests/test_api_schemathesis.py);
    # test_skipped_api_routes_are_in_the_openapi_document checks each one is documented.
    "api.create_signup": "API",
    "api.create_event": "API",
}


# --- the checks ------------------------------------------------------------------------------


def table_rows() -> dict[str, list[tuple]]:
    """Every committed row of every table, in primary-key order."""
    db.session.rollback()
    rows = {
        table.name: [
            tuple(row)
            for row in db.session.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in db.metadata.sorted_tables
    }
    db.session.rollback()
    return rows


def restore(snapshot: dict[str, list[tuple]], empty_database: bool = False) -> None:
    """Put every table back as it was in `snapshot` (what an accepted example wrote goes).
    `empty_database`: into a database just emptied, whose PostgreSQL sequences start again
    at 1, so they are moved past the ids put back."""
    db.session.rollback()
    tables = db.metadata.sorted_tables
    for table in reversed(tables):
        db.session.execute(table.delete())
    for table in tables:
        names = [column.key for column in table.columns]
        if rows := snapshot[table.name]:
            db.session.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])
    if empty_database and db.engine.dialect.name == "postgresql":
        for table in tables:
            if len(table.primary_key.columns) == 1 and "id" in table.columns:
                db.session.execute(
                    sql(
                        "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                        f'COALESCE(MAX(id), 0) + 1, false) FROM "{table.name}"'
                    ),
                    {"t": f'"{table.name}"'},
                )
    db.session.commit()
    db.session.remove()


_WORLDS: dict[str, tuple[World, dict[str, list[tuple]]]] = {}


def the_world() -> World:
    """The world, built once per database and then put back row for row in each test's fresh
    database (building it through the services takes far longer)."""
    key = db.engine.url.render_as_string()
    if key in _WORLDS:
        restore(_WORLDS[key][1], empty_database=True)
    else:
        world = build_world()
        _WORLDS[key] = (world, table_rows())
    return _WORLDS[key][0]


def differences(before: dict, after: dict) -> dict[str, str]:
    return {
        name: f"{len(before[name])} rows -> {len(after[name])} rows"
        for name in before
        if before[name] != after[name]
    }


def refused(response, flashed: list[tuple[str, str]] = ()) -> bool:
    """A refusal: an error status, the form shown again with fields in error, or a redirect
    with an error message for the next page (`flashed`: what the session holds for it)."""
    if response.status_code >= 400:
        return True
    if response.status_code == 200:
        return b'aria-invalid="true"' in response.data
    return any(category == "error" for category, _message in flashed)


def flashed(client) -> list[tuple[str, str]]:
    """The messages waiting in the session for the next page."""
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class FilePart:
    """A field sent as a file in a multipart body, as a hand-made request can."""

    content: str

    def encoded(self) -> FileStorage:
        content = io.BytesIO(self.content.encode("utf-8", "surrogatepass"))
        return FileStorage(content, filename="upload.txt", content_type="text/plain")


Part = tuple[str, "str | FilePart"]


@st.composite
def bodies(draw, fields: dict[str, st.SearchStrategy], valid: dict) -> list[Part]:
    """A form body: a valid one with a few fields replaced, dropped or sent twice, or every
    field drawn at random (each may be missing); plus a few fields the form does not have,
    and now and then one field sent as a file."""
    names = sorted(fields)
    # Two in three start from the valid body, so examples get past the form to the services.
    if valid and names and draw(st.sampled_from(["valid", "valid", "random"])) == "valid":
        body = {name: as_list(value) for name, value in valid.items()}
        for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
            how = draw(st.sampled_from(["replace", "drop", "twice"]))
            if how == "drop":
                body.pop(name, None)
            elif how == "twice":
                body[name] = as_list(draw(fields[name])) + as_list(draw(fields[name]))
            else:
                body[name] = as_list(draw(fields[name]))
    else:
        drawn = draw(st.fixed_dictionaries({}, optional=fields))
        body = {name: as_list(value) for name, value in drawn.items()}
    extra = draw(
        st.dictionaries(
            st.one_of(
                st.sampled_from(["id", "is_admin", "user_id", "organization_id", "status"]),
                st.text(min_size=1, max_size=8),
            ).filter(lambda key: key != "csrf_token"),
            st.one_of(text(), st.sampled_from([*NASTY, TOO_BIG])),
            max_size=2,
        )
    )
    for name, value in extra.items():
        body.setdefault(name, []).append(value)
    parts: list[Part] = [(name, value) for name, values in body.items() for value in values]
    if parts and draw(st.integers(0, 9)) == 9:
        index = draw(st.integers(0, len(parts) - 1))
        name, value = parts[index]
        parts[index] = (name, FilePart(value))
    return parts


def queries() -> st.SearchStrategy[dict[str, str]]:
    """Query-string parameters the pages read (mostly none)."""
    return st.one_of(
        st.just({}),
        st.dictionaries(
            st.sampled_from(["lang", "next", "org", "q", "page"]), text(), max_size=2
        ).filter(lambda query: query.get("lang") not in LANGUAGE_NAMES),  # a real one saves
    )


def with_query(url: str, query: dict[str, str]) -> str:
    if not query:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(query)


@dataclass
class Browser:
    """One session cookie (and its CSRF token) per role, logged in once per test."""

    cookie_name: str
    sessions: dict[str, tuple[str, str]]

    def become(self, client, role: str, locale: str = "en") -> str:
        """Start the example as `role`, reading `locale` (the language cookie: ?lang= would
        also save it to a user's profile), with nothing else in the cookie jar; its CSRF
        token."""
        for cookie in list(client._cookies.values()):
            client.delete_cookie(cookie.key, domain=cookie.domain, path=cookie.path)
        cookie, token = self.sessions[role]
        client.set_cookie(self.cookie_name, cookie)
        client.set_cookie(LANG_COOKIE, locale)
        return token


def open_sessions(client, world: World, roles: set[str]) -> Browser:
    name = client.application.config["SESSION_COOKIE_NAME"]
    sessions = {}
    for role in sorted(roles):
        for cookie in list(client._cookies.values()):
            client.delete_cookie(cookie.key, domain=cookie.domain, path=cookie.path)
        if role == "anonymous":
            token = csrf_token(client, "/auth/login")
        else:
            login = csrf_token(client, "/auth/login")
            response = client.post(
                "/auth/login",
                data={
                    "email": world.emails[role],
                    "password": factories.PASSWORD,
                    "csrf_token": login,
                },
            )
            assert response.status_code == 302, role
            token = csrf_token(client, "/auth/profile")
        sessions[role] = (client.get_cookie(name).value, token)
    return Browser(name, sessions)


def as_tuple(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def quick_hash(password: str) -> str:
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


@pytest.fixture()
def quick_passwords(monkeypatch):
    """Password hashes that take a millisecond: hundreds of logins are tried here, and what is
    fuzzed is the forms, not the hashing (whose cost stays what it is in production)."""
    monkeypatch.setattr(accounts, "generate_password_hash", quick_hash)
    monkeypatch.setattr(factories, "_password_hash", lambda: quick_hash(factories.PASSWORD))
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()


class Poster:
    """Posts as a role and checks the answer: never a 5xx; a refusal changed no row and sent
    no email. Whatever an accepted post wrote is undone before the next post."""

    def __init__(self, client, mailbox, browser: Browser) -> None:
        self.client, self.mailbox, self.browser = client, mailbox, browser
        self.baseline = table_rows()
        self.dirty = False
        self.answers: Counter = Counter()

    def post(
        self,
        role: str,
        url: str,
        body: list[Part],
        csrf: list[str] | None = None,
        encoding: str = "form",
        locale: str = "en",
    ):
        """`csrf`: the tokens to send (None: the role's valid one). `encoding`: form
        (url-encoded), multipart, or json (the token in the X-CSRFToken header, as a script
        would send it)."""
        if self.dirty:
            restore(self.baseline)
        self.dirty = True
        token = self.browser.become(self.client, role, locale)
        sent = len(self.mailbox.messages)
        tokens = [token] if csrf is None else csrf
        if encoding == "json":
            fields: dict[str, list] = {}
            for name, value in body:
                fields.setdefault(name, []).append(str(value) if isinstance(value, str) else 1)
            document = {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
            headers = {"X-CSRFToken": tokens[0]} if tokens else {}
            response = self.client.post(url, json=document, headers=headers)
        elif encoding == "multipart" or any(isinstance(v, FilePart) for _k, v in body):
            # Encoded here, in memory: the test client would spool a big body to a temporary
            # file that nothing closes.
            parts = [(k, v.encoded() if isinstance(v, FilePart) else v) for k, v in body]
            boundary, payload = encode_multipart(
                MultiDict(parts + [("csrf_token", t) for t in tokens])
            )
            kind = f'multipart/form-data; boundary="{boundary}"'
            response = self.client.post(url, data=payload, content_type=kind)
        else:
            data = MultiDict(body + [("csrf_token", t) for t in tokens])
            response = self.client.post(url, data=data)
        assert response.status_code < 500
        refusal = refused(response, flashed(self.client))
        self.answers[response.status_code, refusal] += 1
        after = table_rows()
        if refusal:
            changed = differences(self.baseline, after)
            assert changed == {}, f"refused with {response.status_code}, yet written"
            assert len(self.mailbox.messages) == sent, "refused, yet an email went out"
        self.dirty = after != self.baseline
        return response


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_form_never_fails_and_a_refusal_writes_nothing(
    app, client, mailbox, quick_passwords, endpoint
):
    route = FORMS[endpoint]
    app.config["WEBHOOKS_INLINE_BUDGET"] = 0  # queued calls stay queued: no network here
    world = the_world()
    roles, urls = as_tuple(route.role), tuple(world.url(u) for u in as_tuple(route.url))
    poster = Poster(client, mailbox, open_sessions(client, world, set(roles)))

    @given(
        role=st.sampled_from(roles),
        url=st.sampled_from(urls),
        query=queries(),
        body=bodies(route.strategies(world), route.body(world)),
        encoding=st.sampled_from(["form"] * 6 + ["multipart", "json"]),
        locale=st.sampled_from(list(LANGUAGE_NAMES)),  # Hebrew and Arabic pages: right to left
    )
    @settings(SETTINGS, max_examples=route.examples * SCALE)
    def check(role, url, query, body, encoding, locale):
        poster.post(role, with_query(url, query), body, encoding=encoding, locale=locale)

    check()

    # The valid body without a valid CSRF token: refused (unless the view checks its own).
    valid = [(name, v) for name, value in route.body(world).items() for v in as_list(value)]
    for tokens in ([], ["forged"], ["forged", browser_token(poster, roles[0])]):
        response = poster.post(roles[0], urls[0], valid, csrf=tokens)
        if route.csrf:
            assert response.status_code == 400, f"accepted with CSRF tokens {tokens}"

    if os.environ.get("FUZZ_REPORT"):  # how far the examples got: (status, refused) -> count
        print(f"\n{endpoint}: {dict(sorted(poster.answers.items()))}")


def browser_token(poster: Poster, role: str) -> str:
    return poster.browser.sessions[role][1]


# --- the registry stays complete -------------------------------------------------------------


def _post_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}


def test_every_post_route_is_fuzzed_or_skipped(app):
    posts = _post_endpoints(app)
    missing = posts - set(FORMS) - set(SKIPPED)
    assert missing == set(), "new form routes: add each to FORMS (or, not a form, to SKIPPED)"
    assert set(FORMS) & set(SKIPPED) == set()
    assert (set(FORMS) | set(SKIPPED)) - posts == set(), "entries for routes that are gone"


def test_skipped_api_routes_are_in_the_openapi_document(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED and rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            assert "post" in paths.get(path, {}), f"{rule.endpoint} is not in the OpenAPI document"


def test_every_entry_names_real_fields_and_urls(app):
    """A valid body only has fields that are fuzzed too (a typo there would go unnoticed),
    and every URL pattern fills in from the world."""
    world = build_world()
    for endpoint, route in FORMS.items():
        assert set(route.body(world)) <= set(route.strategies(world)), endpoint
        for pattern in as_tuple(route.url):
            assert "{" not in world.url(pattern), endpoint


# --- what the fuzzing found: plain regression tests ------------------------------------------


def test_a_field_sent_as_a_file_is_refused_with_400(app, post_form):
    """A multipart body with a file where a text field goes used to reach WTForms' Length check
    as an upload object: TypeError, a 500. No form takes a file: 400, nothing written."""
    data = {
        "name": (io.BytesIO(b"Dana"), "name.txt"),
        "email": "dana@example.org",
        "password": "a long password",
        "confirm": "a long password",
    }
    response = post_form("/auth/register", data)
    assert response.status_code == 400
    assert accounts.find_user_by_email("dana@example.org") is None


def test_a_json_body_to_a_form_is_refused_with_400(app, client):
    """Flask-WTF hands a JSON body to the form as is: a number where the name goes failed its
    Length check with a TypeError, a 500 (the CSRF token travels in a header). The forms read
    form bodies only: 400, nothing written."""
    token = csrf_token(client, "/auth/register")
    body = {"name": 5, "email": "dana@example.org", "password": "a long password"}
    response = client.post(
        "/auth/register", json=body | {"confirm": "a long password"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 400
    assert accounts.find_user_by_email("dana@example.org") is None
    response = client.post("/auth/register", json=[1, 2], headers={"X-CSRFToken": token})
    assert response.status_code == 400
