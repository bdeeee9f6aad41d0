"""Test data builders: each returns a committed model with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from werkzeug.security import generate_password_hash

from organizer.extensions import db
from organizer.markdown import render_markdown
from organizer.models import Event, EventCause, EventHost, Membership, Organization, Signup, User
from organizer.models.organization import ROLE_OWNER

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = None


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = generate_password_hash(PASSWORD)
    return _PASSWORD_HASH


def now() -> datetime:
    return datetime.now(UTC)


def make_user(email: str | None = None, name: str | None = None, **kwargs) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.org",
        name=name or f"User {n}",
        password_hash=_password_hash(),
        email_confirmed_at=kwargs.pop("email_confirmed_at", now()),
        **kwargs,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_org(slug: str | None = None, owner: User | None = None, **kwargs) -> Organization:
    n = next(_seq)
    org = Organization(
        slug=slug or f"org-{n}",
        name=kwargs.pop("name", f"Organization {n}"),
        timezone=kwargs.pop("timezone", "Asia/Jerusalem"),
        description=kwargs.pop("description", "We bring people together."),
        **kwargs,
    )
    db.session.add(org)
    if owner is not None:
        db.session.add(Membership(organization=org, user=owner, role=ROLE_OWNER))
    db.session.commit()
    return org


def make_event(
    org: Organization | None = None,
    *,
    starts_in: timedelta = timedelta(days=3),
    duration: timedelta = timedelta(hours=2),
    causes: tuple[str, ...] = ("peace",),
    cohosts: tuple[Organization, ...] = (),
    pending_cohosts: tuple[Organization, ...] = (),
    **kwargs,
) -> Event:
    n = next(_seq)
    org = org or make_org()
    start = kwargs.pop("starts_at", now() + starts_in)
    description = kwargs.pop("description_md", "Join us.")
    event = Event(
        organization=org,
        title=kwargs.pop("title", f"Action {n}"),
        description_md=description,
        description_html=render_markdown(description),
        kind=kwargs.pop("kind", "rally"),
        region=kwargs.pop("region", "jerusalem"),
        city=kwargs.pop("city", "Jerusalem"),
        starts_at=start,
        ends_at=kwargs.pop("ends_at", start + duration),
        timezone=kwargs.pop("timezone", org.timezone),
        address=kwargs.pop("address", "Paris Square"),
        status=kwargs.pop("status", "published"),
        **kwargs,
    )
    event.causes = [EventCause(cause=c) for c in causes]
    # `cohosts` accepted already; `pending_cohosts` asked and not yet answered.
    event.cohosts = [EventHost(organization=o, status="accepted") for o in cohosts] + [
        EventHost(organization=o, status="pending") for o in pending_cohosts
    ]
    db.session.add(event)
    db.session.commit()
    return event


def make_signup(event: Event, status: str = "confirmed", **kwargs) -> Signup:
    n = next(_seq)
    t = kwargs.pop("created_at", now())
    signup = Signup(
        event=event,
        name=kwargs.pop("name", f"Volunteer {n}"),
        email=kwargs.pop("email", f"volunteer{n}@example.org"),
        phone=kwargs.pop("phone", ""),
        status=status,
        created_at=t,
        queued_at=t,
        confirmed_at=t if status == "confirmed" else None,
        **kwargs,
    )
    db.session.add(signup)
    db.session.commit()
    return signup


def make_subscription(
    email: str | None = None,
    *,
    organizations: tuple[Organization, ...] = (),
    causes: tuple[str, ...] = (),
    regions: tuple[str, ...] = (),
    **kwargs,
):
    """A digest subscription, confirmed (active) unless a status is given."""
    from organizer.models.digest import (
        SUB_ACTIVE,
        Subscription,
        SubscriptionCause,
        SubscriptionOrganization,
        SubscriptionRegion,
    )

    n = next(_seq)
    status = kwargs.pop("status", SUB_ACTIVE)
    subscription = Subscription(
        email=(email or f"subscriber{n}@example.org").lower(),
        name=kwargs.pop("name", f"Subscriber {n}"),
        locale=kwargs.pop("locale", "en"),
        timezone=kwargs.pop("timezone", "Asia/Jerusalem"),
        weekday=kwargs.pop("weekday", 1),
        hour=kwargs.pop("hour", 9),
        max_actions=kwargs.pop("max_actions", 3),
        status=status,
        confirmed_at=kwargs.pop("confirmed_at", now() if status == SUB_ACTIVE else None),
        **kwargs,
    )
    subscription.organizations = [SubscriptionOrganization(organization=o) for o in organizations]
    subscription.causes = [SubscriptionCause(cause=c) for c in causes]
    subscription.regions = [SubscriptionRegion(region=r) for r in regions]
    db.session.add(subscription)
    db.session.commit()
    return subscription


def make_series(
    org: Organization | None = None,
    *,
    first: datetime,
    rule: str = "FREQ=WEEKLY",
    created: datetime | None = None,
    duration: timedelta = timedelta(hours=2),
    horizon_weeks: int = 12,
    **kwargs,
):
    """A recurring action: its first date at `first` (UTC), repeating by `rule` on the
    organization's clock, materialized as of `created` (default: a day before the first)."""
    from organizer.services.series import create_series

    event = make_event(org, starts_at=first, ends_at=first + duration, **kwargs)
    return create_series(
        event, rule, created or first - timedelta(days=1), horizon_weeks=horizon_weeks
    )


def make_shift(event: Event, name: str | None = None, capacity: int | None = None, **kwargs):
    """A shift of `event`, after its existing ones; times (UTC) optional."""
    from organizer.models import Shift

    n = next(_seq)
    shift = Shift(
        event=event,
        name=name or f"Shift {n}",
        capacity=capacity,
        position=kwargs.pop("position", len(event.shifts)),
        **kwargs,
    )
    db.session.add(shift)
    db.session.commit()
    return shift
