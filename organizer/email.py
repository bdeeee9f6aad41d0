"""Building and sending every email: one place for headers, language and attachments."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import make_msgid
from html import unescape as html_unescape
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives

from .extensions import mail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes | str
    mimetype: str


def build_email(
    to: str,
    template: str,
    locale: str,
    subject: str | None = None,
    attachments: Iterable[Attachment] = (),
    headers: dict[str, str] | None = None,
    **context,
) -> EmailMultiAlternatives:
    """Render emails/<template>.txt/.html in the recipient's language.

    The subject is the HTML template's {% block subject %} unless given.
    """
    with force_locale(locale or current_app.config["DEFAULT_LOCALE"]):
        context.setdefault("locale", locale)
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", **context)
        if subject is None:
            subject = _subject_from(template, context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # no CR/LF can reach a header
        body=text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
        headers={"Message-ID": make_msgid(domain=_mail_domain()), **(headers or {})},
    )
    message.attach_alternative(html, "text/html")
    for item in attachments:
        message.attach(item.filename, item.content, item.mimetype)
    return message


def _mail_domain() -> str:
    """Message-IDs name the site, not the machine that happened to send them."""
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "organizer.local"


def _subject_from(template: str, context: dict) -> str:
    tmpl = current_app.jinja_env.get_template(f"emails/{template}.html")
    ctx = tmpl.new_context(context)
    # The block is HTML (autoescaped: "A &amp; B"); a header is plain text ("A & B").
    return html_unescape("".join(tmpl.blocks["subject"](ctx))).strip()


def send_email(to: str, template: str, locale: str, **kwargs) -> bool:
    """Send now; a failing mail server is logged, never raised into the request that caused it."""
    message = build_email(to, template, locale, **kwargs)
    try:
        message.send()
    except Exception:  # the SMTP layer raises many kinds; the caller's data is already committed
        log.exception("Could not send %s email to %s", template, to)
        return False
    return True


def send_many(messages: list[EmailMultiAlternatives]) -> int:
    """Send several messages over one SMTP connection; returns how many were accepted.

    Each message is handed over on its own, so one refused address (or a connection dropped
    half-way) is counted exactly and does not hide the ones already delivered.
    """
    if not messages:
        return 0
    sent = 0
    try:
        with mail.get_connection() as connection:
            for message in messages:
                try:
                    sent += connection.send_messages([message]) or 0
                except smtplib.SMTPRecipientsRefused:
                    log.warning("Recipient refused: %s", ", ".join(message.to))
    except Exception:
        log.exception("Could not send %d of %d emails", len(messages) - sent, len(messages))
    return sent
