"""All models, imported here so Alembic and the app see every table."""

from .api_token import ApiToken
from .audit import AuditEntry
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
from .network import NetworkMembership
from .organization import Invitation, Membership, Organization
from .outbox import OutboxMessage
from .series import EventSeries, ReminderDelivery, Shift, StandingSignup
from .signup import Signup
from .user import User
from .webhook import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiToken",
    "AuditEntry",
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
    "NetworkMembership",
    "Organization",
    "OutboxMessage",
    "ReminderDelivery",
    "Shift",
    "Signup",
    "StandingSignup",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
