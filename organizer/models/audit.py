"""The audit log: who among an organization's organizers did what with people's data, and when.

Rows keep snapshots (the actor's name, the action's title) so the log still reads after the
person or the action is gone. Nothing about volunteers is stored beyond counts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

ROSTER_VIEWED = "roster.viewed"
ROSTER_EXPORTED = "roster.exported"
VOLUNTEERS_MESSAGED = "volunteers.messaged"
MEMBER_ROLE_CHANGED = "member.role_changed"
MEMBER_REMOVED = "member.removed"
INVITATION_ACCEPTED = "invitation.accepted"
EVENT_CANCELLED = "event.cancelled"
API_TOKEN_CREATED = "api_token.created"  # noqa: S105 - an action code
API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105 - an action code
WEBHOOK_ADDED = "webhook.added"
WEBHOOK_DELETED = "webhook.deleted"
ACTIONS = (
    ROSTER_VIEWED,
    ROSTER_EXPORTED,
    VOLUNTEERS_MESSAGED,
    MEMBER_ROLE_CHANGED,
    MEMBER_REMOVED,
    INVITATION_ACCEPTED,
    EVENT_CANCELLED,
    API_TOKEN_CREATED,
    API_TOKEN_REVOKED,
    WEBHOOK_ADDED,
    WEBHOOK_DELETED,
)

TARGET_EVENT = "event"
TARGET_MEMBER = "member"
TARGET_API_TOKEN = "api_token"  # noqa: S105 - a target type
TARGET_WEBHOOK = "webhook"


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_organization_id_created_at", "organization_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # Who did it: kept as a name when the account is deleted.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(32))
    # What it was done to: an action, a member, a token or a webhook (no foreign key: the log
    # outlives them), with a snapshot of its title or name.
    target_type: Mapped[str] = mapped_column(String(16), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_label: Mapped[str] = mapped_column(String(200), default="")
    # A little JSON: counts, roles, a subject line; never a volunteer's name, email or phone.
    details: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} org={self.organization_id}>"
