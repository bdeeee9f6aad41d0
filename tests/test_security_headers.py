"""Security headers on every response, a Content-Security-Policy the pages can live with (no
inline script, handlers or style), and production's HTTPS-only cookies and HSTS."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from config import ProductionConfig
from organizer import create_app
from organizer.extensions import db

from . import factories
from .conftest import csrf_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def policy(response) -> dict[str, str]:
    directives = response.headers["Content-Security-Policy"].split(";")
    return {d.split()[0]: " ".join(d.split()[1:]) for d in (x.strip() for x in directives) if d}


def assert_secure_headers(response, framable: bool = False) -> None:
    csp = policy(response)
    assert csp["default-src"] == "'self'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert not {"script-src", "style-src"} & csp.keys()  # default-src 'self' governs both
    if not framable:
        assert csp["frame-ancestors"] == "'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in {
        "strict-origin-when-cross-origin",
        "no-referrer",
    }


def test_every_kind_of_response_carries_the_headers(client, auth):
    org = factories.make_org(slug="circle")
    event = factories.make_event(org)
    responses = {
        "page": client.get("/"),
        "form": client.get("/auth/login"),
        "404": client.get("/no/such/page"),
        "405": client.get("/auth/logout"),
        "redirect": client.get("/auth/profile"),
        "json": client.get("/api/v1/events"),
        "api 404": client.get("/api/v1/nothing"),
        "health": client.get("/healthz"),
        "static": client.get("/static/css/app.css"),
        "calendar": client.get(f"/events/{event.id}.ics"),
        "feed": client.get("/orgs/circle/events.ics"),
        "400 csrf": client.post("/auth/login", data={"email": "x"}),
    }
    for name, response in responses.items():
        response.close()
        try:
            assert_secure_headers(response)
        except (AssertionError, KeyError) as error:
            raise AssertionError(f"{name}: {error!r}") from error
    embed = client.get(f"/events/{event.id}/embed")
    assert_secure_headers(embed, framable=True)
    assert policy(embed)["frame-ancestors"] == "*"


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


# ---- the policy holds: nothing inline ------------------------------------------------------


class InlineFinder(HTMLParser):
    """What a policy without 'unsafe-inline' would block: inline scripts, on* handlers,
    style attributes and <style> elements, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=>")
            if name == "style":
                self.found.append(f"<{tag} style=>")
            if name in {"href", "src", "action", "formaction"} and value:
                if re.sub(r"\s", "", value).lower().startswith("javascript:"):
                    self.found.append(f"<{tag} {name}=javascript:>")


def inline_content(markup: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(markup)
    return finder.found


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def test_no_template_needs_inline_script_or_style():
    """Emails are not pages (no CSP there, and mail clients want inline style)."""
    problems = {}
    for path in TEMPLATES.rglob("*.html"):
        if "emails" in path.relative_to(TEMPLATES).parts:
            continue
        found = inline_content(JINJA.sub("x", path.read_text(encoding="utf-8")))
        if found:
            problems[str(path.relative_to(TEMPLATES))] = found
    assert problems == {}


def test_rendered_pages_have_nothing_inline(client, auth):
    owner = factories.make_user()
    org = factories.make_org(slug="circle", owner=owner, description="**We** march")
    event = factories.make_event(org, description_md="Bring <b onmouseover=x>water</b>")
    factories.make_signup(event, name='<img src=x onerror="alert(1)">')
    shifted = factories.make_event(org)
    factories.make_shift(shifted, name="Morning")
    public = [
        "/",
        "/events/",
        f"/events/{event.id}",
        f"/events/{event.id}/signup",
        f"/events/{shifted.id}",
        f"/events/{event.id}/embed",
        "/orgs/",
        "/orgs/circle",
        "/auth/login",
        "/auth/register",
        "/digest/subscribe",
        "/no/such/page",
    ]
    organizer = [
        f"/events/{event.id}/roster",
        f"/events/{event.id}/edit",
        f"/events/{event.id}/message",
        f"/events/{shifted.id}/shifts",
        "/orgs/circle/manage",
        "/orgs/circle/members",
        "/orgs/circle/edit",
        "/events/new?org=circle",
        "/auth/profile",
    ]
    problems = {}
    for url in public:
        found = inline_content(client.get(url).get_data(as_text=True))
        if found:
            problems[url] = found
    auth.login(owner)
    for url in organizer:
        response = client.get(url)
        assert response.status_code == 200, url
        found = inline_content(response.get_data(as_text=True))
        if found:
            problems[url] = found
    assert problems == {}


# ---- production -----------------------------------------------------------------------------


@pytest.fixture()
def production(app):
    class Production(ProductionConfig):
        SECRET_KEY = "a-long-random-value-from-the-environment"  # noqa: S105
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        WTF_CSRF_SSL_STRICT = False  # the test client sends no Referer
        RATELIMIT_STORAGE_URI = "memory://"

    production = create_app(Production)
    with production.app_context():
        db.create_all()  # a new in-memory SQLite database; on PostgreSQL the fixture's tables
        yield production
        db.session.remove()
        db.engine.dispose()


def test_production_sends_hsts(production):
    response = production.test_client().get("/", base_url="https://organizer.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert_secure_headers(response)


def _set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_production_cookies_are_host_only_secure_httponly_and_lax(production):
    factories.make_user(email="noa@example.org")
    client = production.test_client()
    base = "https://organizer.example"
    client.get("/?lang=he", base_url=base)
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login",
        base_url=base,
        data={
            "email": "noa@example.org",
            "password": factories.PASSWORD,
            "remember": "y",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    cookies = _set_cookies(response)
    assert set(cookies) >= {"__Host-session", "__Host-remember"}
    for name in ("__Host-session", "__Host-remember"):
        attributes = [part.strip().lower() for part in cookies[name].split(";")[1:]]
        assert "secure" in attributes and "httponly" in attributes, name
        assert "samesite=lax" in attributes and "path=/" in attributes, name
        assert not any(a.startswith("domain=") for a in attributes), name
    lang = _set_cookies(client.get("/?lang=ar", base_url=base))["lang"].lower()
    assert "secure" in lang and "httponly" in lang and "samesite=lax" in lang
