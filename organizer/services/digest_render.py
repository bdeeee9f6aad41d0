"""Building digest messages fast: each action rendered once, each message assembled from parts.

A Jinja render and an `EmailMessage` per recipient run at a few hundred messages a second.
Here the templates run once per (action, language, time zone) and once per (language, number
of actions); per recipient there is only string joining, two base64 encodings and a handful
of header lines, written out as RFC 5322 bytes with CRLF line endings (`email.policy.SMTP`).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.headerregistry import HeaderRegistry
from email.utils import format_datetime, parseaddr
from urllib.parse import urlsplit

from flask import current_app, render_template, url_for
from flask_babel import force_locale, ngettext
from markupsafe import Markup, escape

from ..i18n import when_between
from ..models import Event
from ..models.digest import Subscription

# Placeholders the frame templates are rendered with, replaced per recipient.
NAME = "@@DIGEST-NAME@@"
EVENTS = "@@DIGEST-EVENTS@@"
UNSUBSCRIBE = "@@DIGEST-UNSUBSCRIBE@@"
PREFERENCES = "@@DIGEST-PREFERENCES@@"

# The headers a DKIM signature covers (the list headers too: RFC 8058 asks for it).
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)

_HEADERS = HeaderRegistry()


@dataclass(frozen=True)
class Frame:
    subject_line: bytes  # "Subject: ...\r\n", encoded for the wire
    text: str
    html: str


@dataclass(frozen=True)
class DigestMessage:
    message_id: str
    envelope_from: str
    to: str
    data: bytes  # the whole message, CRLF line endings, ready for SMTP DATA


def mail_domain() -> str:
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "organizer.local"


def message_id(subscription_id: int, week: str) -> str:
    """The same for a subscriber and week on every attempt, so a duplicate is recognisable."""
    return f"<digest-{subscription_id}-{week}@{mail_domain()}>"


def _header_line(name: str, value: str) -> bytes:
    """One header, RFC 2047-encoded when it is not plain ASCII, folded, with CRLF."""
    if value.isascii() and value.isprintable() and len(name) + len(value) < 900:
        return f"{name}: {value}\r\n".encode()  # the common case, a hundred times faster
    header = _HEADERS(name, " ".join(value.split()))
    return email_policy.SMTP.fold_binary(name, header)


def _b64(text: str) -> bytes:
    return base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")


class DigestRenderer:
    """Caches rendered parts for one run (or one batch); create a new one per run."""

    def __init__(self, now: datetime) -> None:
        config = current_app.config
        self.now = now
        self.public_url = config["PUBLIC_URL"]
        self.sender = config["MAIL_DEFAULT_SENDER"]
        self.envelope_from = parseaddr(self.sender)[1] or self.sender
        self.date_line = _header_line("Date", format_datetime(now))
        self.from_line = _header_line("From", self.sender)
        self.boundary = f"=_digest_{uuid.uuid4().hex}"
        self._blocks: dict[tuple[int, str, str], tuple[str, str]] = {}
        self._frames: dict[tuple[str, int, bool], Frame] = {}
        self._urls: dict[int, tuple[str, str]] = {}
        self.dkim = _dkim_settings(config)

    # --- parts rendered once ---------------------------------------------------------------

    def _event_urls(self, event: Event) -> tuple[str, str]:
        urls = self._urls.get(event.id)
        if urls is None:
            urls = (
                self.public_url + url_for("events.detail", event_id=event.id),
                self.public_url + url_for("signups.signup", event_id=event.id),
            )
            self._urls[event.id] = urls
        return urls

    def event_block(
        self, event: Event, counts: Mapping[str, int], locale: str, timezone: str
    ) -> tuple[str, str]:
        """(text, html) of one action for readers of `locale` on the clock of `timezone`."""
        key = (event.id, locale, timezone)
        block = self._blocks.get(key)
        if block is None:
            from ..events.display import availability

            event_url, signup_url = self._event_urls(event)
            with force_locale(locale):
                context = {
                    "event": event,
                    "hosts": [org.name for org in event.host_organizations],
                    "when": when_between(event.starts_at, event.ends_at, timezone),
                    "availability": availability(event, counts),
                    "event_url": event_url,
                    "signup_url": signup_url,
                    "locale": locale,
                }
                block = (
                    render_template("emails/_digest_event.txt", **context).strip("\n"),
                    render_template("emails/_digest_event.html", **context),
                )
            self._blocks[key] = block
        return block

    def frame(self, locale: str, count: int, has_name: bool) -> Frame:
        key = (locale, count, has_name)
        frame = self._frames.get(key)
        if frame is None:
            with force_locale(locale):
                subject = ngettext(
                    "%(num)d action for you this week", "%(num)d actions for you this week", count
                )
                intro = ngettext(
                    "Here is an action you can join in the coming days.",
                    "Here are %(num)d actions you can join in the coming days.",
                    count,
                )
                context = {
                    "locale": locale,
                    "subject": subject,
                    "intro": intro,
                    "has_name": has_name,
                    "all_url": self.public_url + url_for("events.index"),
                    "unsubscribe_url": UNSUBSCRIBE,
                    "preferences_url": PREFERENCES,
                }
                text = render_template("emails/digest.txt", name=NAME, events=EVENTS, **context)
                html = render_template(
                    "emails/digest.html",
                    name=Markup("<bdi>{}</bdi>").format(NAME),
                    events=Markup(EVENTS),  # noqa: S704 -- a constant placeholder
                    **context,
                )
            frame = Frame(_header_line("Subject", subject), text, html)
            self._frames[key] = frame
        return frame

    # --- per recipient -------------------------------------------------------------------------

    def build(
        self,
        subscription: Subscription,
        week: str,
        events: Sequence[Event],
        counts: Mapping[int, Mapping[str, int]],
        unsubscribe_url: str,
        preferences_url: str,
    ) -> DigestMessage:
        locale = subscription.locale or current_app.config["DEFAULT_LOCALE"]
        blocks = [
            self.event_block(e, counts.get(e.id, {}), locale, subscription.timezone) for e in events
        ]
        frame = self.frame(locale, len(events), bool(subscription.name))
        text = (
            frame.text.replace(EVENTS, "\n\n".join(b[0] for b in blocks))
            .replace(NAME, subscription.name)
            .replace(UNSUBSCRIBE, unsubscribe_url)
            .replace(PREFERENCES, preferences_url)
        )
        html = (
            frame.html.replace(EVENTS, "".join(b[1] for b in blocks))
            .replace(NAME, str(escape(subscription.name)))
            .replace(UNSUBSCRIBE, str(escape(unsubscribe_url)))
            .replace(PREFERENCES, str(escape(preferences_url)))
        )
        mid = message_id(subscription.id, week)
        to = subscription.email
        head = b"".join(
            (
                self.from_line,
                _header_line("To", to),
                frame.subject_line,
                self.date_line,
                f"Message-ID: {mid}\r\n".encode(),
                _header_line("List-Unsubscribe", f"<{unsubscribe_url}>"),
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                f"Content-Language: {locale}\r\n".encode(),
                b"MIME-Version: 1.0\r\n",
                f'Content-Type: multipart/alternative; boundary="{self.boundary}"\r\n'.encode(),
            )
        )
        sep = f"--{self.boundary}\r\n".encode()
        body = b"".join(
            (
                b"\r\n",
                sep,
                b'Content-Type: text/plain; charset="utf-8"\r\n',
                b"Content-Transfer-Encoding: base64\r\n\r\n",
                _b64(text),
                sep,
                b'Content-Type: text/html; charset="utf-8"\r\n',
                b"Content-Transfer-Encoding: base64\r\n\r\n",
                _b64(html),
                f"--{self.boundary}--\r\n".encode(),
            )
        )
        data = head + body
        if self.dkim is not None:
            data = _dkim_sign(data, self.dkim) + data
        return DigestMessage(mid, self.envelope_from, to, data)


# --- DKIM ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DkimSettings:
    selector: bytes
    domain: bytes
    private_key: bytes


def _dkim_settings(config: Mapping) -> DkimSettings | None:
    """DKIM_PRIVATE_KEY (PEM text, or a path to a PEM file), DKIM_SELECTOR and DKIM_DOMAIN."""
    key, selector, domain = (
        config.get("DKIM_PRIVATE_KEY"),
        config.get("DKIM_SELECTOR"),
        config.get("DKIM_DOMAIN"),
    )
    if not (key and selector and domain):
        return None
    if "-----BEGIN" not in key:
        with open(key, "rb") as handle:
            pem = handle.read()
    else:
        pem = key.encode()
    return DkimSettings(selector.encode(), domain.encode(), pem)


def _dkim_sign(data: bytes, settings: DkimSettings) -> bytes:
    import dkim

    return dkim.sign(
        data,
        settings.selector,
        settings.domain,
        settings.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=list(SIGNED_HEADERS),
    )
