"""Webhooks: organizations' endpoints, the events queued for them, and their delivery.

Outbox. Every change that is an event (a sign-up made, cancelled or promoted from the waitlist;
an action edited or cancelled) adds a WebhookDelivery row per subscribed, active endpoint of
the action's hosts, in the transaction that makes the change: both are committed, or neither.
After the commit the new rows are handed on (see `_after_commit`): to the RQ queue "webhooks"
when REDIS_URL is set, else to the request, which delivers them once its response has gone out
(`deliver_ids`, at most WEBHOOKS_INLINE_BUDGET seconds, so nobody's page waits on a slow
receiver). What neither gets to, and every retry, `flask webhooks deliver` sends from cron.

Hosts. The primary host's endpoints and those of co-hosts that accepted get the events: their
organizers already manage the action and see its roster. Pending co-hosts get nothing.

Exactly once per claim. A deliverer claims a row with a conditional UPDATE (pending, or failed
and due, or `sending` left behind by a crashed deliverer for STALE_CLAIM) and commits before it
calls the receiver, so two deliverers never both send one row. A deliverer killed after the
receiver answered but before its record was committed leaves the row `sending`; it is sent
again after STALE_CLAIM with the same Organizer-Webhook-Id, which receivers use to drop the
copy.

Failures. Each failed call is retried with exponential backoff and jitter (1 min, 2, 4, ...,
at most 6 h) up to WEBHOOKS_MAX_ATTEMPTS; an endpoint that fails WEBHOOKS_MAX_CONSECUTIVE_FAILURES
calls in a row is disabled, its waiting deliveries given up, and its organization's owners are
emailed. A success resets the count.

Payloads never hold the exact place (address or online link): they go on into other tools
(CRMs, spreadsheets, chat bots) where "only confirmed volunteers, from the reveal time" cannot
be kept. Organizers read the place in Organizer itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ..email import send_email
from ..extensions import db
from ..models import Event, Membership, Organization, Signup, User
from ..models import audit as au
from ..models import webhook as wh
from ..models.organization import ROLE_OWNER
from ..models.webhook import WebhookDelivery, WebhookEndpoint
from ..web import absolute_url, now_utc, url_context
from . import audit
from .errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

QUEUE_NAME = "webhooks"
JOB_FUNCTION = "organizer.webhooks.worker.deliver_job"
CONNECT_TIMEOUT = 3.0
TOTAL_TIMEOUT = 10.0
MIN_TIME_LEFT = 1.0  # an inline delivery is not started with less than this left of its budget
RESPONSE_BYTES = 4096  # what is read of a receiver's answer; the rest is dropped
STALE_CLAIM = timedelta(minutes=5)  # far beyond the longest call (TOTAL_TIMEOUT)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
JITTER = 0.2  # each wait is this share longer or shorter, at random
MAX_ENDPOINTS = 10  # per organization
URL_MAX = 500
LOG_PER_PAGE = 25
SIGNATURE_VERSION = "v1"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

DEFAULTS = {
    "WEBHOOKS_ALLOW_HTTP_LOCALHOST": False,
    "WEBHOOKS_INLINE_BUDGET": 2.5,  # seconds, for all inline deliveries of one request
    "WEBHOOKS_MAX_ATTEMPTS": 12,  # about a day of retries for one delivery
    "WEBHOOKS_MAX_CONSECUTIVE_FAILURES": 8,
    "WEBHOOKS_RETENTION_DAYS": 30,  # finished deliveries (with their payloads) are kept this long
    "WEBHOOKS_USE_QUEUE": True,  # with REDIS_URL: hand new deliveries to the RQ queue
}

_SESSION_KEY = "webhook_delivery_ids"  # Session.info: rows this transaction queued
_G_KEY = "_webhook_delivery_ids"  # flask.g: rows committed during this request
_random = secrets.SystemRandom()


def setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


# --- endpoints --------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def _is_public_address(host: str) -> bool:
    """False for a private, loopback, link-local, reserved or multicast IP literal."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name, not a literal
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(url: str, allow_http_localhost: bool | None = None) -> str:
    """The URL cleaned, or InvalidInput: https only (http to this machine in development),
    no user name or password in it, and in production no private or local address."""
    if allow_http_localhost is None:
        allow_http_localhost = bool(setting("WEBHOOKS_ALLOW_HTTP_LOCALHOST"))
    url = (url or "").strip()
    invalid = InvalidInput(
        {"url": _l("Enter a full https:// address, like https://example.org/hooks.")}
    )
    if not url or len(url) > URL_MAX or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise invalid
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or too big
    except ValueError:
        raise invalid from None
    if not host or parts.fragment:
        raise invalid
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput({"url": _l("Leave the user name and password out of the address.")})
    local = host.lower() in LOCAL_HOSTS
    if parts.scheme == "http" and not (allow_http_localhost and local):
        raise InvalidInput({"url": _l("Use an https:// address.")})
    if parts.scheme not in ("https", "http"):
        raise InvalidInput({"url": _l("Use an https:// address.")})
    if not allow_http_localhost:
        lowered = host.lower().rstrip(".")
        if (
            local
            or lowered.endswith((".localhost", ".local", ".internal"))
            or not _is_public_address(host)
        ):
            raise InvalidInput(
                {"url": _l("Use a public address: this one is on a private network.")}
            )
    return url


def _check_events(event_types: Iterable[str]) -> str:
    chosen = [name for name in wh.EVENT_TYPES if name in set(event_types)]
    if not chosen or set(event_types) - set(wh.EVENT_TYPES):
        raise InvalidInput({"events": _l("Choose at least one event.")})
    return ",".join(chosen)


def endpoints_of(org: Organization) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organization_id == org.id)
            .order_by(WebhookEndpoint.id)
        )
    )


def endpoint_of(org: Organization, endpoint_id: int) -> WebhookEndpoint:
    """One of `org`'s endpoints (NotFound for another organization's)."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.organization_id != org.id:
        raise NotFound(endpoint_id)
    return endpoint


def create_endpoint(
    org: Organization, author: User | None, url: str, event_types: Iterable[str], now: datetime
) -> WebhookEndpoint:
    """Register an endpoint with a fresh secret; commits."""
    errors: dict[str, str] = {}
    try:
        url = check_url(url)
    except InvalidInput as error:
        errors.update(error.errors)
    try:
        events = _check_events(list(event_types))
    except InvalidInput as error:
        errors.update(error.errors)
    if errors:
        raise InvalidInput(errors)
    count = db.session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == org.id)
    )
    if count >= MAX_ENDPOINTS:
        raise InvalidInput(
            {"url": _l("An organization can have at most %(n)d webhooks.", n=MAX_ENDPOINTS)}
        )
    endpoint = WebhookEndpoint(
        organization_id=org.id,
        url=url,
        secret=new_secret(),
        events=events,
        active=True,
        consecutive_failures=0,
        failure_count=0,
        created_by_id=author.id if author is not None else None,
        created_at=now,
    )
    db.session.add(endpoint)
    db.session.flush()  # its id, for the audit log
    _record(endpoint, author, au.WEBHOOK_ADDED, now)
    db.session.commit()
    return endpoint


def _record(endpoint: WebhookEndpoint, actor: User | None, action: str, now: datetime) -> None:
    audit.record(
        endpoint.organization_id,
        actor,
        action,
        now,
        target_type=au.TARGET_WEBHOOK,
        target_id=endpoint.id,
        target_label=audit.webhook_label(endpoint.url),
    )


def rotate_secret(endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint:
    """A new secret at once: deliveries not sent yet are signed with it."""
    endpoint.secret = new_secret()
    endpoint.secret_rotated_at = now
    db.session.commit()
    return endpoint


def pause(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Nothing new is queued; what is queued waits until resumed."""
    endpoint.active = False
    db.session.commit()
    return endpoint


def resume(endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint:
    """Active again, also after being disabled for failures (the count starts over)."""
    endpoint.active = True
    endpoint.disabled_at = None
    endpoint.consecutive_failures = 0
    db.session.commit()
    return endpoint


def delete_endpoint(
    endpoint: WebhookEndpoint, actor: User | None = None, now: datetime | None = None
) -> None:
    """The endpoint and its delivery log go (the database cascades to the deliveries)."""
    _record(endpoint, actor, au.WEBHOOK_DELETED, now or now_utc())
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()


@dataclass
class DeliveryPage:
    deliveries: list[WebhookDelivery]
    page: int
    has_next: bool


def delivery_log(endpoint: WebhookEndpoint, page: int = 1, per_page: int = LOG_PER_PAGE):
    """The endpoint's deliveries, newest first, one page (one query, by the log index)."""
    page = max(1, min(page, 10_000))
    rows = list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    return DeliveryPage(rows[:per_page], page, len(rows) > per_page)


# --- payloads ---------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def action_data(event: Event) -> dict:
    """What an endpoint learns of an action: never the exact place (see the module's docstring)."""
    with url_context():
        url = absolute_url("events.detail", event_id=event.id)
    return {
        "id": event.id,
        "title": event.title,
        "language": event.language,
        "status": event.status,
        "starts_at": _iso(event.starts_at),
        "ends_at": _iso(event.ends_at),
        "timezone": event.timezone,
        "is_online": event.is_online,
        "city": event.city,
        "region": event.region,
        "capacity": event.capacity,
        "url": url,
        "organization": {"slug": event.organization.slug, "name": event.organization.name},
    }


def signup_data(signup: Signup, status: str | None = None) -> dict:
    shift = signup.shift
    return {
        "id": signup.id,
        "status": status or signup.status,
        "name": signup.name,
        "email": signup.email,
        "phone": signup.phone or None,
        "locale": signup.locale,
        "created_at": _iso(signup.created_at),
        "shift": (
            {
                "id": shift.id,
                "name": shift.name,
                "starts_at": _iso(shift.starts_at),
                "ends_at": _iso(shift.ends_at),
            }
            if shift is not None
            else None
        ),
    }


def _body(delivery_id: str, event_type: str, now: datetime, data: dict) -> str:
    payload = {"id": delivery_id, "type": event_type, "created_at": _iso(now), "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


# --- queuing (the outbox) ---------------------------------------------------------------------


def _endpoints_for(event: Event, event_type: str) -> list[WebhookEndpoint]:
    """Active endpoints of the action's hosts (primary and accepted co-hosts) wanting this."""
    rows = db.session.scalars(
        select(WebhookEndpoint)
        .where(
            WebhookEndpoint.organization_id.in_(event.host_ids),
            WebhookEndpoint.active.is_(True),
        )
        .order_by(WebhookEndpoint.id)
    )
    return [endpoint for endpoint in rows if endpoint.wants(event_type)]


def _queue(endpoints: Sequence[WebhookEndpoint], event_type: str, data: dict, now: datetime):
    rows = []
    for endpoint in endpoints:
        delivery_id = str(uuid.uuid4())
        rows.append(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_type=event_type,
                delivery_id=delivery_id,
                payload=_body(delivery_id, event_type, now, data),
                status=wh.PENDING,
                attempts=0,
                next_attempt_at=now,
                last_error="",
                created_at=now,
            )
        )
    if not rows:
        return
    db.session.add_all(rows)
    db.session.flush()
    session = db.session()
    session.info.setdefault(_SESSION_KEY, []).extend(row.id for row in rows)


def emit_signups(
    event_type: str,
    event: Event,
    signups: Iterable[Signup],
    now: datetime,
    status: str | None = None,
) -> None:
    """Queue a sign-up event per sign-up, in the caller's transaction (no commit).

    `status`: what to report when the rows themselves do not show it (deleted with a shift)."""
    signups = list(signups)
    if not signups:
        return
    endpoints = _endpoints_for(event, event_type)
    if not endpoints:
        return
    db.session.flush()  # the sign-ups' ids
    action = action_data(event)
    for signup in signups:
        data = {"action": action, "signup": signup_data(signup, status)}
        _queue(endpoints, event_type, data, now)


def emit_action(
    event_type: str, event: Event, now: datetime, changed: Iterable[str] | None = None
) -> None:
    """Queue an action event, in the caller's transaction (no commit)."""
    endpoints = _endpoints_for(event, event_type)
    if not endpoints:
        return
    data: dict = {"action": action_data(event)}
    if changed is not None:
        data["changed"] = sorted(changed)
    _queue(endpoints, event_type, data, now)


def send_ping(endpoint: WebhookEndpoint, now: datetime) -> WebhookDelivery:
    """A test call the owners ask for, queued and delivered like any other; commits."""
    delivery_id = str(uuid.uuid4())
    org = endpoint.organization
    data = {"organization": {"slug": org.slug, "name": org.name}, "endpoint_id": endpoint.id}
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_type=wh.PING,
        delivery_id=delivery_id,
        payload=_body(delivery_id, wh.PING, now, data),
        status=wh.PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    db.session().info.setdefault(_SESSION_KEY, []).append(delivery.id)
    db.session.commit()
    return delivery


# --- after the commit -------------------------------------------------------------------------


def _after_commit(session: Session) -> None:
    ids = session.info.pop(_SESSION_KEY, None)
    if not ids or not has_app_context():
        return  # no app: `flask webhooks deliver` sends them
    try:
        _dispatch(list(ids))
    except Exception:  # the change is committed; cron delivers what could not be handed on
        log.exception("Could not hand on webhook deliveries %s", ids)


def _after_rollback(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)


def listen() -> None:
    """Hand every committed outbox row on (idempotent: listeners are added once)."""
    for name, handler in (("after_commit", _after_commit), ("after_rollback", _after_rollback)):
        if not sa_event.contains(Session, name, handler):
            sa_event.listen(Session, name, handler)


def _dispatch(ids: list[int]) -> None:
    if current_app.config.get("REDIS_URL") and setting("WEBHOOKS_USE_QUEUE"):
        enqueue(ids)
    elif has_request_context():
        g.setdefault(_G_KEY, []).extend(ids)  # delivered once the response is out
    # else: a command without Redis; the next `flask webhooks deliver` sends them.


def enqueue(ids: list[int]) -> None:
    from rq import Queue

    from .digest_queue import redis_connection

    name = current_app.config.get("WEBHOOK_QUEUE", QUEUE_NAME)
    queue = Queue(name, connection=redis_connection())
    queue.enqueue(JOB_FUNCTION, ids, job_timeout=300, result_ttl=0, failure_ttl=24 * 3600)


def deliver_after_response(response):
    """after_request: the rows this request committed are delivered when the server closes the
    response, i.e. after the volunteer has their page, within WEBHOOKS_INLINE_BUDGET."""
    ids = g.pop(_G_KEY, None)
    if not ids:
        return response
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    budget = float(setting("WEBHOOKS_INLINE_BUDGET"))

    def deliver() -> None:
        try:
            if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
                deliver_ids(ids, budget=budget)
            else:
                with app.app_context():
                    deliver_ids(ids, budget=budget)
        except Exception:  # never into the server; cron retries
            log.exception("Inline webhook delivery failed")

    response.call_on_close(deliver)
    return response


# --- delivering -------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def backoff(attempts: int) -> timedelta:
    """About 1 min, 2, 4, ... after the `attempts`-th failed try, at most 6 h, with jitter."""
    wait = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return wait * _random.uniform(1 - JITTER, 1 + JITTER)


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""


@dataclass
class DeliverySummary:
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    disabled: int = 0
    pruned: int = 0

    def summary(self) -> str:
        return (
            f"sent {self.sent}, failed {self.failed}, given up {self.given_up}, "
            f"endpoints disabled {self.disabled}, pruned {self.pruned}"
        )


def _short(text: str, limit: int = 200) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def resolves_to_private(host: str) -> bool:
    """True when the name points at this machine or a private network now: a name that was
    public when registered can be pointed elsewhere later (DNS rebinding)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False  # not resolvable: the call itself fails and is retried
    return any(not _is_public_address(str(info[4][0]).split("%")[0]) for info in infos)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    deadline: float,
    allow_private: bool = False,
) -> Outcome:
    """One call: connect within 3 s, all of it within 10 s (or what is left of `deadline`), no
    redirect followed, at most RESPONSE_BYTES of the answer read."""
    import requests

    left = deadline - time.monotonic()
    if left <= 0:
        return Outcome(False, None, "no time left")
    if not allow_private and resolves_to_private(urlsplit(url).hostname or ""):
        return Outcome(False, None, "refused: the address now points at a private network")
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    try:
        with session.post(
            url,
            data=body,
            headers=headers,
            timeout=(min(CONNECT_TIMEOUT, left), min(TOTAL_TIMEOUT, left)),
            allow_redirects=False,
            stream=True,
        ) as response:
            snippet = b""
            for chunk in response.iter_content(1024):
                snippet += chunk
                if len(snippet) >= RESPONSE_BYTES or time.monotonic() > deadline:
                    break
            code = response.status_code
    except requests.Timeout:
        return Outcome(False, None, "timed out")
    except requests.ConnectionError as error:
        return Outcome(False, None, _short(f"connection failed: {error}"))
    except requests.RequestException as error:
        return Outcome(False, None, _short(f"request failed: {type(error).__name__}: {error}"))
    finally:
        session.close()
    if 200 <= code < 300:
        return Outcome(True, code)
    if 300 <= code < 400:
        return Outcome(False, code, f"HTTP {code}: redirects are not followed")
    text = snippet[:RESPONSE_BYTES].decode("utf-8", "replace")
    return Outcome(False, code, _short(f"HTTP {code} {text}"))


def _due(now: datetime):
    return or_(
        and_(
            WebhookDelivery.status.in_((wh.PENDING, wh.FAILED)),
            WebhookDelivery.next_attempt_at <= now,
        ),
        and_(WebhookDelivery.status == wh.SENDING, WebhookDelivery.claimed_at <= now - STALE_CLAIM),
    )


def _active_endpoint():
    return WebhookDelivery.endpoint_id.in_(
        select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True))
    )


def claim(delivery_id: int, now: datetime, fresh_only: bool = False) -> int | None:
    """Make this process the only sender of the row, and commit; the attempt number, or None
    when the row is not (or no longer) ours to send."""
    condition = WebhookDelivery.status == wh.PENDING if fresh_only else _due(now)
    attempts = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, condition, _active_endpoint())
        .values(status=wh.SENDING, claimed_at=now, attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    return attempts


def _mark(delivery_id: int, attempts: int, **values) -> bool:
    """Record the outcome of our claim (the row still `sending` with our attempt number)."""
    return bool(
        db.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == wh.SENDING,
                WebhookDelivery.attempts == attempts,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _send_one(delivery_id: int, attempts: int, now: datetime, deadline: float, summary) -> None:
    row = db.session.execute(
        select(WebhookDelivery.delivery_id, WebhookDelivery.event_type, WebhookDelivery.payload,
               WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.secret)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id)
    ).one_or_none()  # fmt: skip
    db.session.commit()  # no transaction (nor SQLite lock) held during the call
    if row is None:
        return  # the endpoint was deleted meanwhile
    uid, event_type, payload, endpoint_id, url, secret = row
    body = payload.encode("utf-8")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Organizer-Webhooks/1",
        "Organizer-Webhook-Id": uid,
        "Organizer-Webhook-Event": event_type,
        "Organizer-Webhook-Timestamp": str(timestamp),
        "Organizer-Webhook-Signature": sign(secret, timestamp, body),
    }
    allow_private = bool(setting("WEBHOOKS_ALLOW_HTTP_LOCALHOST"))
    outcome = post(url, body, headers, deadline, allow_private=allow_private)
    if outcome.ok:
        _mark(
            delivery_id,
            attempts,
            status=wh.SENT,
            delivered_at=now,
            last_status_code=outcome.status_code,
            last_error="",
            next_attempt_at=None,
        )
        db.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(consecutive_failures=0, last_success_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        summary.sent += 1
        return
    give_up = attempts >= int(setting("WEBHOOKS_MAX_ATTEMPTS"))
    _mark(
        delivery_id,
        attempts,
        status=wh.GIVEN_UP if give_up else wh.FAILED,
        last_status_code=outcome.status_code,
        last_error=outcome.error[:300],
        next_attempt_at=None if give_up else now + backoff(attempts),
    )
    failures = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(
            consecutive_failures=WebhookEndpoint.consecutive_failures + 1,
            failure_count=WebhookEndpoint.failure_count + 1,
        )
        .returning(WebhookEndpoint.consecutive_failures)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    summary.given_up += give_up
    summary.failed += not give_up
    if failures is not None and failures >= int(setting("WEBHOOKS_MAX_CONSECUTIVE_FAILURES")):
        if disable(endpoint_id, now):
            summary.disabled += 1


def disable(endpoint_id: int, now: datetime) -> bool:
    """Turn off an endpoint that keeps failing, give up what waits for it, tell the owners.
    Only the process whose UPDATE turned it off sends the emails."""
    turned_off = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active.is_(True))
        .values(active=False, disabled_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not turned_off:
        db.session.commit()
        return False
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status.in_((wh.PENDING, wh.FAILED)),
        )
        .values(status=wh.GIVEN_UP, next_attempt_at=None, last_error="endpoint disabled")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    if endpoint is not None:
        notify_owners_disabled(endpoint)
    return True


def notify_owners_disabled(endpoint: WebhookEndpoint) -> int:
    """An email to each owner of the organization, in their own language; how many went."""
    org = endpoint.organization
    owners = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == org.id, Membership.role == ROLE_OWNER)
        .order_by(User.id)
    )
    sent = 0
    with url_context():
        manage_url = absolute_url("webhooks.detail", slug=org.slug, endpoint_id=endpoint.id)
        for owner in owners:
            sent += send_email(
                owner.email,
                "webhook_disabled",
                owner.locale or org.default_locale,
                org=org,
                endpoint=endpoint,
                failures=endpoint.consecutive_failures,
                manage_url=manage_url,
            )
    return sent


def deliver_ids(
    ids: Sequence[int], now: datetime | None = None, budget: float | None = None
) -> DeliverySummary:
    """Deliver these new rows (inline after a request, or an RQ job); rows someone else took,
    or not reached within `budget` seconds, are left to `flask webhooks deliver`."""
    summary = DeliverySummary()
    start = time.monotonic()
    for delivery_id in ids:
        now_ = now or now_utc()
        if budget is not None:
            deadline = start + budget
            if deadline - time.monotonic() < MIN_TIME_LEFT:
                break
        else:
            deadline = time.monotonic() + TOTAL_TIMEOUT
        attempts = claim(delivery_id, now_, fresh_only=True)
        if attempts is not None:
            _send_one(delivery_id, attempts, now_, deadline, summary)
    return summary


def deliver_due(now: datetime, batch_size: int = 100) -> DeliverySummary:
    """Send every delivery due at `now`, new ones and retries (what cron runs each minute)."""
    summary = DeliverySummary()
    seen: set[int] = set()
    while True:
        ids = [
            i
            for i in db.session.scalars(
                select(WebhookDelivery.id)
                .where(_due(now), _active_endpoint())
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(batch_size)
            )
            if i not in seen
        ]
        db.session.commit()
        if not ids:
            break
        for delivery_id in ids:
            seen.add(delivery_id)
            attempts = claim(delivery_id, now)
            if attempts is not None:
                _send_one(delivery_id, attempts, now, time.monotonic() + TOTAL_TIMEOUT, summary)
    summary.pruned = prune(now)
    return summary


def prune(now: datetime) -> int:
    """Drop finished deliveries (and the personal data in their payloads) after the retention."""
    cutoff = now - timedelta(days=int(setting("WEBHOOKS_RETENTION_DAYS")))
    removed = db.session.execute(
        delete(WebhookDelivery)
        .where(
            WebhookDelivery.status.in_((wh.SENT, wh.GIVEN_UP)),
            WebhookDelivery.created_at < cutoff,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return removed
