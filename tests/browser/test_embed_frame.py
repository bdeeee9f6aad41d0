"""A partner's website, on another site (http://localhost:<port> framing http://127.0.0.1:<port>),
shows an action's sign-up form in an iframe; a volunteer signs up inside the frame and sees
the confirmation there, although the browser sends the frame no cookie. The action's own page
refuses to be framed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.models import Signup

from .. import factories
from ..helpers import text_part
from .conftest import PHONE, no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TITLE = "Weekly vigil at Paris Square"
ADDRESS = "Behind the fountain, Secret Garden 7"
EMAIL = "maya.cohen@example.org"


@pytest.fixture(scope="module")
def action_id(live_server) -> int:
    with live_server.db():
        org = factories.make_org(name="Women Wage Peace", slug="wwp")
        event = factories.make_event(
            org, title=TITLE, address=ADDRESS, capacity=30, location_visibility="confirmed"
        )
        return event.id


@pytest.fixture(scope="module")
def partner_site(live_server, action_id) -> Iterator[str]:
    """The partner's page, served on another port and named "localhost": another site."""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner movement</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
  <h1>Join us this Friday</h1>
  <iframe id="embed" src="{live_server.url}/events/{action_id}/embed?lang=en"
    title="Sign up" width="100%" height="640" style="border:0"></iframe>
  <iframe id="page" src="{live_server.url}/events/{action_id}" title="Action page"></iframe>
</body></html>""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="partner-site", daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_volunteer_signs_up_inside_another_sites_frame(
    live_server, action_id, partner_site, new_context, mailbox
):
    tr = lambda message, **values: live_server.tr("en", message, **values)  # noqa: E731
    page = new_context("en", **PHONE).new_page()
    page.goto(partner_site)

    frame = page.frame_locator("iframe#embed")
    assert frame.get_by_role("heading", level=1).inner_text() == TITLE
    box = frame.locator("#signup")
    assert box.locator(".badge.ok").inner_text() == "30 places left"
    assert ADDRESS not in frame.locator("body").inner_text()
    assert frame.locator(".site-header").count() == 0
    link = frame.get_by_role("link", name=tr("Open on Organizer"))
    assert link.get_attribute("target") == "_blank"

    box.get_by_label(tr("Your name")).fill("Maya Cohen")
    box.get_by_label(tr("Email"), exact=False).first.fill(EMAIL)
    box.get_by_role("button", name=tr("Sign up")).tap()

    # The confirmation, inside the frame; the partner's page stays where it was.
    done = frame.locator(".signup-done")
    done.wait_for()
    assert done.get_by_role("heading", level=1).inner_text() == tr("You're signed up!")
    assert EMAIL in done.inner_text()
    assert page.url == partner_site
    assert page.get_by_role("heading", level=1).inner_text() == "Join us this Friday"
    no_horizontal_scroll(page)
    embed = page.frame(url=lambda url: "/embed" in url)
    sizes = embed.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"the embed scrolls sideways: {sizes}"

    with live_server.db():
        (signup,) = db.session.scalars(select(Signup).where(Signup.event_id == action_id))
        assert (signup.name, signup.email, signup.status) == ("Maya Cohen", EMAIL, "confirmed")
    (message,) = [m for m in mailbox.wait_for(1) if m["To"] == EMAIL]
    assert ADDRESS in text_part(message)

    # The action's own page is not framed: the browser refused it.
    blocked = page.locator("iframe#page").element_handle().content_frame()
    assert blocked.url.startswith("chrome-error:"), blocked.url
    assert TITLE not in blocked.content()


def test_frame_in_hebrew_is_right_to_left(live_server, action_id, partner_site, new_context):
    page = new_context("he", **PHONE).new_page()
    page.goto(partner_site)
    page.frame_locator("iframe#embed").locator("html").wait_for(state="attached")
    embed = page.frame(url=lambda url: "/embed" in url)
    assert embed is not None
    embed.goto(f"{live_server.url}/events/{action_id}/embed?lang=he")
    assert embed.locator("html[lang=he][dir=rtl]").count() == 1
    assert embed.locator("form.signup-form").get_attribute("action").endswith("?lang=he")
