"""Keyboard users: the skip link is the first Tab stop and moves focus to <main>; every focused
control shows a visible focus ring, left to right and right to left."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .. import factories
from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
    text: (el.innerText || el.value || '').trim().slice(0, 40),
    outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
    shadow: style.boxShadow, inMain: document.querySelector('main').contains(el),
    left: box.left, right: box.right, top: box.top, bottom: box.bottom,
  };
}"""


@pytest.fixture(scope="module")
def actions(live_server) -> None:
    with live_server.db():
        org = factories.make_org(name="Common Road")
        for days in (2, 5):
            factories.make_event(org, starts_in=timedelta(days=days))


def _has_visible_focus(focused: dict) -> bool:
    ring = focused["outline"] != "none" and focused["outlineWidth"] >= 2
    return ring or focused["shadow"] != "none"


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_skip_link_and_visible_focus(live_server, actions, new_context, lang):
    page = new_context(lang, **DESKTOP).new_page()
    page.goto(f"{live_server.url}/events/?lang={lang}")

    # The first Tab stop: the skip link, on screen and with a focus ring.
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUSED)
    assert "skip-link" in focused["cls"], focused
    assert focused["text"] == live_server.tr(lang, "Skip to content")
    width = DESKTOP["viewport"]["width"]
    assert 0 <= focused["left"] and focused["right"] <= width and focused["top"] >= 0, focused
    assert _has_visible_focus(focused), focused

    # Enter follows it: focus is on <main>, and the next Tab stop is the first control in it.
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.evaluate("document.activeElement.tagName") == "MAIN"
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUSED)
    assert focused["inMain"] and focused["id"] == "f-q", focused

    # Every Tab stop in the page's content shows where the focus is.
    seen = []
    while focused["inMain"] and len(seen) < 40:
        assert _has_visible_focus(focused), f"no visible focus on {focused}"
        seen.append((focused["tag"], focused["text"], focused["left"], focused["top"]))
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
    assert len(set(seen)) == len(seen), seen  # focus moved on each time, never stuck
    tags = [tag for tag, *_ in seen]
    assert {"input", "button", "summary", "a"} <= set(tags), seen
