"""The audit log: organizers' actions that touch people's data, for the organization's owners.

`record` adds an entry to the session without committing, so it lands in the same transaction
as the change it describes (and is rolled back with it). Reading a roster or exporting it
changes nothing else: `record_access` records and commits on its own.

Entries never carry a volunteer's name, email or phone: at most how many volunteers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import Integer, String, Text, false, insert, literal, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import AuditEntry, Event, Membership, Organization
from ..models import audit as au
from ..models.base import UTCDateTime

PER_PAGE = 50
MAX_PAGE = 10_000
LABEL_MAX = 200
SUBJECT_MAX = 120
# Organizers come back to the roster after every approval: one entry per person and action
# within this window is enough to know who looked.
ROSTER_VIEW_QUIET = timedelta(minutes=30)


def _snapshot(text: str | None, limit: int = LABEL_MAX) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _actor(actor) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, ""
    return actor.id, _snapshot(actor.name, 120)


def record(
    organization_id: int,
    actor,
    action: str,
    now: datetime,
    *,
    target_type: str = "",
    target_id: int | None = None,
    target_label: str = "",
    details: dict | None = None,
) -> AuditEntry:
    """Add one entry to the session; the caller's commit writes it with the change."""
    if action not in au.ACTIONS:
        raise ValueError(action)
    actor_id, actor_name = _actor(actor)
    entry = AuditEntry(
        organization_id=organization_id,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=_snapshot(target_label),
        details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True),
        created_at=now,
    )
    db.session.add(entry)
    return entry


def record_for_event(
    event: Event, actor, action: str, now: datetime, details: dict | None = None
) -> list[AuditEntry]:
    """One entry in the log of each organization hosting the action (co-hosts that accepted
    see their volunteers too, so their owners see who looked)."""
    return [
        record(
            org_id,
            actor,
            action,
            now,
            target_type=au.TARGET_EVENT,
            target_id=event.id,
            target_label=event.title,
            details=details,
        )
        for org_id in sorted(event.host_ids)
    ]


def _record_view_unless_recent(event: Event, actor, now: datetime) -> None:
    """ROSTER_VIEWED in each host's log unless this person viewed this roster within the quiet
    window: one INSERT ... SELECT ... WHERE NOT EXISTS, the same statement on every visit."""
    actor_id, actor_name = _actor(actor)
    earlier = aliased(AuditEntry)
    recent = (
        select(earlier.id)
        .where(
            earlier.organization_id == Organization.id,
            earlier.created_at > now - ROSTER_VIEW_QUIET,
            earlier.action == au.ROSTER_VIEWED,
            earlier.target_id == event.id,
            earlier.actor_id == actor_id if actor_id is not None else false(),
        )
        .exists()
    )
    rows = select(
        Organization.id,
        literal(actor_id, Integer),
        literal(actor_name, String),
        literal(au.ROSTER_VIEWED, String),
        literal(au.TARGET_EVENT, String),
        literal(event.id, Integer),
        literal(_snapshot(event.title), String),
        literal("{}", Text),
        literal(now, UTCDateTime()),
    ).where(Organization.id.in_(sorted(event.host_ids)), ~recent)
    columns = (
        "organization_id", "actor_id", "actor_name", "action", "target_type", "target_id",
        "target_label", "details", "created_at",
    )  # fmt: skip
    db.session.execute(insert(AuditEntry).from_select(columns, rows))


def record_access(
    event: Event, actor, action: str, now: datetime, details: dict | None = None
) -> None:
    """Record that an organizer read or took volunteers' data, and commit (nothing else
    changes). Repeated roster views within ROSTER_VIEW_QUIET make one entry."""
    if action == au.ROSTER_VIEWED:
        _record_view_unless_recent(event, actor, now)
    else:
        record_for_event(event, actor, action, now, details)
    db.session.commit()


def record_message(event: Event, actor, subject: str, recipients: int, sent: int, now) -> None:
    """An organizer's email to the volunteers: its subject (the organizer's words) and counts."""
    details = {"subject": _snapshot(subject, SUBJECT_MAX), "recipients": recipients, "sent": sent}
    record_access(event, actor, au.VOLUNTEERS_MESSAGED, now, details)


def record_member(
    membership: Membership, actor, action: str, now: datetime, details: dict | None = None
) -> AuditEntry:
    """A change to a co-lead's membership; their name is kept (organizers' names are fine)."""
    return record(
        membership.organization_id,
        actor,
        action,
        now,
        target_type=au.TARGET_MEMBER,
        target_id=membership.user_id,
        target_label=membership.user.name if membership.user is not None else "",
        details=details,
    )


def webhook_label(url: str) -> str:
    """Only the host of a webhook's address: its path or query may hold a receiver's secret."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    page: int
    has_next: bool


def entries_of(org: Organization, page: int = 1, per_page: int = PER_PAGE) -> AuditPage:
    """One page of the organization's log, newest first: one query whatever its length."""
    page = max(1, min(page, MAX_PAGE))
    rows = list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.organization_id == org.id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    return AuditPage(rows[:per_page], page, len(rows) > per_page)


def details_of(entry: AuditEntry) -> dict:
    try:
        value = json.loads(entry.details or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
