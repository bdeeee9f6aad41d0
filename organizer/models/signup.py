from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, column, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .event import Event
    from .series import Shift
    from .user import User

CONFIRMED = "confirmed"
WAITLISTED = "waitlisted"
PENDING = "pending"  # waiting for an organizer's approval
DECLINED = "declined"
CANCELLED = "cancelled"
STATUSES = (CONFIRMED, PENDING, WAITLISTED, DECLINED, CANCELLED)  # in the roster's order
ACTIVE_STATUSES = (CONFIRMED, WAITLISTED, PENDING)

ATTENDED = "attended"
NO_SHOW = "no_show"

# A sign-up whose person asked to be forgotten (or a guest's, past retention) keeps its row for
# the counts, with a random address at this never-deliverable domain (organizer.services.privacy).
ANONYMOUS_DOMAIN = "anonymized.invalid"


class Signup(db.Model):
    __tablename__ = "signups"
    __table_args__ = (
        # One sign-up per person per action, or per shift of an action with shifts.
        Index(
            "uq_signups_event_shift_email",
            "event_id",
            func.coalesce(column("shift_id"), 0),
            "email",
            unique=True,
        ),
        Index("ix_signups_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))  # stored lower-cased
    phone: Mapped[str] = mapped_column(String(40), default="")
    locale: Mapped[str] = mapped_column(String(5), default="en")
    status: Mapped[str] = mapped_column(String(16))
    attendance: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Waitlist order: when the volunteer (re)joined, not when the row was first created.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shift_id: Mapped[int | None] = mapped_column(
        ForeignKey("shifts.id", ondelete="CASCADE"), index=True
    )
    # Made by a standing "every week" sign-up when the occurrence was materialized.
    standing_signup_id: Mapped[int | None] = mapped_column(
        ForeignKey("standing_signups.id", ondelete="SET NULL"), index=True
    )

    event: Mapped[Event] = relationship()
    user: Mapped[User | None] = relationship()
    shift: Mapped[Shift | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def anonymized(self) -> bool:
        return self.email.endswith("@" + ANONYMOUS_DOMAIN)

    def __repr__(self) -> str:
        return f"<Signup {self.id} {self.status}>"
