"""What an organization's API token may read: the sign-ups of the actions it hosts, and the
digest subscribers who follow it. Pages go by id (a cursor), each page one query."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Event, Organization, Signup, Subscription, SubscriptionOrganization
from ..models.digest import SUB_ACTIVE
from .events import hosted_by


def signups_of(
    org: Organization,
    *,
    after_id: int,
    limit: int,
    event_id: int | None = None,
    status: str | None = None,
) -> list[Signup]:
    """Sign-ups of every action `org` hosts or co-hosts (accepted), oldest first."""
    query = (
        select(Signup)
        .join(Event, Event.id == Signup.event_id)
        .where(hosted_by(org.id), Signup.id > after_id)
        .order_by(Signup.id)
        .limit(limit)
    )
    if event_id is not None:
        query = query.where(Signup.event_id == event_id)
    if status is not None:
        query = query.where(Signup.status == status)
    return list(db.session.scalars(query))


def subscribers_of(org: Organization, *, after_id: int, limit: int) -> list[Subscription]:
    """Confirmed digest subscribers who chose to follow `org` (not pending, not unsubscribed)."""
    return list(
        db.session.scalars(
            select(Subscription)
            .join(
                SubscriptionOrganization,
                SubscriptionOrganization.subscription_id == Subscription.id,
            )
            .where(
                SubscriptionOrganization.organization_id == org.id,
                Subscription.status == SUB_ACTIVE,
                Subscription.id > after_id,
            )
            .order_by(Subscription.id)
            .limit(limit)
        )
    )
