"""Digest subscriptions: double opt-in, preferences by signed link, unsubscribing, bounces.

Nobody learns from the subscribe form whether an address is subscribed: every valid request
gets the same answer, and only the inbox learns more (a confirmation link, or for an address
already subscribed, its preferences link). An anonymous request never changes an active
subscription; only its signed links do.

Links carry [subscription id, token_version]. Unsubscribing and re-subscribing bump the
version, so every link sent before (confirm, preferences, unsubscribe) stops acting on the
subscription that follows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..choices import CAUSES, REGIONS
from ..email import send_email
from ..extensions import db
from ..models import Organization, User
from ..models.digest import (
    SUB_ACTIVE,
    SUB_PENDING,
    SUB_SUSPENDED,
    SUB_UNSUBSCRIBED,
    TUESDAY,
    Subscription,
    SubscriptionCause,
    SubscriptionOrganization,
    SubscriptionRegion,
)
from ..tokens import InvalidToken, make_token, read_token
from ..web import absolute_url
from .accounts import is_valid_timezone, normalize_email
from .errors import InvalidAccountData, InvalidInput, NotFound

CONFIRM_PURPOSE = "digest-confirm"
PREFS_PURPOSE = "digest-prefs"
UNSUBSCRIBE_PURPOSE = "digest-unsubscribe"
CONFIRM_MAX_AGE = 7 * 24 * 3600  # seconds a confirmation link works
BOUNCES_BEFORE_SUSPENSION = 3
NAME_MAX = 120
MAX_ACTIONS_MIN, MAX_ACTIONS_MAX = 1, 10
DEFAULT_HOUR = 9
DEFAULT_MAX_ACTIONS = 3


@dataclass(frozen=True)
class Preferences:
    """What a subscriber chooses; everything but the address."""

    name: str = ""
    organization_ids: frozenset[int] = frozenset()
    causes: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    locale: str = "en"
    timezone: str = "UTC"
    weekday: int = TUESDAY
    hour: int = DEFAULT_HOUR
    max_actions: int = DEFAULT_MAX_ACTIONS


def preferences_of(subscription: Subscription) -> Preferences:
    return Preferences(
        name=subscription.name,
        organization_ids=frozenset(subscription.organization_ids),
        causes=frozenset(subscription.cause_slugs),
        regions=frozenset(subscription.region_slugs),
        locale=subscription.locale,
        timezone=subscription.timezone,
        weekday=subscription.weekday,
        hour=subscription.hour,
        max_actions=subscription.max_actions,
    )


# ---- rules ---------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def clean_preferences(
    *,
    name: str | None,
    organization_ids: Iterable[int],
    causes: Iterable[str],
    regions: Iterable[str],
    locale: str,
    timezone: str,
    weekday: int,
    hour: int,
    max_actions: int,
) -> Preferences:
    """Every value checked, all errors at once (InvalidInput), nothing read but organization ids."""
    errors: dict[str, object] = {}
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX or "\x00" in name:
        errors["name"] = _l("Use at most %(num)d characters.", num=NAME_MAX)
    org_ids = frozenset(organization_ids)
    if not all(_is_int(i) for i in org_ids):
        errors["organizations"] = _l("Choose organizations from the list.")
    elif org_ids:
        found = db.session.scalars(
            select(Organization.id).where(Organization.id.in_(sorted(org_ids)))
        ).all()
        if len(found) != len(org_ids):
            errors["organizations"] = _l("Choose organizations from the list.")
    cause_set, region_set = frozenset(causes), frozenset(regions)
    if not cause_set <= CAUSES.keys():
        errors["causes"] = _l("Choose causes from the list.")
    if not region_set <= REGIONS.keys():
        errors["regions"] = _l("Choose regions from the list.")
    if locale not in current_app.config["LANGUAGES"]:
        errors["locale"] = _l("Choose a language from the list.")
    if not isinstance(timezone, str) or not is_valid_timezone(timezone):
        errors["timezone"] = _l("Choose a time zone from the list, such as Asia/Jerusalem.")
    if not _is_int(weekday) or not 0 <= weekday <= 6:
        errors["weekday"] = _l("Choose a day of the week.")
    if not _is_int(hour) or not 0 <= hour <= 23:
        errors["hour"] = _l("Choose an hour between 0 and 23.")
    if not _is_int(max_actions) or not MAX_ACTIONS_MIN <= max_actions <= MAX_ACTIONS_MAX:
        errors["max_actions"] = _l(
            "Choose between %(low)d and %(high)d.", low=MAX_ACTIONS_MIN, high=MAX_ACTIONS_MAX
        )
    if errors:
        raise InvalidInput(errors)
    return Preferences(
        name=name,
        organization_ids=org_ids,
        causes=cause_set,
        regions=region_set,
        locale=locale,
        timezone=timezone,
        weekday=weekday,
        hour=hour,
        max_actions=max_actions,
    )


def _clean_email(address: str) -> str:
    try:
        return normalize_email(address)
    except InvalidAccountData as exc:
        raise InvalidInput({"email": _l("Enter a valid email address.")}) from exc


def _apply(subscription: Subscription, prefs: Preferences) -> None:
    """Write the preferences, changing only the follows that changed (no delete + re-insert)."""
    subscription.name = prefs.name
    subscription.locale = prefs.locale
    subscription.timezone = prefs.timezone
    subscription.weekday = prefs.weekday
    subscription.hour = prefs.hour
    subscription.max_actions = prefs.max_actions
    subscription.organizations = [
        f for f in subscription.organizations if f.organization_id in prefs.organization_ids
    ] + [
        SubscriptionOrganization(organization_id=i)
        for i in sorted(prefs.organization_ids - subscription.organization_ids)
    ]
    subscription.causes = [c for c in subscription.causes if c.cause in prefs.causes] + [
        SubscriptionCause(cause=c) for c in sorted(prefs.causes - subscription.cause_slugs)
    ]
    subscription.regions = [r for r in subscription.regions if r.region in prefs.regions] + [
        SubscriptionRegion(region=r) for r in sorted(prefs.regions - subscription.region_slugs)
    ]


def _by_email(address: str) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(func.lower(Subscription.email) == address))


def _owns(user: User | None, address: str) -> bool:
    """A logged-in user whose confirmed account address is this one has proved the inbox."""
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.email_confirmed_at is not None
        and user.email.lower() == address
    )


# ---- subscribing ---------------------------------------------------------------------------


def subscribe(
    email: str,
    *,
    name: str | None,
    organization_ids: Iterable[int],
    causes: Iterable[str],
    regions: Iterable[str],
    locale: str,
    timezone: str,
    weekday: int,
    hour: int,
    max_actions: int,
    now: datetime,
    user: User | None = None,
) -> Subscription:
    """Start (or restart) the double opt-in for an address and email it; InvalidInput if bad.

    New, pending, unsubscribed or suspended: the preferences are saved, the subscription is
    pending and a confirmation link goes out. Active: nothing changes and the address gets its
    preferences link. With `user` owning the address, it is active at once instead.
    """
    address = _clean_email(email)
    prefs = clean_preferences(
        name=name,
        organization_ids=organization_ids,
        causes=causes,
        regions=regions,
        locale=locale,
        timezone=timezone,
        weekday=weekday,
        hour=hour,
        max_actions=max_actions,
    )
    if _owns(user, address):
        return _save_for_user(user, prefs, now)
    for attempt in range(2):
        subscription = _by_email(address)
        if subscription is not None and subscription.status == SUB_ACTIVE:
            _send_already_subscribed(subscription)
            return subscription
        if subscription is None:
            subscription = Subscription(email=address, status=SUB_PENDING, created_at=now)
            db.session.add(subscription)
        elif subscription.status != SUB_PENDING:
            _restart(subscription)
        _apply(subscription, prefs)
        try:
            db.session.commit()
        except IntegrityError:  # the same address arrived twice at once: use the winner
            db.session.rollback()
            if attempt:
                raise
            continue
        _send_confirmation(subscription)
        return subscription
    raise AssertionError("unreachable")  # pragma: no cover


def _restart(subscription: Subscription) -> None:
    """An unsubscribed or suspended address starts over: pending, older links void."""
    subscription.status = SUB_PENDING
    subscription.token_version += 1
    subscription.confirmed_at = None
    subscription.bounce_count = 0


def confirm(token: str, now: datetime, max_age: int | None = CONFIRM_MAX_AGE) -> Subscription:
    """Activate the subscription a confirmation link names; confirming again changes nothing.

    InvalidToken (expired or not) for a bad link; NotFound for a link an unsubscribe or a
    newer subscription has voided.
    """
    subscription = _from_link(CONFIRM_PURPOSE, token, max_age)
    if subscription.status == SUB_PENDING:
        subscription.status = SUB_ACTIVE
        subscription.confirmed_at = now
        subscription.bounce_count = 0
        db.session.commit()
    elif subscription.status != SUB_ACTIVE:
        raise NotFound(subscription.id)
    return subscription


def update_preferences(subscription: Subscription, **values) -> Subscription:
    """Save new preferences (the keywords of clean_preferences) for a subscription's own link."""
    prefs = clean_preferences(**values)
    if subscription.status == SUB_UNSUBSCRIBED:
        raise NotFound(subscription.id)
    _apply(subscription, prefs)
    db.session.commit()
    return subscription


def find_for_user(user: User) -> Subscription | None:
    """The subscription of the user's confirmed account address, if any."""
    if user.email_confirmed_at is None:
        return None
    return _by_email(user.email.lower())


def save_for_user(user: User, *, now: datetime, **values) -> Subscription:
    """Create or update the logged-in user's subscription (keywords of clean_preferences).

    Their confirmed account address needs no emailed link, so saving also (re)activates it.
    """
    return _save_for_user(user, clean_preferences(**values), now)


def _save_for_user(user: User, prefs: Preferences, now: datetime) -> Subscription:
    if user.email_confirmed_at is None:
        raise InvalidInput({"email": _l("Confirm your account's email address first.")})
    subscription = find_for_user(user)
    if subscription is None:
        subscription = Subscription(email=user.email.lower(), created_at=now)
        db.session.add(subscription)
    elif subscription.status == SUB_UNSUBSCRIBED:
        subscription.token_version += 1
    if subscription.status != SUB_ACTIVE:
        subscription.status = SUB_ACTIVE
        subscription.confirmed_at = now
        subscription.bounce_count = 0
    subscription.user_id = user.id
    _apply(subscription, prefs)
    db.session.commit()
    return subscription


# ---- leaving, and bounces ------------------------------------------------------------------


def unsubscribe(subscription_id: int, now: datetime, token_version: int | None = None) -> bool:
    """Stop the digest at once; True if this call did it, False if there was nothing to stop.

    With `token_version` (from a link), a link older than the subscription does nothing.
    """
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.status == SUB_UNSUBSCRIBED:
        return False
    if token_version is not None and token_version != subscription.token_version:
        return False
    subscription.status = SUB_UNSUBSCRIBED
    subscription.unsubscribed_at = now
    subscription.token_version += 1
    db.session.commit()
    return True


def unsubscribe_by_token(token: str, now: datetime) -> bool:
    """One-click unsubscribe: InvalidToken if forged; True if done now, False if already done."""
    subscription_id, version = read_link(UNSUBSCRIBE_PURPOSE, token)
    return unsubscribe(subscription_id, now, token_version=version)


def record_bounce(subscription_id: int, now: datetime) -> Subscription | None:
    """A hard bounce (5xx); the third (over the subscription's life) suspends it."""
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None:
        return None
    subscription.bounce_count += 1
    if subscription.bounce_count >= BOUNCES_BEFORE_SUSPENSION and subscription.status == SUB_ACTIVE:
        subscription.status = SUB_SUSPENDED
    db.session.commit()
    return subscription


# ---- links ---------------------------------------------------------------------------------


def link_token(purpose: str, subscription: Subscription) -> str:
    """A signed [id, token_version]; confirmation links also carry the time (they expire).

    Preference and unsubscribe links never expire and go into every digest, so they are a
    compact HMAC ("id.version.signature", one hash per link) rather than a timed
    serializer, which costs ten times as much per subscriber in a 100,000-message run.
    """
    if purpose == CONFIRM_PURPOSE:
        return make_token(purpose, [subscription.id, subscription.token_version])
    body = f"{subscription.id}.{subscription.token_version}"
    return f"{body}.{_signature(purpose, body)}"


def read_link(purpose: str, token: str, max_age: int | None = None) -> tuple[int, int]:
    """[id, version] from a signed link; InvalidToken if tampered, foreign or expired."""
    if purpose == CONFIRM_PURPOSE:
        payload = read_token(purpose, token, max_age=max_age)
    else:
        payload = _read_compact(purpose, token)
    if not (isinstance(payload, list) and len(payload) == 2 and all(map(_is_int, payload))):
        raise InvalidToken()
    return payload[0], payload[1]


@lru_cache(maxsize=16)
def _link_key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"organizer.{purpose}".encode(), hashlib.sha256).digest()


def _signature(purpose: str, body: str) -> str:
    key = _link_key(current_app.config["SECRET_KEY"], purpose)
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:18]  # 144 bits
    return base64.urlsafe_b64encode(digest).decode()


def _read_compact(purpose: str, token: str) -> list[int]:
    parts = token.split(".") if isinstance(token, str) and len(token) <= 80 else []
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        raise InvalidToken()
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2].encode(), _signature(purpose, body).encode()):
        raise InvalidToken()
    return [int(parts[0]), int(parts[1])]


def _from_link(purpose: str, token: str, max_age: int | None = None) -> Subscription:
    subscription_id, version = read_link(purpose, token, max_age)
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.token_version != version:
        raise NotFound(subscription_id)
    return subscription


def subscription_for_preferences(token: str) -> Subscription:
    """InvalidToken if forged; NotFound if unsubscribed since or voided by a re-subscription."""
    subscription = _from_link(PREFS_PURPOSE, token)
    if subscription.status == SUB_UNSUBSCRIBED:
        raise NotFound(subscription.id)
    return subscription


def subscription_for_unsubscribe(token: str) -> Subscription | None:
    """The subscription a link would stop; None if it is already stopped. InvalidToken if forged."""
    subscription_id, version = read_link(UNSUBSCRIBE_PURPOSE, token)
    subscription = db.session.get(Subscription, subscription_id)
    if (
        subscription is None
        or subscription.token_version != version
        or subscription.status == SUB_UNSUBSCRIBED
    ):
        return None
    return subscription


def _absolute(endpoint: str, **values) -> str:
    """absolute_url, also without a request (the digest sender builds 100,000 of these)."""
    if has_request_context():
        return absolute_url(endpoint, **values)
    root = current_app.config.get("APPLICATION_ROOT") or "/"
    adapter = current_app.url_map.bind("localhost", script_name=root)
    return current_app.config["PUBLIC_URL"] + adapter.build(endpoint, values)


def confirm_url(subscription: Subscription) -> str:
    return _absolute("digests.confirm", token=link_token(CONFIRM_PURPOSE, subscription))


def preferences_url(subscription: Subscription) -> str:
    return _absolute("digests.preferences", token=link_token(PREFS_PURPOSE, subscription))


def unsubscribe_url(subscription: Subscription) -> str:
    """The List-Unsubscribe URL: GET shows one button, POST (RFC 8058 one-click) acts at once."""
    return _absolute("digests.unsubscribe", token=link_token(UNSUBSCRIBE_PURPOSE, subscription))


# ---- emails --------------------------------------------------------------------------------


def _send_confirmation(subscription: Subscription) -> None:
    send_email(
        subscription.email,
        "digest_confirm",
        subscription.locale,
        subscription=subscription,
        already_active=False,
        confirm_url=confirm_url(subscription),
        max_age_days=CONFIRM_MAX_AGE // 86400,
    )


def _send_already_subscribed(subscription: Subscription) -> None:
    send_email(
        subscription.email,
        "digest_confirm",
        subscription.locale,
        subscription=subscription,
        already_active=True,
        preferences_url=preferences_url(subscription),
        unsubscribe_url=unsubscribe_url(subscription),
    )
