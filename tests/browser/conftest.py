"""Browser tests: Debian's Chromium driven by Playwright, against the app served on 127.0.0.1.

One browser for the session, a fresh context (cookies, viewport, language) for every test. The
app runs in a thread through werkzeug's threaded server, on a database its threads share: a
SQLite file of the module's own, or on PostgreSQL the test worker's database (emptied after the
module, as the `app` fixture does). Emails go to the suite's aiosmtpd server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db

from ..helpers import empty_all_tables

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
BROWSER_LOCALES = {"en": "en-US", "he": "he-IL", "ar": "ar"}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def new_context(browser):
    """Open a browser context (closed after the test): `new_context(lang="ar", **PHONE)`."""
    opened = []

    def open_context(lang: str = "en", **options):
        locale = BROWSER_LOCALES[lang]
        context = browser.new_context(
            locale=locale, extra_http_headers={"Accept-Language": locale}, **options
        )
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@dataclass
class LiveServer:
    app: Flask
    url: str

    @contextmanager
    def db(self) -> Iterator[None]:
        """An app context in the test's thread, to build rows with tests/factories.py."""
        with self.app.app_context():
            yield
            db.session.remove()

    def tr(self, lang: str, message: str, **values) -> str:
        """`message` as the catalogue of `lang` has it: what the user must see."""
        with self.app.test_request_context("/"), force_locale(lang):
            return gettext(message, **values)

    def ntr(self, lang: str, singular: str, plural: str, num: int, **values) -> str:
        with self.app.test_request_context("/"), force_locale(lang):
            return ngettext(singular, plural, num, **values)


def _live_database(database_url: str, tmp_path_factory) -> str:
    if make_url(database_url).get_backend_name() == "postgresql":
        return database_url
    # Not sqlite:// in memory: every server thread must see the same database.
    return f"sqlite:///{tmp_path_factory.mktemp('browser') / 'organizer.db'}"


@pytest.fixture(scope="module")
def live_server(database_url, smtp_server, tmp_path_factory) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 and a free port, with an empty database, for one test module."""
    controller, _ = smtp_server

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = _live_database(database_url, tmp_path_factory)
        MAIL_SERVER = "127.0.0.1"
        MAIL_PORT = controller.port
        MAIL_BACKEND = "smtp"

    app = create_app(Config)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    app.config["PUBLIC_URL"] = url  # the links in emails lead back here
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            empty_all_tables()


def no_horizontal_scroll(page, width: int = 360) -> None:
    """Nothing sticks out sideways: the page fits the phone's width."""
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width}px wide"


SERIOUS = ("serious", "critical")
AXE_RUN = "axe.run({runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}})"


def axe_violations(page) -> list[dict]:
    """Run axe-core (from the npm package) on the page; its serious and critical violations."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (`make test` does)")
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(AXE_RUN)
    return [v for v in results["violations"] if v["impact"] in SERIOUS]


def describe_violations(url: str, violations: list[dict]) -> str:
    lines = [f"axe found {len(violations)} serious or critical violation(s) on {url}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)
