"""Recurring actions: a rule that materializes occurrences, and standing sign-ups to them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, column, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .event import Event
    from .organization import Organization
    from .user import User


class EventSeries(db.Model):
    """ "Every Friday 13:00–15:00 until 30 June": an RFC 5545 RRULE on the organization's clock.

    Each occurrence is an ordinary Event (own page, own sign-ups) with `series_id` and its slot
    `occurrence_start`; `local_start` is naive wall-clock time in `timezone`, so an action at
    13:00 stays at 13:00 across daylight-saving changes.
    """

    __tablename__ = "event_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(500))  # RRULE value, e.g. FREQ=WEEKLY;BYDAY=FR
    timezone: Mapped[str] = mapped_column(String(64))
    local_start: Mapped[datetime] = mapped_column(DateTime(timezone=False))  # DTSTART, naive
    duration_minutes: Mapped[int] = mapped_column(Integer)
    horizon_weeks: Mapped[int] = mapped_column(Integer, default=12)
    # The latest occurrence slot already materialized (UTC); extend starts after it.
    materialized_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE of the series
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    occurrences: Mapped[list[Event]] = relationship(
        back_populates="series", order_by="Event.occurrence_start"
    )
    standing_signups: Mapped[list[StandingSignup]] = relationship(
        back_populates="series", cascade="all, delete-orphan"
    )


class StandingSignup(db.Model):
    """ "Every week": joins each new occurrence of a series as it is materialized."""

    __tablename__ = "standing_signups"
    __table_args__ = (
        Index(
            "uq_standing_signups_series_email",
            "series_id",
            func.lower(column("email")),
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("event_series.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))  # stored lower-cased
    phone: Mapped[str] = mapped_column(String(40), default="")
    locale: Mapped[str] = mapped_column(String(5), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    series: Mapped[EventSeries] = relationship(back_populates="standing_signups")
    user: Mapped[User | None] = relationship()


class Shift(db.Model):
    """A shift or role within one action (sorting 08:00–12:00, drivers), with its own places."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="shifts")


class ReminderDelivery(db.Model):
    """One reminder to one sign-up, claimed before SMTP and marked sent after: exactly once."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (UniqueConstraint("signup_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signup_id: Mapped[int] = mapped_column(ForeignKey("signups.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # "first" (24 h by default) or "second" (2 h)
    # claimed | sent | failed (retried) | bounced (refused for good: never retried)
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
