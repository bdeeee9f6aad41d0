"""All models, imported here so Alembic and the app see every table."""

from .digest import (
    DigestDelivery,
    DigestRun,
    Highlight,
    Subscription,
    SubscriptionCause,
    SubscriptionOrganization,
    SubscriptionRegion,
)
from .event import Event, EventCause, EventHost, EventTranslation
from .organization import Invitation, Membership, Organization
from .series import EventSeries, ReminderDelivery, Shift, StandingSignup
from .signup import Signup
from .user import User

__all__ = [
    "DigestDelivery",
    "DigestRun",
    "Highlight",
    "Subscription",
    "SubscriptionCause",
    "SubscriptionOrganization",
    "SubscriptionRegion",
    "Event",
    "EventCause",
    "EventHost",
    "EventTranslation",
    "EventSeries",
    "Invitation",
    "Membership",
    "Organization",
    "ReminderDelivery",
    "Shift",
    "Signup",
    "StandingSignup",
    "User",
]
