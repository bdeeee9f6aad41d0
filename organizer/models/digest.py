"""Weekly digests: subscriptions, what they follow, highlights, and one delivery per week."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    column,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .event import Event
    from .organization import Organization
    from .user import User

SUB_PENDING = "pending"  # waiting for the address to be confirmed (double opt-in)
SUB_ACTIVE = "active"
SUB_UNSUBSCRIBED = "unsubscribed"
SUB_SUSPENDED = "suspended"  # too many hard bounces

DELIVERY_SENDING = "sending"  # claimed by a sender; the SMTP hand-off may be under way
DELIVERY_SENT = "sent"
DELIVERY_EMPTY = "empty"  # nothing relevant this week: no email, but the week is done
DELIVERY_FAILED = "failed"  # a temporary fault; retried after next_attempt_at
DELIVERY_BOUNCED = "bounced"  # the server refused the address for good (5xx)

TUESDAY = 1  # weekdays as in datetime.weekday(): Monday is 0


class Subscription(db.Model):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("uq_subscriptions_email_lower", func.lower(column("email")), unique=True),
        Index("ix_subscriptions_due", "status", "weekday", "hour"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("hour BETWEEN 0 AND 23", name="hour_range"),
        CheckConstraint("max_actions BETWEEN 1 AND 10", name="max_actions_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # stored lower-cased
    name: Mapped[str] = mapped_column(String(120), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str] = mapped_column(String(5), default="en")
    timezone: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int] = mapped_column(SmallInteger, default=TUESDAY)
    hour: Mapped[int] = mapped_column(SmallInteger, default=9)
    max_actions: Mapped[int] = mapped_column(SmallInteger, default=3)
    status: Mapped[str] = mapped_column(String(16), default=SUB_PENDING)
    bounce_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changes on unsubscribe, so links in older emails stop working for a new subscription.
    token_version: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User | None] = relationship()
    organizations: Mapped[list[SubscriptionOrganization]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan"
    )
    causes: Mapped[list[SubscriptionCause]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan"
    )
    regions: Mapped[list[SubscriptionRegion]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan"
    )

    @property
    def organization_ids(self) -> set[int]:
        return {f.organization_id for f in self.organizations}

    @property
    def cause_slugs(self) -> set[str]:
        return {c.cause for c in self.causes}

    @property
    def region_slugs(self) -> set[str]:
        return {r.region for r in self.regions}

    def __repr__(self) -> str:
        return f"<Subscription {self.id} {self.status}>"


class SubscriptionOrganization(db.Model):
    __tablename__ = "subscription_organizations"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    subscription: Mapped[Subscription] = relationship(back_populates="organizations")
    organization: Mapped[Organization] = relationship()


class SubscriptionCause(db.Model):
    __tablename__ = "subscription_causes"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    cause: Mapped[str] = mapped_column(String(32), primary_key=True)

    subscription: Mapped[Subscription] = relationship(back_populates="causes")


class SubscriptionRegion(db.Model):
    __tablename__ = "subscription_regions"

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(32), primary_key=True)

    subscription: Mapped[Subscription] = relationship(back_populates="regions")


class Highlight(db.Model):
    """An action an organization puts first in this week's digests (at most three a week)."""

    __tablename__ = "highlights"
    __table_args__ = (UniqueConstraint("organization_id", "week", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    week: Mapped[str] = mapped_column(String(8))  # ISO week, "2026-W48"
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    event: Mapped[Event] = relationship()


class DigestDelivery(db.Model):
    """One subscriber's digest for one ISO week: the record that makes sending exactly-once."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "week"),
        Index("ix_digest_deliveries_retry", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=DELIVERY_SENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[str] = mapped_column(String(255), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscription: Mapped[Subscription] = relationship()


class DigestRun(db.Model):
    """What one `flask digest send` did, for the record and for organizers' curiosity."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    now: Mapped[datetime] = mapped_column(UTCDateTime)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    empty: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    bounced: Mapped[int] = mapped_column(Integer, default=0)
    retry_later: Mapped[int] = mapped_column(Integer, default=0)
