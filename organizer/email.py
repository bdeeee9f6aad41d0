"""Building and sending every email: one place for headers, language and attachments."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
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
    """Send now; a failing mail server is logged, never raised into the request that caused it,
    and the message waits in the outbox for `flask mail retry` (False: not sent yet)."""
    message = build_email(to, template, locale, **kwargs)
    try:
        message.send()
    except Exception as exc:  # the SMTP layer raises many kinds; the caller's data is committed
        log.exception("Could not send %s email to %s", template, to)
        _keep_for_retry([message], exc)
        return False
    return True


def _refused_for_good(error: Exception) -> bool:
    from .services import outbox

    return outbox.is_permanent(error)


def _keep_for_retry(messages: list[EmailMultiAlternatives], error: Exception) -> None:
    """Store what a temporary fault kept from the mail server (organizer.services.outbox)."""
    from .services import outbox

    if not messages or outbox.is_permanent(error):
        return
    try:
        outbox.store(messages, error, datetime.now(UTC))
    except Exception:  # the database too: nothing more can be done here, and it is logged
        from .extensions import db

        db.session.rollback()
        log.exception("Could not keep %d unsent emails for a retry", len(messages))


def send_many(messages: list[EmailMultiAlternatives]) -> int:
    """Send several messages over one SMTP connection; returns how many were accepted.

    Each message is handed over on its own, so one refused address (or a connection dropped
    half-way) is counted exactly and does not hide the ones already delivered.
    """
    if not messages:
        return 0
    sent = 0
    unsent = list(messages)
    try:
        with mail.get_connection() as connection:
            while unsent:
                message = unsent[0]
                try:
                    sent += connection.send_messages([message]) or 0
                except smtplib.SMTPException as exc:
                    if not _refused_for_good(exc):
                        raise
                    log.warning("Refused for good, to %s: %s", ", ".join(message.to), exc)
                unsent.pop(0)
    except Exception as exc:
        log.exception("Could not send %d of %d emails", len(unsent), len(messages))
        # The one under way when the connection broke may have arrived: at least once.
        _keep_for_retry(unsent, exc)
    return sent
