"""axe-core finds no serious or critical WCAG 2.1 A/AA violation on the main pages, in English,
Hebrew and Arabic, on the demo data (long Hebrew and Arabic titles, hidden places, rosters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.models import Event, Signup, User
from organizer.seed import DEMO_PASSWORD, seed

from .conftest import DESKTOP, axe_violations, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LANGUAGES = ("en", "he", "ar")


@dataclass
class Demo:
    action_id: int  # open to guests, places left
    roster_id: int  # with confirmed and pending volunteers
    drive_id: int  # an aid drive with shifts, one of them full
    vigil_id: int  # a date of a weekly series, with the "every week" choice
    organizer_state: dict  # cookies of a logged-in site administrator


def _upcoming_public() -> list[Event]:
    now = datetime.now(UTC)
    return list(
        db.session.scalars(
            select(Event)
            .where(
                Event.status == "published",
                Event.visibility == "public",
                Event.starts_at > now,
            )
            .order_by(Event.starts_at)
        )
    )


def _statuses(event: Event) -> set[str]:
    return set(db.session.scalars(select(Signup.status).where(Signup.event_id == event.id)))


@pytest.fixture(scope="module")
def demo(live_server, browser) -> Demo:
    with live_server.db():
        seed()
        events = _upcoming_public()
        action = next(
            e
            for e in events
            if not e.approval_required and not e.is_online and e.capacity and e.capacity > 20
        )
        roster = next(e for e in events if {"confirmed", "pending"} <= _statuses(e))
        drive = next(e for e in events if e.shifts)
        vigil = next(e for e in events if e.series_id is not None)
        admin_email = db.session.scalar(select(User.email).where(User.is_admin.is_(True)))
        action_id, roster_id, drive_id, vigil_id = action.id, roster.id, drive.id, vigil.id

    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/auth/login?lang=en")
    page.fill("input[name=email]", admin_email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")
    state = context.storage_state()
    context.close()
    return Demo(action_id, roster_id, drive_id, vigil_id, organizer_state=state)


PAGES = {
    "home": lambda d: "/",
    "events": lambda d: "/events/",
    "action": lambda d: f"/events/{d.action_id}",
    "signup": lambda d: f"/events/{d.action_id}/signup",
    "subscribe": lambda d: "/digest/subscribe",
    "login": lambda d: "/auth/login",
    "roster": lambda d: f"/events/{d.roster_id}/roster",
    "shifts": lambda d: f"/events/{d.drive_id}",
    "series": lambda d: f"/events/{d.vigil_id}",
    "checkin": lambda d: f"/events/{d.drive_id}/checkin",
    "embed": lambda d: f"/events/{d.action_id}/embed",
    "embed_shifts": lambda d: f"/events/{d.drive_id}/embed",
    "network": lambda d: "/orgs/shared-future",
    "network_manage": lambda d: "/orgs/common-road/network",
    "dashboard": lambda d: "/orgs/common-road/dashboard",
    "network_dashboard": lambda d: "/orgs/shared-future/network/dashboard",
    "audit": lambda d: "/orgs/common-road/audit",
    "my_data": lambda d: "/me/data",
    "guest_data": lambda d: "/privacy/guest",
    "api_docs": lambda d: "/api/v1/docs",
    "api_tokens": lambda d: "/orgs/common-road/api-tokens",
    "webhooks": lambda d: "/orgs/common-road/webhooks",
}
ORGANIZER_PAGES = {
    "roster",
    "checkin",
    "network_manage",
    "dashboard",
    "network_dashboard",
    "audit",
    "my_data",
    "api_tokens",
    "webhooks",
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_no_serious_axe_violations(live_server, demo, new_context, name, lang):
    options = {"storage_state": demo.organizer_state} if name in ORGANIZER_PAGES else {}
    # bypass_csp: the app's Content-Security-Policy rightly refuses the injected axe script.
    page = new_context(lang, bypass_csp=True, **DESKTOP, **options).new_page()
    url = f"{live_server.url}{PAGES[name](demo)}?lang={lang}"
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert page.locator("html").get_attribute("lang") == lang
    if name == "roster":  # the organizer's page itself, with its volunteers, not a redirect
        assert page.locator("table.roster tbody tr").count() >= 2

    violations = axe_violations(page)

    assert not violations, describe_violations(url, violations)
