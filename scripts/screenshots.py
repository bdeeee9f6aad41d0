"""Screenshots for the README: run against a server started with `make run` (demo data loaded).

.venv/bin/python scripts/screenshots.py [http://127.0.0.1:5000 [OUTPUT_DIR]]

The main pages (home, the list, an action, the sign-up confirmation, the digest's subscribe
form, the login page, an organizer's roster) in English, Hebrew and Arabic, on a desktop 1280
wide and on a 360×740 phone, saved under docs/screenshots/ as `<page>-<lang>.png` and
`<page>-<lang>-phone.png` (`home-he.png`, `events-ar-phone.png`), and the organizers' digest
highlights as `highlights.png`. Each run signs a guest up once per language and device.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000").rstrip("/")
ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_PASSWORD = "organize-demo-2026"  # noqa: S105 - the published demo password
ADMIN = "admin@demo.organizer"  # a site administrator sees every roster

LANGUAGES = {"en": "en-US", "he": "he-IL", "ar": "ar"}
DEVICES = {
    "": {"viewport": {"width": 1280, "height": 900}},
    "-phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
}
GUESTS = {"en": "Lina Haddad", "he": "נועה לוי", "ar": "لينا حداد"}


def shot(page: Page, name: str, lang: str, device: str, full_page: bool = True) -> None:
    path = OUT / f"{name}-{lang}{device}.png"
    page.screenshot(path=path, full_page=full_page)
    print(f"  {path.name}")


def open_action_id(page: Page) -> str:
    """An upcoming action in person that a guest can join at once (places left, no approval)."""
    page.goto(f"{BASE}/events/?online=0&lang=en")
    links = page.locator("ul.cards a[href^='/events/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    for href in dict.fromkeys(h for h in links if re.fullmatch(r"/events/\d+", h)):
        page.goto(f"{BASE}{href}?lang=en")
        box = page.locator(".signup-box")
        joinable = box.locator("form input[name='email']").count() > 0
        if joinable and box.locator(".badge.ok").count() and not box.locator(".badge.warn").count():
            return href.rsplit("/", 1)[1]
    raise SystemExit("No open action in person found: is the demo data loaded (`make run`)?")


def log_in(page: Page, email: str) -> None:
    page.goto(f"{BASE}/auth/login?lang=en")
    page.fill("input[name='email']", email)
    page.fill("input[name='password']", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    if "/auth/login" in page.url:
        raise SystemExit(f"Could not log in as {email}: is the demo data loaded?")


def visitor_pages(browser: Browser, action: str, lang: str, device: str) -> None:
    context = browser.new_context(locale=LANGUAGES[lang], **DEVICES[device])
    page = context.new_page()
    phone = bool(device)
    page.goto(f"{BASE}/?lang={lang}")
    shot(page, "home", lang, device, full_page=not phone)
    page.goto(f"{BASE}/events/?lang={lang}")
    shot(page, "events", lang, device, full_page=False)
    page.goto(f"{BASE}/events/{action}?lang={lang}")
    shot(page, "event", lang, device)

    form = page.locator(".signup-box form")
    form.locator("input[name='name']").fill(GUESTS[lang])
    form.locator("input[name='email']").fill(f"guest.{lang}{device}.{int(time.time())}@example.org")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    shot(page, "signup-done", lang, device)

    page.goto(f"{BASE}/digest/subscribe?lang={lang}")
    shot(page, "subscribe", lang, device)
    page.goto(f"{BASE}/auth/login?lang={lang}")
    shot(page, "login", lang, device)
    context.close()


def organizer_pages(browser: Browser, action: str, device: str) -> None:
    context = browser.new_context(**DEVICES[device])
    page = context.new_page()
    log_in(page, ADMIN)
    for lang in LANGUAGES:
        page.goto(f"{BASE}/events/{action}/roster?lang={lang}")
        shot(page, "roster", lang, device)
    if not device:
        page.goto(f"{BASE}/digest/orgs/common-road/highlights?lang=en")
        page.screenshot(path=OUT / "highlights.png", full_page=True)
        print("  highlights.png")
    page.goto(f"{BASE}/?lang=en")  # ?lang= went into the admin's profile: back to English
    context.close()


def find_action(page: Page, query: str) -> str:
    """The first upcoming action the list finds for `query`."""
    page.goto(f"{BASE}/events/?q={query}&lang=en")
    href = page.locator("ul.cards a[href^='/events/']").first.get_attribute("href")
    if not href:
        raise SystemExit(f"No action found for {query!r}: is the demo data loaded?")
    return href.rsplit("/", 1)[1]


def recurring_and_shift_pages(browser: Browser) -> None:
    """An aid drive with shifts, a weekly vigil with its "every week" sign-up, and an
    organizer's check-in page on a phone."""
    context = browser.new_context()
    page = context.new_page()
    drive = find_action(page, "Lod")
    vigil = find_action(page, "הגיע הזמן להסכם")
    context.close()
    for lang, device in (("en", ""), ("ar", "-phone"), ("he", "-phone")):
        context = browser.new_context(locale=LANGUAGES[lang], **DEVICES[device])
        page = context.new_page()
        page.goto(f"{BASE}/events/{drive}?lang={lang}")
        shot(page, "shifts", lang, device)
        page.goto(f"{BASE}/events/{vigil}?lang={lang}")
        shot(page, "series", lang, device)
        context.close()
    context = browser.new_context(**DEVICES["-phone"])
    page = context.new_page()
    log_in(page, ADMIN)
    for lang in LANGUAGES:
        page.goto(f"{BASE}/events/{drive}/checkin?lang={lang}")
        shot(page, "checkin", lang, "-phone")
    page.goto(f"{BASE}/?lang=en")
    context.close()


def integration_pages(browser: Browser, action: str) -> None:
    """What connects other tools: the API's documentation, an owner's API tokens and webhooks
    pages, and the embeddable sign-up as another site frames it."""
    context = browser.new_context(**DEVICES[""])
    page = context.new_page()
    page.goto(f"{BASE}/api/v1/docs?lang=en")
    shot(page, "api-docs", "en", "", full_page=False)
    log_in(page, "noa@demo.organizer")  # an owner of Common Road
    page.goto(f"{BASE}/orgs/common-road/api-tokens?lang=en")
    if not page.locator("table").count():
        page.fill("input[name='name']", "Volunteer spreadsheet")
        page.locator("form button[type='submit']").last.click()
    shot(page, "api-tokens", "en", "")
    page.goto(f"{BASE}/orgs/common-road/webhooks?lang=en")
    if not page.locator("table").count():
        page.fill("input[name='url']", "http://127.0.0.1:9/hooks/organizer")
        page.locator("form button[type='submit']").last.click()
    page.goto(f"{BASE}/orgs/common-road/webhooks?lang=en")
    page.locator("table a").first.click()
    page.wait_for_timeout(500)
    shot(page, "webhook", "en", "")
    page.goto(f"{BASE}/?lang=en")
    context.close()
    for lang, device in (("en", ""), ("ar", "-phone"), ("he", "-phone")):
        context = browser.new_context(locale=LANGUAGES[lang], **DEVICES[device])
        page = context.new_page()
        host_page = (  # a partner site framing the sign-up, as the snippet does
            '<!doctype html><meta name="viewport" content="width=device-width">'
            '<body style="margin:1rem;font-family:sans-serif"><h1>A movement\'s own site</h1>'
            f'<iframe src="{BASE}/events/{action}/embed?lang={lang}" title="Sign up" '
            'style="width:100%;max-width:640px;height:680px;border:1px solid #ccc"></iframe>'
        )
        with partner_site(host_page) as url:
            page.goto(url)
        page.wait_for_load_state("networkidle")
        shot(page, "embed", lang, device)
        context.close()


def dashboard_pages(browser: Browser) -> None:
    """An organization's dashboard (the demo's past weeks), in English and in Arabic, mirrored."""
    for lang in ("en", "ar"):
        context = browser.new_context(locale=LANGUAGES[lang], **DEVICES[""])
        page = context.new_page()
        log_in(page, "noa@demo.organizer")  # an owner of Common Road
        page.goto(f"{BASE}/orgs/common-road/dashboard?lang={lang}")
        shot(page, "dashboard", lang, "")
        page.goto(f"{BASE}/?lang=en")  # leave the account's language as it was
        context.close()


@contextmanager
def partner_site(html: str) -> Iterator[str]:
    """Another site (another port, named "localhost") serving `html`: Chromium lets a page on
    this machine frame another one here, not a page the browser made up itself."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()


GROUPS = ("visitor", "organizer", "recurring", "integrations", "dashboard")


def main() -> None:
    """SCREENSHOTS=integrations,recurring (say) takes only those groups; all by default."""
    import os

    groups = set(filter(None, os.environ.get("SCREENSHOTS", ",".join(GROUPS)).split(",")))
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        finder = browser.new_context()
        action = open_action_id(finder.new_page())
        finder.close()
        print(f"Action {action}; writing to {OUT}")
        for device in DEVICES:
            for lang in LANGUAGES:
                if "visitor" in groups:
                    visitor_pages(browser, action, lang, device)
            if "organizer" in groups:
                organizer_pages(browser, action, device)
        if "recurring" in groups:
            recurring_and_shift_pages(browser)
        if "integrations" in groups:
            integration_pages(browser, action)
        if "dashboard" in groups:
            dashboard_pages(browser)
        browser.close()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main()
