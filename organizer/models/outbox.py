"""Emails the mail server did not take: kept, fully rendered, until a retry hands them over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class OutboxMessage(db.Model):
    """One message exactly as it was first rendered (headers, language, attachments, Message-ID),
    retried by `flask mail retry` with backoff; `next_attempt_at` None means given up."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(320))  # the envelope's MAIL FROM
    to: Mapped[str] = mapped_column(String(254))  # stored lower-cased: one recipient each
    message: Mapped[bytes] = mapped_column(LargeBinary)  # RFC 5322 bytes, CRLF line ends
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} attempts={self.attempts}>"
