"""Who may manage what: organizers of an action's hosting organizations, and site administrators."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Event, Membership, Organization, User
from ..models.organization import ROLE_OWNER


def _real_user(user) -> User | None:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def membership(user, organization: Organization) -> Membership | None:
    user = _real_user(user)
    if user is None:
        return None
    return db.session.scalar(
        select(Membership).where(
            Membership.organization_id == organization.id, Membership.user_id == user.id
        )
    )


def is_organizer_of(user, organization: Organization) -> bool:
    user = _real_user(user)
    return user is not None and (user.is_admin or membership(user, organization) is not None)


def is_owner_of(user, organization: Organization) -> bool:
    user = _real_user(user)
    if user is None:
        return False
    if user.is_admin:
        return True
    member = membership(user, organization)
    return member is not None and member.role == ROLE_OWNER


def organization_ids_of(user) -> set[int]:
    user = _real_user(user)
    if user is None:
        return set()
    return set(
        db.session.scalars(select(Membership.organization_id).where(Membership.user_id == user.id))
    )


def can_manage_event(user, event: Event) -> bool:
    """Organizers of the host and of co-hosts that accepted (event.host_ids), and admins."""
    user = _real_user(user)
    if user is None:
        return False
    return user.is_admin or bool(organization_ids_of(user) & event.host_ids)


def can_change_cohosts(user, event: Event) -> bool:
    """Only the primary host (or an admin) asks or drops co-hosts: a co-host can't add others."""
    return is_organizer_of(user, event.organization)
