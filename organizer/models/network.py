"""Networks: organizations that other organizations belong to, by consent of both sides."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .organization import Organization
    from .user import User

NETWORK_INVITED = "invited"  # the network's owners asked; the member's owners answer
NETWORK_REQUESTED = "requested"  # the member's owners asked; the network's owners answer
NETWORK_ACTIVE = "active"
NETWORK_ENDED = "ended"  # declined, withdrawn, or ended by either side: kept for the record
NETWORK_STATUSES = (NETWORK_INVITED, NETWORK_REQUESTED, NETWORK_ACTIVE, NETWORK_ENDED)
LIVE_STATUSES = (NETWORK_INVITED, NETWORK_REQUESTED, NETWORK_ACTIVE)


class NetworkMembership(db.Model):
    """One organization in one network; at most one live (not ended) row per pair."""

    __tablename__ = "network_memberships"
    __table_args__ = (
        CheckConstraint("status IN ('invited', 'requested', 'active', 'ended')", name="status"),
        CheckConstraint("network_id <> member_id", name="not_itself"),
        Index(
            "uq_network_memberships_live",
            "network_id",
            "member_id",
            unique=True,
            sqlite_where=text("status <> 'ended'"),
            postgresql_where=text("status <> 'ended'"),
        ),
        Index("ix_network_memberships_member", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    network: Mapped[Organization] = relationship(foreign_keys=[network_id])
    member: Mapped[Organization] = relationship(foreign_keys=[member_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])

    def __repr__(self) -> str:
        return f"<NetworkMembership {self.network_id}>{self.member_id} {self.status}>"
