"""API tokens: created and revoked by an organization's owners, stored hashed, shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import ApiToken, Organization, User
from ..models import audit as au
from ..models.api_token import SCOPES
from . import audit, permissions
from .errors import InvalidInput, NotAllowed, NotFound

TOKEN_PREFIX = "org_"  # noqa: S105 - how every token starts, not a secret
NAME_MAX = 120
# last_used_at is written at most this often per token: one UPDATE per call would be wasteful.
USED_AT_RESOLUTION = timedelta(minutes=1)


@dataclass
class NewToken:
    """A token just created: `secret` is the whole token, shown once and never stored."""

    token: ApiToken
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    org: Organization, acting_user: User, name: str, scope: str, now: datetime
) -> NewToken:
    """A new token for `org`; only its owners (and admins) may make one."""
    if not permissions.is_owner_of(acting_user, org):
        raise NotAllowed()
    name = (name or "").strip()
    errors = {}
    if not name or len(name) > NAME_MAX:
        errors["name"] = str(_l("Give the token a name of up to %(num)d characters.", num=NAME_MAX))
    if scope not in SCOPES:
        errors["scope"] = str(_l("Not a valid choice."))
    if errors:
        raise InvalidInput(errors)
    prefix = secrets.token_hex(6)  # 48 bits: finds the row; the secret part proves the token
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        organization_id=org.id,
        name=name,
        scope=scope,
        prefix=prefix,
        token_hash=_hash(secret),
        created_by_id=acting_user.id,
        created_at=now,
    )
    db.session.add(token)
    db.session.flush()  # its id, for the audit log
    _record(token, acting_user, au.API_TOKEN_CREATED, now)
    db.session.commit()
    return NewToken(token, secret)


def tokens_of(org: Organization) -> list[ApiToken]:
    """Active tokens first, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.organization_id == org.id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def revoke_token(org: Organization, token_id: int, acting_user: User, now: datetime) -> ApiToken:
    """Stop a token from working, at once and for good; revoking twice changes nothing."""
    if not permissions.is_owner_of(acting_user, org):
        raise NotAllowed()
    token = db.session.get(ApiToken, token_id)
    if token is None or token.organization_id != org.id:
        raise NotFound(token_id)
    if token.revoked_at is None:
        token.revoked_at = now
        _record(token, acting_user, au.API_TOKEN_REVOKED, now)
        db.session.commit()
    return token


def _record(token: ApiToken, actor: User, action: str, now: datetime) -> None:
    audit.record(
        token.organization_id,
        actor,
        action,
        now,
        target_type=au.TARGET_API_TOKEN,
        target_id=token.id,
        target_label=token.name,
        details={"scope": token.scope},
    )


def authenticate(secret: str, now: datetime) -> ApiToken | None:
    """The active token `secret` is, or None (unknown, malformed or revoked)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    prefix, _sep, rest = secret[len(TOKEN_PREFIX) :].partition("_")
    if not rest or len(prefix) != 12 or not all(c in "0123456789abcdef" for c in prefix):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None or not hmac.compare_digest(token.token_hash, _hash(secret)):
        return None
    if token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= USED_AT_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token
