"""Privacy rights: everyone may download what is stored about them, and have it erased.

A volunteer with an account does both from their profile (deleting asks for the password);
a guest who signed up with only an email does both from a signed, expiring link sent to that
address. Erasing goes through the sign-up services, so places freed go to the waitlist (whose
promoted volunteers are emailed) and organizers' counts stay right; then the rows that make
those counts are kept without anything personal (`anonymize`). `purge` does the same for
guests' sign-ups some time after their action ended (GUEST_DATA_RETENTION_DAYS).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload
from werkzeug.security import check_password_hash

from ..extensions import db
from ..models import (
    Event,
    EventSeries,
    Invitation,
    Membership,
    Organization,
    OutboxMessage,
    Signup,
    StandingSignup,
    Subscription,
    SubscriptionOrganization,
    User,
    WebhookDelivery,
)
from ..models import signup as st
from ..models import webhook as wh
from ..models.digest import SUB_PENDING, SUB_UNSUBSCRIBED
from ..models.organization import ROLE_OWNER
from ..models.signup import ANONYMOUS_DOMAIN  # .invalid: no mail ever goes there (RFC 2606)
from ..tokens import InvalidToken, make_token, read_token
from . import notifications, outbox
from . import series as series_service
from . import signups as signup_service
from .accounts import normalize_email
from .attendance import signups_of
from .errors import DomainError, InvalidTransition, NotFound, WrongPassword

GUEST_PURPOSE = "privacy-guest"
EXPORT_VERSION = 1


class LastOwner(DomainError):
    """The account is the last owner of these organizations: someone must take them over first."""

    def __init__(self, organizations: list[Organization]) -> None:
        super().__init__(", ".join(org.slug for org in organizations))
        self.organizations = organizations


# --- who is who -------------------------------------------------------------------------------


def _guest_signups(address: str) -> ColumnElement[bool]:
    return Signup.email == address


def _standing_of(user: User | None, address: str | None) -> ColumnElement[bool]:
    conditions = []
    if user is not None:
        conditions.append(StandingSignup.user_id == user.id)
    if address:
        conditions.append(func.lower(StandingSignup.email) == address)
    return or_(*conditions)


def _subscriptions_of(user: User | None, address: str | None) -> ColumnElement[bool]:
    conditions = []
    if user is not None:
        conditions.append(Subscription.user_id == user.id)
    if address:
        conditions.append(func.lower(Subscription.email) == address)
    return or_(*conditions)


def _confirmed_address(user: User) -> str | None:
    """The address a user proved is theirs: what their guest sign-ups were made with."""
    return user.email.strip().lower() if user.email_confirmed else None


# --- export -----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _action(event: Event, signup: Signup, now: datetime) -> dict:
    """The action as this volunteer may see it: a hidden place only once they may see it."""
    data = {
        "id": event.id,
        "title": event.title,
        "organization": event.organization.name,
        "starts_at": _iso(event.starts_at),
        "ends_at": _iso(event.ends_at),
        "timezone": event.timezone,
        "status": event.status,
        "place": event.public_place,
        "online": event.is_online,
    }
    if signup_service.can_see_location(event, signup, now):
        data["address"] = event.address
        data["online_url"] = event.online_url
    else:
        data["location_hidden"] = True
    return data


def _signup(signup: Signup, now: datetime) -> dict:
    shift = signup.shift
    return {
        "id": signup.id,
        "action": _action(signup.event, signup, now),
        "shift": (
            {"name": shift.name, "starts_at": _iso(shift.starts_at), "ends_at": _iso(shift.ends_at)}
            if shift is not None
            else None
        ),
        "status": signup.status,
        "attendance": signup.attendance,
        "name": signup.name,
        "email": signup.email,
        "phone": signup.phone,
        "language": signup.locale,
        "signed_up_at": _iso(signup.created_at),
        "confirmed_at": _iso(signup.confirmed_at),
        "cancelled_at": _iso(signup.cancelled_at),
        "checked_in_at": _iso(signup.checked_in_at),
        "checked_out_at": _iso(signup.checked_out_at),
        "every_week": signup.standing_signup_id is not None,
    }


def _signups(condition: ColumnElement[bool]) -> list[Signup]:
    return list(
        db.session.scalars(
            select(Signup)
            .join(Signup.event)
            .where(condition)
            .options(
                contains_eager(Signup.event).joinedload(Event.organization),
                joinedload(Signup.shift),
            )
            .order_by(Event.starts_at, Event.id, Signup.id)
        ).unique()
    )


def _standing(condition: ColumnElement[bool]) -> list[dict]:
    rows = list(
        db.session.scalars(
            select(StandingSignup)
            .where(condition)
            .options(joinedload(StandingSignup.series).joinedload(EventSeries.organization))
            .order_by(StandingSignup.id)
        )
    )
    titles: dict[int, str] = {}
    if rows:  # each series by its latest date's title, in one query
        for series_id, title in db.session.execute(
            select(Event.series_id, Event.title)
            .where(Event.series_id.in_({row.series_id for row in rows}))
            .order_by(Event.starts_at)
        ):
            titles[series_id] = title
    return [
        {
            "id": row.id,
            "series": {
                "id": row.series_id,
                "title": titles.get(row.series_id, ""),
                "organization": row.series.organization.name,
                "rule": row.series.rule,
            },
            "name": row.name,
            "email": row.email,
            "phone": row.phone,
            "language": row.locale,
            "started_at": _iso(row.created_at),
            "stopped_at": _iso(row.cancelled_at),
        }
        for row in rows
    ]


def _subscriptions(condition: ColumnElement[bool]) -> list[dict]:
    rows = db.session.scalars(
        select(Subscription)
        .where(condition)
        .options(
            selectinload(Subscription.organizations).joinedload(
                SubscriptionOrganization.organization
            ),
            selectinload(Subscription.causes),
            selectinload(Subscription.regions),
        )
        .order_by(Subscription.id)
    )
    return [
        {
            "email": sub.email,
            "name": sub.name,
            "status": sub.status,
            "language": sub.locale,
            "timezone": sub.timezone,
            "weekday": sub.weekday,
            "hour": sub.hour,
            "max_actions": sub.max_actions,
            "organizations": sorted(f.organization.name for f in sub.organizations),
            "causes": sorted(sub.cause_slugs),
            "regions": sorted(sub.region_slugs),
            "subscribed_at": _iso(sub.created_at),
            "confirmed_at": _iso(sub.confirmed_at),
            "unsubscribed_at": _iso(sub.unsubscribed_at),
        }
        for sub in rows
    ]


def _waiting_emails(addresses: Iterable[str]) -> list[dict]:
    wanted = [a for a in addresses if a]
    if not wanted:
        return []
    rows = db.session.execute(
        select(OutboxMessage.created_at, OutboxMessage.attempts, OutboxMessage.next_attempt_at)
        .where(OutboxMessage.to.in_(wanted))
        .order_by(OutboxMessage.id)
    )
    return [
        {"first_tried_at": _iso(created), "attempts": attempts, "given_up": retry is None}
        for created, attempts, retry in rows
    ]


def _split(signups: list[Signup], now: datetime) -> dict:
    return {
        "signups": [_signup(s, now) for s in signups if s.shift_id is None],
        "shift_signups": [_signup(s, now) for s in signups if s.shift_id is not None],
    }


def export_user(user: User, now: datetime) -> dict:
    """Everything stored about an account holder, as JSON-ready data; nobody else's."""
    address = _confirmed_address(user)
    memberships = db.session.scalars(
        select(Membership)
        .where(Membership.user_id == user.id)
        .options(joinedload(Membership.organization))
        .order_by(Membership.id)
    )
    invitations = db.session.scalars(
        select(Invitation)
        .where(func.lower(Invitation.email) == user.email.strip().lower())
        .options(joinedload(Invitation.organization))
        .order_by(Invitation.id)
    )
    return {
        "format": EXPORT_VERSION,
        "exported_at": _iso(now),
        "account": {
            "email": user.email,
            "email_confirmed_at": _iso(user.email_confirmed_at),
            "name": user.name,
            "phone": user.phone,
            "language": user.locale,
            "timezone": user.timezone,
            "created_at": _iso(user.created_at),
            "site_administrator": user.is_admin,
            "personal_calendar_link": user.calendar_token is not None,
        },
        **_split(_signups(signups_of(user)), now),
        "standing_signups": _standing(_standing_of(user, address)),
        "digest_subscriptions": _subscriptions(_subscriptions_of(user, address)),
        "organizations": [
            {
                "organization": m.organization.name,
                "slug": m.organization.slug,
                "role": m.role,
                "since": _iso(m.created_at),
            }
            for m in memberships
        ],
        "invitations": [
            {
                "organization": inv.organization.name,
                "role": inv.role,
                "sent_at": _iso(inv.created_at),
                "accepted_at": _iso(inv.accepted_at),
                "revoked_at": _iso(inv.revoked_at),
            }
            for inv in invitations
        ],
        "emails_waiting_to_be_sent": _waiting_emails([address or user.email.lower()]),
    }


def export_guest(address: str, now: datetime) -> dict:
    """Everything stored under an email address (its owner proved it with the emailed link)."""
    return {
        "format": EXPORT_VERSION,
        "exported_at": _iso(now),
        "email": address,
        **_split(_signups(_guest_signups(address)), now),
        "standing_signups": _standing(_standing_of(None, address)),
        "digest_subscriptions": _subscriptions(_subscriptions_of(None, address)),
        "emails_waiting_to_be_sent": _waiting_emails([address]),
    }


def to_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# --- erasure ----------------------------------------------------------------------------------


@dataclass
class Erased:
    """What an erasure did (for the confirmation message and the purge summary)."""

    cancelled: int = 0  # places, waitlist spots and requests given up
    promoted: int = 0  # waitlisted volunteers who got a freed place
    anonymized: int = 0  # sign-up rows kept for the counts, without personal data
    standing_stopped: int = 0
    subscriptions: int = 0
    emails_dropped: int = 0
    webhook_logs_redacted: int = 0
    people: set[str] = field(default_factory=set)


def _stop_standing(condition: ColumnElement[bool], now: datetime, result: Erased) -> None:
    """Stop "every week" sign-ups the proper way: their coming dates are cancelled and the
    waitlists move up (stop_standing emails the promoted)."""
    ids = list(
        db.session.scalars(
            select(StandingSignup.id).where(condition, StandingSignup.cancelled_at.is_(None))
        )
    )
    for standing_id in ids:
        try:
            result.cancelled += len(series_service.stop_standing(standing_id, now))
        except (InvalidTransition, NotFound):
            continue  # stopped meanwhile
        result.standing_stopped += 1


def _cancel_coming(condition: ColumnElement[bool], now: datetime, result: Erased) -> None:
    """Give up every place still held in an action not over, through the sign-ups service."""
    ids = list(
        db.session.scalars(
            select(Signup.id)
            .join(Event, Event.id == Signup.event_id)
            .where(condition, Signup.status.in_(st.ACTIVE_STATUSES), Event.ends_at > now)
            .order_by(Signup.id)
        )
    )
    for signup_id in ids:
        try:
            change = signup_service.cancel(signup_id, now)
        except (InvalidTransition, NotFound):
            continue
        result.cancelled += 1
        result.promoted += len(change.promoted)
        notifications.notify_promoted(change.promoted, now)


def anonymous_address() -> str:
    return f"{secrets.token_hex(8)}@{ANONYMOUS_DOMAIN}"


def anonymize(signups: Iterable[Signup], now: datetime) -> int:
    """Keep the rows (status, attendance, times: the counts of rosters, attendance and
    dashboards) without anything that says who it was. One person's rows with one organization
    get the same random address, so "people, not rows" counts and a dashboard's new and
    returning volunteers stay right, while nothing links them across organizations. The rows'
    actions should be loaded with them. No commit."""
    tokens: dict[tuple[int, str], str] = {}
    count = 0
    for signup in signups:
        if signup.anonymized:
            continue
        key = (signup.event.organization_id, signup.email)
        signup.email = tokens.setdefault(key, anonymous_address())
        signup.name = ""
        signup.phone = ""
        signup.user_id = None
        signup.standing_signup_id = None
        signup.updated_at = now
        count += 1
    return count


def _redact_payload(payload: str, addresses: set[str] | None) -> str | None:
    """The payload without the volunteer's name, email and phone (None: nothing to redact)."""
    try:
        body = json.loads(payload)
        person = body["data"]["signup"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(person, dict) or not person.get("email"):
        return None
    if addresses is not None and str(person["email"]).lower() not in addresses:
        return None
    person.update(name="", email="", phone=None)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _redact_webhook_log(
    addresses: set[str] | None, before: datetime | None = None, limit: int = 5000
) -> int:
    """Blank the people in sign-up webhooks: of these addresses, in every delivery, waiting
    ones too (deleting one's data must not leave a call carrying it still to go out); or, for
    retention, in the delivered or given up ones created before `before`. No commit."""
    query = select(WebhookDelivery).where(WebhookDelivery.event_type.like("signup.%"))
    if addresses is None:
        query = query.where(WebhookDelivery.status.in_((wh.SENT, wh.GIVEN_UP)))
    else:
        query = query.where(
            or_(*(WebhookDelivery.payload.contains(f'"email":"{a}"') for a in addresses))
        )
    if before is not None:
        query = query.where(
            WebhookDelivery.created_at < before,
            ~WebhookDelivery.payload.contains('"email":""'),  # redacted already
        )
    count = 0
    for delivery in db.session.scalars(query.order_by(WebhookDelivery.id).limit(limit)):
        redacted = _redact_payload(delivery.payload, addresses)
        if redacted is not None:
            delivery.payload = redacted
            count += 1
    return count


def _erase(
    signups: ColumnElement[bool],
    standing: ColumnElement[bool],
    subscriptions: ColumnElement[bool],
    addresses: set[str],
    now: datetime,
) -> Erased:
    result = Erased(people=addresses)
    _stop_standing(standing, now, result)
    _cancel_coming(signups, now, result)
    rows = select(Signup).where(signups).options(joinedload(Signup.event))
    result.anonymized = anonymize(db.session.scalars(rows), now)
    db.session.execute(
        delete(StandingSignup).where(standing).execution_options(synchronize_session=False)
    )
    for subscription in db.session.scalars(select(Subscription).where(subscriptions)):
        db.session.delete(subscription)  # its choices and weekly deliveries go with it
        result.subscriptions += 1
    result.emails_dropped = outbox.forget(addresses)
    result.webhook_logs_redacted = _redact_webhook_log(addresses)
    return result


def last_owned(user: User) -> list[Organization]:
    """Organizations this account is the only owner of."""
    other = aliased(Membership)
    return list(
        db.session.scalars(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(
                Membership.user_id == user.id,
                Membership.role == ROLE_OWNER,
                ~exists().where(
                    other.organization_id == Organization.id,
                    other.role == ROLE_OWNER,
                    other.user_id != user.id,
                ),
            )
            .order_by(Organization.name)
        )
    )


def delete_account(user: User, password: str, now: datetime) -> Erased:
    """Erase an account: its sign-ups given up properly and anonymized, its standing sign-ups,
    subscriptions and waiting emails deleted, then the account itself; commits.

    WrongPassword unless `password` is the account's; LastOwner (nothing written) while it is
    the last owner of an organization."""
    if not check_password_hash(user.password_hash, password or ""):
        raise WrongPassword()
    owned = last_owned(user)
    if owned:
        raise LastOwner(owned)
    address = _confirmed_address(user)
    login_address = user.email.strip().lower()
    try:
        result = _erase(
            signups_of(user),
            _standing_of(user, address),
            _subscriptions_of(user, address),
            {login_address} | ({address} if address else set()),
            now,
        )
        db.session.execute(
            delete(Invitation)
            .where(func.lower(Invitation.email) == login_address)
            .execution_options(synchronize_session=False)
        )
        db.session.delete(user)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def delete_guest_data(address: str, now: datetime) -> Erased:
    """Erase what is stored under an email address (sign-ups, standing sign-ups, digest
    subscription, waiting emails); an account with that address is left to its owner."""
    address = normalize_email(address)
    try:
        result = _erase(
            _guest_signups(address),
            _standing_of(None, address),
            _subscriptions_of(None, address),
            {address},
            now,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


# --- the guest's emailed link -----------------------------------------------------------------


def guest_link_max_age() -> int:
    return int(current_app.config.get("GUEST_DATA_LINK_MAX_AGE", 24 * 3600))


def guest_token(address: str) -> str:
    return make_token(GUEST_PURPOSE, normalize_email(address))


def address_from_token(token: str) -> str:
    """The address a guest's link was sent to; InvalidToken when forged or expired."""
    address = read_token(GUEST_PURPOSE, token, max_age=guest_link_max_age())
    if not isinstance(address, str):
        raise InvalidToken()
    return address


def holds_data(address: str) -> bool:
    """Whether anything is stored under this address (only the emailed link tells)."""
    return bool(
        db.session.scalar(
            select(
                or_(
                    exists().where(_guest_signups(address)),
                    exists().where(_standing_of(None, address)),
                    exists().where(_subscriptions_of(None, address)),
                )
            )
        )
    )


def send_guest_link(address: str, locale: str) -> bool:
    """Email the link to the address's data, when there is any; the page says the same either
    way, so nobody learns from it who signed up."""
    from ..email import send_email
    from ..web import absolute_url, url_context

    address = normalize_email(address)
    if not holds_data(address):
        return False
    with url_context():
        return send_email(
            address,
            "privacy_link",
            locale,
            link=absolute_url("privacy.guest_data", token=guest_token(address)),
            max_age_hours=guest_link_max_age() // 3600,
        )


# --- retention --------------------------------------------------------------------------------


def retention_days() -> int:
    return int(current_app.config.get("GUEST_DATA_RETENTION_DAYS", 180))


@dataclass
class Purged:
    cutoff: datetime
    signups: int = 0
    standing: int = 0
    subscriptions: int = 0
    emails: int = 0
    webhook_logs: int = 0

    def summary(self) -> str:
        return (
            f"Guest data before {self.cutoff.isoformat()}: {self.signups} sign-ups anonymized, "
            f"{self.standing} standing sign-ups, {self.subscriptions} unconfirmed or ended "
            f"subscriptions, {self.emails} old unsent emails deleted, {self.webhook_logs} "
            "webhook log entries redacted."
        )


def purge(now: datetime, days: int | None = None) -> Purged:
    """Remove guests' personal data `days` (GUEST_DATA_RETENTION_DAYS) after their action
    ended; the sign-up rows stay, anonymized, for the counts. Account holders' own history
    (by account, or by the address they confirmed) is theirs to delete. Commits; safe to
    run again (anonymized rows are skipped)."""
    cutoff = now - timedelta(days=retention_days() if days is None else days)
    result = Purged(cutoff)
    has_account = exists().where(
        func.lower(User.email) == Signup.email, User.email_confirmed_at.is_not(None)
    )
    rows = db.session.scalars(
        select(Signup)
        .join(Event, Event.id == Signup.event_id)
        .where(
            Event.ends_at < cutoff,
            Signup.user_id.is_(None),
            ~has_account,
            ~Signup.email.endswith("@" + ANONYMOUS_DOMAIN),
        )
        .options(contains_eager(Signup.event))
        .order_by(Signup.id)
    )
    result.signups = anonymize(rows, now)
    # "Every week" sign-ups of guests stopped, or of series ended, that long ago.
    ended = select(EventSeries.id).where(EventSeries.ended_at < cutoff)
    result.standing = (
        db.session.execute(
            delete(StandingSignup)
            .where(
                StandingSignup.user_id.is_(None),
                or_(StandingSignup.cancelled_at < cutoff, StandingSignup.series_id.in_(ended)),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    for subscription in db.session.scalars(
        select(Subscription).where(
            or_(
                (Subscription.status == SUB_PENDING) & (Subscription.created_at < cutoff),
                (Subscription.status == SUB_UNSUBSCRIBED) & (Subscription.unsubscribed_at < cutoff),
            )
        )
    ):
        db.session.delete(subscription)
        result.subscriptions += 1
    result.emails = outbox.purge_given_up(cutoff)
    result.webhook_logs = _redact_webhook_log(None, before=cutoff)
    db.session.commit()
    return result
