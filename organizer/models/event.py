from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import REGIONS
from ..extensions import db
from .base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .organization import Organization
    from .series import EventSeries, Shift
    from .user import User

STATUS_DRAFT = "draft"
STATUS_PUBLISHED = "published"
STATUS_CANCELLED = "cancelled"

VISIBILITY_PUBLIC = "public"
VISIBILITY_UNLISTED = "unlisted"

LOCATION_PUBLIC = "public"
LOCATION_CONFIRMED = "confirmed"  # revealed only to confirmed volunteers

DEFAULT_REMINDER_HOURS = 24

# A co-host is asked first: until one of its organizers accepts, it is not a host anywhere.
COHOST_PENDING = "pending"
COHOST_ACCEPTED = "accepted"
COHOST_STATUSES = (COHOST_PENDING, COHOST_ACCEPTED)


@dataclass(frozen=True)
class ShownText:
    """An action's title and description as one reader sees them, with the language they are
    in: the reader's own when the organizers translated it, otherwise the original."""

    title: str
    description_html: str
    language: str
    description_language: str
    translated: bool


def place_name(city: str, region: str) -> str:
    """What anyone may see of where: the city and region, never the address or link."""
    region_label = str(REGIONS.get(region, region))
    return f"{city}, {region_label}" if city else region_label


class Event(db.Model):
    """An action volunteers show up for."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_listing", "status", "visibility", "starts_at"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # One occurrence per slot of a series, however many `flask events extend` run at once.
        UniqueConstraint("series_id", "occurrence_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description_md: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    kind: Mapped[str] = mapped_column(String(32), default="other")
    region: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(120), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    is_online: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    waitlist_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16), default=VISIBILITY_PUBLIC)
    location_visibility: Mapped[str] = mapped_column(String(16), default=LOCATION_PUBLIC)
    reveal_hours_before: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=STATUS_DRAFT)
    # Bumped inside every sign-up transaction: the row write serialises concurrent
    # sign-ups for one action on PostgreSQL (row lock) and SQLite (write lock) alike.
    roster_version: Mapped[int] = mapped_column(Integer, default=0)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE
    # Reminders: hours before the start (None: no reminder), and a second one 2 hours before.
    # No column default: the ORM would put it in place of an explicit None ("no reminder");
    # __init__ gives new actions the 24 hours instead.
    reminder_hours: Mapped[int | None] = mapped_column(Integer)
    second_reminder: Mapped[bool] = mapped_column(Boolean, default=False)
    # An occurrence of a recurring series: its slot in the rule (the RECURRENCE-ID), kept when
    # the occurrence alone is moved (then `detached`, and later series edits leave it be).
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_series.id", ondelete="SET NULL"), index=True
    )
    occurrence_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detached: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[User | None] = relationship()
    cohosts: Mapped[list[EventHost]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )
    causes: Mapped[list[EventCause]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventCause.cause"
    )
    series: Mapped[EventSeries | None] = relationship(back_populates="occurrences")
    shifts: Mapped[list[Shift]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Shift.position"
    )
    translations: Mapped[list[EventTranslation]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventTranslation.locale"
    )

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("reminder_hours", DEFAULT_REMINDER_HOURS)
        super().__init__(**kwargs)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(self.tz)

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(self.tz)

    @property
    def cause_slugs(self) -> list[str]:
        return [c.cause for c in self.causes]

    @property
    def accepted_cohosts(self) -> list[EventHost]:
        """Co-hosts that said yes: the only ones shown as hosts or given access."""
        return [h for h in self.cohosts if h.status == COHOST_ACCEPTED]

    @property
    def pending_cohosts(self) -> list[EventHost]:
        return [h for h in self.cohosts if h.status == COHOST_PENDING]

    @property
    def host_organizations(self) -> list[Organization]:
        return [self.organization, *(h.organization for h in self.accepted_cohosts)]

    @property
    def host_ids(self) -> set[int]:
        return {self.organization_id, *(h.organization_id for h in self.accepted_cohosts)}

    @property
    def is_published(self) -> bool:
        return self.status == STATUS_PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        return self.status == STATUS_CANCELLED

    @property
    def is_public(self) -> bool:
        return self.status == STATUS_PUBLISHED and self.visibility == VISIBILITY_PUBLIC

    @property
    def location_hidden(self) -> bool:
        return self.location_visibility == LOCATION_CONFIRMED

    def reveal_at(self) -> datetime | None:
        """When confirmed volunteers may see a hidden location (None: as soon as confirmed)."""
        if self.reveal_hours_before is None:
            return None
        return self.starts_at - timedelta(hours=self.reveal_hours_before)

    def text_for(self, locale: str) -> ShownText:
        """The translation into `locale` if the organizers wrote one, else the original (a
        translated title without a translated description keeps the original description)."""
        if locale != self.language:
            for t in self.translations:
                if t.locale == locale:
                    if t.description_html:
                        return ShownText(t.title, t.description_html, t.locale, t.locale, True)
                    return ShownText(t.title, self.description_html, t.locale, self.language, True)
        return ShownText(self.title, self.description_html, self.language, self.language, False)

    @property
    def shown(self) -> ShownText:
        """`text_for` the current reader's language (the request's, or a forced email locale)."""
        from flask_babel import get_locale

        locale = get_locale()
        return self.text_for(str(locale) if locale else self.language)

    @property
    def translated_locales(self) -> list[str]:
        return [t.locale for t in self.translations]

    @property
    def public_place(self) -> str:
        return place_name(self.city, self.region)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.title!r}>"


class EventHost(db.Model):
    """A co-hosting organization, whose organizers manage the action too once they accept.

    The primary host asks (pending); an organizer of the asked organization accepts (accepted)
    or declines (the row is deleted).
    """

    __tablename__ = "event_hosts"
    __table_args__ = (CheckConstraint("status IN ('pending', 'accepted')", name="cohost_status"),)

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=COHOST_PENDING)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="cohosts")
    organization: Mapped[Organization] = relationship()
    requested_by: Mapped[User | None] = relationship()

    @property
    def accepted(self) -> bool:
        return self.status == COHOST_ACCEPTED


class EventCause(db.Model):
    __tablename__ = "event_causes"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    cause: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)

    event: Mapped[Event] = relationship(back_populates="causes")


class EventTranslation(db.Model):
    """The title and description of an action in another language, written by its organizers.
    Pages and digests show it to readers of that language; the original stays authoritative."""

    __tablename__ = "event_translations"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(5), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description_md: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")

    event: Mapped[Event] = relationship(back_populates="translations")
