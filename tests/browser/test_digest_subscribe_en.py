"""The weekly digest, in English: subscribe with preferences, confirm from the emailed link, and
find those preferences saved."""

from __future__ import annotations

import re

import pytest

from .. import factories
from ..helpers import text_part
from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

EMAIL = "sam.cohen@example.org"


@pytest.fixture(scope="module")
def organizations(live_server) -> None:
    with live_server.db():
        factories.make_org(slug="common-road", name="Common Road")
        factories.make_org(slug="sumud-fields", name="Sumud Fields")


def test_subscribe_and_confirm(live_server, organizations, new_context, mailbox):
    page = new_context("en", **DESKTOP).new_page()
    page.goto(f"{live_server.url}/digest/subscribe?lang=en")
    assert page.locator("html[lang=en][dir=ltr]").count() == 1
    form = page.locator("main form")
    form.get_by_role("textbox", name="Email", exact=True).fill(EMAIL)
    form.get_by_label("Your name (optional)").fill("Sam Cohen")
    form.get_by_role("group", name="Organizations to follow").get_by_label("Sumud Fields").check()
    form.get_by_role("group", name="Causes").get_by_label("Nonviolence").check()
    form.get_by_role("group", name="Regions").get_by_label("West Bank").check()
    form.get_by_label("Day", exact=True).select_option(label="Friday")
    form.get_by_label("Hour", exact=True).select_option(label="18:00")
    form.get_by_label("Actions per email").fill("5")
    form.get_by_role("button", name="Subscribe").click()

    page.wait_for_url("**/digest/subscribe/sent")
    assert page.get_by_role("heading", level=1).inner_text() == "Check your inbox"

    # The confirmation email, with its link back to this server.
    messages = [m for m in mailbox.wait_for(1) if EMAIL in m["To"]]
    assert len(messages) == 1
    links = re.findall(re.escape(live_server.url) + r"/digest/confirm/\S+", text_part(messages[0]))
    assert len(links) == 1

    # Opened in the browser: subscribed.
    page.goto(links[0])
    assert page.get_by_role("heading", level=1).inner_text() == "You are subscribed"
    assert page.get_by_text("Thank you for confirming.").is_visible()

    # Its preferences page shows what was chosen.
    page.get_by_role("link", name="Change your preferences").click()
    page.wait_for_url("**/digest/preferences/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Your weekly digest"
    assert EMAIL in page.locator("main").inner_text()
    assert page.get_by_label("Sumud Fields").is_checked()
    assert not page.get_by_label("Common Road").is_checked()
    assert page.get_by_label("Nonviolence").is_checked()
    assert page.get_by_label("West Bank").is_checked()
    assert not page.get_by_label("Jerusalem").is_checked()
    assert page.get_by_label("Day", exact=True).input_value() == "4"  # Friday, counted from Monday
    assert page.get_by_label("Hour", exact=True).input_value() == "18"
    assert page.get_by_label("Actions per email").input_value() == "5"
