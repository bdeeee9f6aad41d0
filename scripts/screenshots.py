"""Screenshots for the README: run against a server started with `make run` (demo data loaded).

.venv/bin/python scripts/screenshots.py [http://127.0.0.1:5000]
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_PASSWORD = "organize-demo-2026"  # noqa: S105 - the published demo password


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = desktop.new_page()
        page.goto(f"{BASE}/?lang=en")
        page.screenshot(path=OUT / "home.png", full_page=True)
        page.goto(f"{BASE}/events/")
        page.screenshot(path=OUT / "events.png")

        # An action with places left, for the detail page and a guest sign-up.
        page.goto(f"{BASE}/events/?online=0")
        links = page.locator("a[href^='/events/']").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
        ids = [h for h in links if re.fullmatch(r"/events/\d+", h)]
        for href in ids:
            page.goto(BASE + href)
            form = page.locator("form[action$='/signup'] input[name='email']")
            open_places = page.locator(".signup-box, aside").get_by_text("places left").count()
            if form.count() and open_places and not page.get_by_text("Approval needed").count():
                break
        page.screenshot(path=OUT / "event.png", full_page=True)
        event_url = page.url
        form = page.locator("form[action$='/signup']")
        form.locator("input[name='name']").fill("Lina Haddad")
        form.locator("input[name='email']").fill(f"lina.{int(time.time())}@example.org")
        form.locator("button[type=submit], input[type=submit]").first.click()
        page.wait_for_load_state()
        page.screenshot(path=OUT / "signup-done.png", full_page=True)

        # The roster, as the action's organizer (an admin can see every roster).
        page.goto(f"{BASE}/auth/login")
        page.fill("input[name='email']", "admin@demo.organizer")
        page.fill("input[name='password']", DEMO_PASSWORD)
        page.locator("form button[type=submit], form input[type=submit]").last.click()
        page.wait_for_load_state()
        page.goto(event_url.rstrip("/") + "/roster")
        page.screenshot(path=OUT / "roster.png", full_page=True)

        # The same list on a phone, in Arabic, right to left.
        phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
        mobile = phone.new_page()
        mobile.goto(f"{BASE}/events/?lang=ar")
        mobile.screenshot(path=OUT / "events-ar-phone.png")
        mobile.goto(f"{BASE}{ids[0]}?lang=he")
        mobile.screenshot(path=OUT / "event-he-phone.png", full_page=True)
        mobile.goto(f"{BASE}/digest/subscribe?lang=ar")
        mobile.screenshot(path=OUT / "subscribe-ar-phone.png", full_page=True)
        page.goto(f"{BASE}/digest/orgs/common-road/highlights?lang=en")
        page.screenshot(path=OUT / "highlights.png", full_page=True)
        browser.close()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main()
