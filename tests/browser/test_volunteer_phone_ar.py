"""A volunteer on a small phone, in Arabic, finds an action, signs up as a guest and is told so,
on the page and by email; no page scrolls sideways at 360 px."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .. import factories
from ..helpers import text_part
from .conftest import PHONE, no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TITLE = "قطف الزيتون مع العائلات في بورين"
SEARCH_WORD = "الزيتون"
ADDRESS = "ساحة المجلس القروي، بورين"
EMAIL = "lina.haddad@example.org"


@pytest.fixture(scope="module")
def action_id(live_server) -> int:
    with live_server.db():
        org = factories.make_org(name="طريق مشترك", slug="common-road")
        # Words that say nothing of olives, so only the searched-for action matches.
        factories.make_event(org, title="وقفة الجمعة في ساحة باريس", starts_in=timedelta(days=2))
        factories.make_event(org, title="Dialogue circle in Jaffa", starts_in=timedelta(days=4))
        event = factories.make_event(
            org,
            title=TITLE,
            language="ar",
            kind="community_service",
            region="west_bank",
            city="نابلس",
            address=ADDRESS,
            capacity=20,
            starts_in=timedelta(days=6),
            description_md="نعمل مع العائلات **طوال اليوم**. أحضروا قفازات وماءً.",
        )
        return event.id


def test_guest_signs_up_from_a_phone_in_arabic(live_server, action_id, new_context, mailbox):
    tr = lambda message, **values: live_server.tr("ar", message, **values)  # noqa: E731
    page = new_context("ar", **PHONE).new_page()

    # The list of actions, in Arabic and right to left.
    page.goto(f"{live_server.url}/events/?lang=ar")
    assert page.locator("html[lang=ar][dir=rtl]").count() == 1
    assert page.get_by_role("heading", level=1).inner_text() == tr("Find an action")
    assert page.locator("ul.cards > li").count() == 3
    no_horizontal_scroll(page)

    # Search for it: one card left.
    page.get_by_role("searchbox", name=tr("Search")).fill(SEARCH_WORD)
    page.get_by_role("button", name=tr("Show actions")).tap()
    page.wait_for_url("**/events/?q=*")
    cards = page.locator("ul.cards > li")
    assert cards.count() == 1
    assert cards.get_by_role("link", name=TITLE).count() == 1
    no_horizontal_scroll(page)

    # The action's page.
    cards.get_by_role("link", name=TITLE).tap()
    page.wait_for_url(f"**/events/{action_id}")
    assert page.get_by_role("heading", level=1).inner_text() == TITLE
    box = page.locator("#signup")
    # 20 takes Arabic's "many" plural form (11 to 99).
    places_left = live_server.ntr("ar", "%(num)d place left", "%(num)d places left", 20)
    assert box.locator(".badge.ok").inner_text() == places_left
    no_horizontal_scroll(page)

    # The guest sign-up form, in the action's sign-up box.
    assert box.get_by_role("heading", level=2).inner_text() == tr("Join this action")
    box.get_by_label(tr("Your name")).fill("لينا حداد")
    box.get_by_label(tr("Email"), exact=False).first.fill(EMAIL)
    box.get_by_role("button", name=tr("Sign up")).tap()
    page.wait_for_url(f"**/events/{action_id}/signup")

    # The confirmation, in Arabic.
    assert page.locator("html[lang=ar][dir=rtl]").count() == 1
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == tr("You're signed up!")
    assert heading.inner_text() != "You're signed up!"  # translated, not English left in place
    assert page.get_by_text(tr("Your place at this action is confirmed.")).is_visible()
    assert page.get_by_role("heading", level=2).inner_text() == TITLE
    no_horizontal_scroll(page)

    # The email reached the SMTP server, in Arabic, with the meeting point.
    messages = [m for m in mailbox.wait_for(1) if EMAIL in m["To"]]
    assert len(messages) == 1
    message = messages[0]
    # .strip(): the long Arabic subject is folded before its first encoded word.
    assert message["Subject"].strip() == tr("You're signed up: %(title)s", title=TITLE)
    assert ADDRESS in text_part(message)
