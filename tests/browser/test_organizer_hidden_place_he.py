"""An organizer, in Hebrew, posts an action whose meeting point only confirmed volunteers see;
a visitor in another browser sees the city and nowhere the address, not even in the HTML."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from .. import factories
from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ORGANIZER = "noa.barlev@example.org"
TITLE = "מעגל הקשבה: הורים יהודים וערבים בחיפה"
CITY = "חיפה"
ADDRESS = "רחוב הגפן 12, דירה 4, הדלת הירוקה"
STREET = "הגפן"


@pytest.fixture(scope="module")
def organizer(live_server) -> str:
    with live_server.db():
        user = factories.make_user(email=ORGANIZER, name="נועה בר-לב", locale="he")
        factories.make_org(slug="common-road", name="דרך משותפת", owner=user)
    return ORGANIZER


def test_hidden_meeting_point_stays_hidden(live_server, organizer, new_context):
    tr = lambda message, **values: live_server.tr("he", message, **values)  # noqa: E731
    page = new_context("he", **DESKTOP).new_page()

    # Log in, in Hebrew.
    page.goto(f"{live_server.url}/auth/login?lang=he")
    assert page.locator("html[lang=he][dir=rtl]").count() == 1
    page.get_by_label(tr("Email")).fill(organizer)
    page.get_by_label(tr("Password")).fill(factories.PASSWORD)
    page.locator("main").get_by_role("button", name=tr("Log in")).click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_text(tr("You are logged in.")).is_visible()

    # Post the action: its only organization is chosen for the organizer.
    page.goto(f"{live_server.url}/events/new")
    page.wait_for_url("**/events/new?org=common-road")
    assert page.get_by_role("heading", level=1).inner_text() == tr("Post a new action")
    start = datetime.now(ZoneInfo("Asia/Jerusalem")).date() + timedelta(days=7)
    page.locator("#title").fill(TITLE)
    page.get_by_label(tr("Language of the title")).select_option("he")
    page.get_by_label(tr("Kind of action")).select_option(label=tr("Community service"))
    page.locator("#description").fill("נשב במעגל, **נקשיב** ונדבר בעברית ובערבית.")
    page.get_by_label(tr("Region")).select_option(label=tr("Haifa and the North"))
    page.get_by_label(tr("City, town or village")).fill(CITY)
    page.get_by_label(tr("Start date")).fill(start.isoformat())
    page.get_by_label(tr("Start time")).fill("18:30")
    page.get_by_label(tr("End date")).fill(start.isoformat())
    page.get_by_label(tr("End time")).fill("20:30")
    page.get_by_label(tr("Address or meeting point")).fill(ADDRESS)
    page.get_by_label(tr("Only confirmed volunteers (the public sees the city)")).check()
    page.get_by_role("spinbutton", name=tr("Places")).fill("15")
    page.get_by_role("button", name=tr("Save draft")).click()
    page.wait_for_url(re.compile(r"/events/\d+$"))
    assert page.get_by_text(
        tr("Saved as a draft. Check it, then publish it when you're ready.")
    ).is_visible()
    action_url = page.url

    # The organizer sees the address, marked as hidden from the public; then publishes.
    facts = page.locator(".event-facts")
    assert facts.get_by_text(ADDRESS).is_visible()
    hidden_note = tr("Hidden from the public: only confirmed volunteers see this.")
    assert facts.get_by_text(hidden_note).is_visible()
    page.get_by_role("button", name=tr("Publish")).click()
    page.wait_for_url(action_url)
    assert page.get_by_text(tr("Published. Share the link so volunteers can find it!")).is_visible()

    # A visitor, in a browser of their own: the city, never the address.
    visitor = new_context("he", **DESKTOP).new_page()
    response = visitor.goto(action_url)
    assert response is not None and response.status == 200
    source = response.text()
    assert TITLE in source  # the right page, published
    assert ADDRESS not in source and STREET not in source
    assert ADDRESS not in visitor.content() and STREET not in visitor.content()
    assert visitor.get_by_role("heading", level=1).inner_text() == TITLE
    where = visitor.locator(".event-facts dd").nth(1)
    assert CITY in where.inner_text()
    assert where.get_by_text(tr("Exact place shared with confirmed volunteers")).is_visible()

    # Nor in the list, nor can the address be found by searching for it.
    listing = visitor.goto(f"{live_server.url}/events/")
    assert listing is not None and TITLE in listing.text() and STREET not in listing.text()
    visitor.goto(f"{live_server.url}/events/?q={STREET}")
    assert visitor.locator("ul.cards > li").count() == 0
