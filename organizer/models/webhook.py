"""Webhooks: an organization's endpoints, and the outbox of deliveries to them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .organization import Organization
    from .user import User

SIGNUP_CREATED = "signup.created"
SIGNUP_CANCELLED = "signup.cancelled"
SIGNUP_PROMOTED = "signup.promoted"
ACTION_UPDATED = "action.updated"
ACTION_CANCELLED = "action.cancelled"
EVENT_TYPES = (SIGNUP_CREATED, SIGNUP_CANCELLED, SIGNUP_PROMOTED, ACTION_UPDATED, ACTION_CANCELLED)
PING = "ping"  # the owners' "send a test", to any endpoint whatever it subscribed to

PENDING = "pending"  # not tried yet
SENDING = "sending"  # claimed by a deliverer; the HTTP request may be under way
SENT = "sent"
FAILED = "failed"  # the last try failed; tried again from next_attempt_at
GIVEN_UP = "given_up"  # no more tries (too many, or the endpoint was disabled or deleted)
STATUSES = (PENDING, SENDING, SENT, FAILED, GIVEN_UP)


class WebhookEndpoint(db.Model):
    """An https URL an organization's owners registered, with the secret that signs each call.

    `active` is False when paused by an owner or disabled after too many failures in a row
    (then `disabled_at` is set too); either way nothing new is queued for it.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(64))
    events: Mapped[str] = mapped_column(String(200))  # event types, comma-separated
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def event_types(self) -> list[str]:
        return [name for name in self.events.split(",") if name]

    def wants(self, event_type: str) -> bool:
        return event_type == PING or event_type in self.event_types

    @property
    def paused(self) -> bool:
        return not self.active and self.disabled_at is None

    @property
    def disabled(self) -> bool:
        return not self.active and self.disabled_at is not None

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} {self.url}>"


class WebhookDelivery(db.Model):
    """One event for one endpoint: written in the transaction that made the change (an outbox),
    then claimed by exactly one deliverer at a time until it is sent or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The due query: pending or failed rows whose time has come, sending rows gone stale.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # The owners' delivery log, newest first.
        Index("ix_webhook_deliveries_endpoint_log", "endpoint_id", "id"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'given_up')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)  # uuid4: the receiver's key
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body sent
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.event_type} {self.status}>"
