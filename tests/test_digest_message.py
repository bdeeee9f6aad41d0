"""The digest email itself: parts, headers, what each action says, language, DKIM."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
from datetime import UTC, datetime, timedelta

import dkim
import pytest

from organizer.extensions import db
from organizer.models.digest import SUB_UNSUBSCRIBED
from organizer.services.digest_render import DigestRenderer
from organizer.services.digest_sender import send_due
from organizer.services.subscriptions import preferences_url, unsubscribe_url

from .factories import make_event, make_org, make_signup, make_subscription
from .helpers import html_part, text_part

NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)  # Tuesday, 10:00 in Jerusalem
WEEK = "2026-W46"


def send():
    return send_due(NOW, use_queue=False)


@pytest.fixture()
def actions(app):
    host = make_org(name="Women Wage Peace")
    cohost = make_org(name="Combatants for Peace")
    street = make_event(
        host,
        title="Vigil at Paris Square",
        starts_at=datetime(2026, 11, 12, 16, 0, tzinfo=UTC),  # 18:00 Jerusalem
        duration=timedelta(hours=2),
        city="Jerusalem",
        address="12 Secret Street",
        location_visibility="confirmed",
        capacity=5,
        cohosts=(cohost,),
    )
    online = make_event(
        host,
        title="Online training",
        starts_at=datetime(2026, 11, 11, 18, 0, tzinfo=UTC),
        is_online=True,
        online_url="https://meet.example.org/hidden-room",
        address="",
        location_visibility="confirmed",
    )
    for _ in range(3):
        make_signup(street)
    return street, online


def test_a_multipart_message_with_list_headers(app, mailbox, actions):
    sub = make_subscription("reader@example.org", name="Dana")
    assert send().sent == 1
    [message] = mailbox.wait_for(1)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["From"].addresses[0].display_name == "Organizer"
    assert message["To"] == "reader@example.org"
    assert message["Subject"] == "2 actions for you this week"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == f"<digest-{sub.id}-{WEEK}@localhost>"
    assert message["List-Unsubscribe"] == f"<{unsubscribe_url(sub)}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    text, html = text_part(message), html_part(message)
    for body in (text, html):
        assert "Dana" in body
        assert unsubscribe_url(sub) in body and preferences_url(sub) in body
    assert 'style="' in html and "<style" not in html and 'dir="ltr"' in html


def test_each_action_says_what_when_where_and_how_to_join(app, mailbox, actions):
    street, online = actions
    make_subscription(timezone="Europe/London")
    send_due(NOW + timedelta(hours=1), use_queue=False)
    [message] = mailbox.wait_for(1)
    text, html = text_part(message), html_part(message)
    # Soonest first; times on the subscriber's clock (London), saying so.
    assert text.index("Online training") < text.index("Vigil at Paris Square")
    assert "Thursday 12 November 2026, 16:00–18:00 (London time)" in text
    assert "Wednesday 11 November 2026, 18:00–20:00 (London time)" in text
    assert "Women Wage Peace, Combatants for Peace" in text
    assert "<bdi>Women Wage Peace</bdi>, <bdi>Combatants for Peace</bdi>" in html
    assert "2 places left" in text and "2 places left" in html
    assert "Online" in text
    assert "Jerusalem" in text
    assert f"http://localhost/events/{street.id}/signup" in text
    assert f'href="http://localhost/events/{online.id}/signup"' in html
    for body in (text, html, message.as_string()):
        assert "Secret Street" not in body
        assert "hidden-room" not in body


@pytest.mark.parametrize("locale", ["he", "ar"])
def test_right_to_left_languages(app, mailbox, actions, locale):
    make_subscription(locale=locale, name="נועה")
    send()
    [message] = mailbox.wait_for(1)
    html = html_part(message)
    assert f'<html lang="{locale}" dir="rtl">' in html
    assert "<bdi>נועה</bdi>" in html
    assert message["Content-Language"] == locale


def test_names_are_escaped_in_html(app, mailbox, actions):
    make_subscription(name="<script>alert(1)</script> & co")
    send()
    [message] = mailbox.wait_for(1)
    assert "<script>" not in html_part(message)
    assert "&lt;script&gt;" in html_part(message)
    assert "<script>alert(1)</script> & co" in text_part(message)


def test_the_message_id_is_the_same_on_every_attempt(app, actions):
    sub = make_subscription()
    with app.test_request_context("/"):
        first = DigestRenderer(NOW).build(sub, WEEK, actions, {}, "https://u", "https://p")
        again = DigestRenderer(NOW + timedelta(minutes=20)).build(
            sub, WEEK, actions, {}, "https://u", "https://p"
        )
    assert first.message_id == again.message_id == f"<digest-{sub.id}-{WEEK}@localhost>"
    # Only CRLF line endings: SMTP servers refuse bare LF.
    assert b"\n" not in first.data.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(first.data, policy=email.policy.SMTP)
    assert parsed["Message-ID"] == first.message_id


def test_one_click_unsubscribe_from_the_header(app, client, mailbox, actions):
    sub = make_subscription()
    send()
    [message] = mailbox.wait_for(1)
    url = message["List-Unsubscribe"].strip("<>")
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.expire_all()
    assert sub.status == SUB_UNSUBSCRIBED
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("dkim") / "private.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(path), "2048"], check=True, capture_output=True
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(path), "-pubout"], check=True, capture_output=True
    ).stdout.decode()
    p = "".join(line for line in public.splitlines() if "-----" not in line)
    return path, f"v=DKIM1; k=rsa; p={p}".encode()


@pytest.mark.parametrize("as_text", [True, False], ids=["pem-text", "pem-path"])
def test_dkim_signs_the_list_headers_too(app, mailbox, actions, dkim_key, as_text):
    path, record = dkim_key
    app.config.update(
        DKIM_PRIVATE_KEY=path.read_text() if as_text else str(path),
        DKIM_SELECTOR="digest",
        DKIM_DOMAIN="organizer.example",
    )
    sub = make_subscription()
    with app.test_request_context("/"):
        built = DigestRenderer(NOW).build(
            sub, WEEK, actions, {}, unsubscribe_url(sub), preferences_url(sub)
        )

    def dns(name, timeout=5):
        assert name == b"digest._domainkey.organizer.example."
        return record

    assert dkim.verify(built.data, dnsfunc=dns)
    signature = email.message_from_bytes(built.data, policy=email.policy.SMTP)["DKIM-Signature"]
    signed = re.search(r"h=([^;]+)", signature.replace(" ", "")).group(1).lower().split(":")
    for header in (
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ):
        assert header in signed
    # Tampering with the unsubscribe header breaks the signature.
    assert built.data.count(b"/digest/unsubscribe/") == 1  # the header (bodies are base64)
    forged = built.data.replace(b"/digest/unsubscribe/", b"/digest/unsubscribe/x")
    assert not dkim.verify(forged, dnsfunc=dns)

    assert send().sent == 1
    [message] = mailbox.wait_for(1)
    assert message["DKIM-Signature"]
