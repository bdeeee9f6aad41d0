"""Mail backend for development without MAIL_SERVER: messages go to the log, not the network."""

from __future__ import annotations

import logging

from flask_mailman.backends.base import BaseEmailBackend

log = logging.getLogger("organizer.mail")


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            log.info("Email not sent (no MAIL_SERVER):\n%s", message.message().as_string())
        return len(email_messages)
