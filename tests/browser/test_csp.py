"""The Content-Security-Policy holds in a real browser: Chromium reports no violation (no inline
script, handler or style the policy refuses) on the pages volunteers and organizers use, and
an injected inline script really does not run."""

from __future__ import annotations

import pytest

from .. import factories
from .conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Collects every violation the page reports, from before its first script runs.
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def site(live_server) -> dict:
    with live_server.db():
        owner = factories.make_user(email="owner@example.org")
        org = factories.make_org(slug="circle", name="Common Road", owner=owner)
        event = factories.make_event(org, title="Vigil", description_md="**Bring** water")
        factories.make_signup(event, "confirmed", name="Dana")
        shifted = factories.make_event(org, title="Harvest")
        factories.make_shift(shifted, name="Morning", capacity=4)
        return {"email": owner.email, "event": event.id, "shifted": shifted.id}


def _open(page, url: str) -> list[str]:
    messages: list[str] = []
    page.on(
        "console",
        lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None,
    )
    response = page.goto(url)
    page.wait_for_load_state("load")
    assert response.url == url, f"{url} redirected to {response.url}"
    return messages + page.evaluate("window.__cspViolations")


def _context(new_context, lang: str, **options):
    context = new_context(lang, **options)
    context.add_init_script(WATCH)
    return context


@pytest.mark.parametrize("lang", ["en", "he"])
def test_public_pages_raise_no_csp_violation(live_server, site, new_context, lang):
    page = _context(new_context, lang, **PHONE).new_page()
    paths = [
        "/",
        "/events/",
        f"/events/{site['event']}",
        f"/events/{site['shifted']}",
        f"/events/{site['event']}/embed",
        "/orgs/circle",
        "/auth/login",
        "/auth/register",
        "/digest/subscribe",
    ]
    problems = {}
    for path in paths:
        found = _open(page, f"{live_server.url}{path}?lang={lang}")
        if found:
            problems[path] = found
    assert problems == {}


def test_organizer_pages_raise_no_csp_violation(live_server, site, new_context):
    page = _context(new_context, "en", **DESKTOP).new_page()
    page.goto(f"{live_server.url}/auth/login")
    page.fill("input[name=email]", site["email"])
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("load")
    paths = [
        f"/events/{site['event']}/roster",
        f"/events/{site['event']}/edit",
        f"/events/{site['shifted']}/shifts",
        "/orgs/circle/manage",
        "/orgs/circle/edit",
        "/auth/profile",
    ]
    problems = {}
    for path in paths:
        found = _open(page, f"{live_server.url}{path}")
        if found:
            problems[path] = found
    assert problems == {}


def test_an_injected_inline_script_does_not_run(live_server, site, new_context):
    page = _context(new_context, "en", **DESKTOP).new_page()
    _open(page, f"{live_server.url}/events/{site['event']}")
    ran = page.evaluate(
        """() => new Promise((resolve) => {
            window.__ran = false;
            const s = document.createElement('script');
            s.textContent = 'window.__ran = true';
            document.body.appendChild(s);
            const b = document.createElement('button');
            b.setAttribute('onclick', 'window.__ran = true');
            document.body.appendChild(b);
            b.click();
            setTimeout(() => resolve(window.__ran), 100);
        })"""
    )
    assert ran is False
    assert any("script-src" in v for v in page.evaluate("window.__cspViolations"))
