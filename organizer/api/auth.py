"""Bearer tokens and the rate-limit key: a token's own bucket, or the caller's address."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from ..models import ApiToken, Organization
from ..services import api_tokens
from ..web import now_utc
from .errors import ApiError
from .openapi import READ_WRITE

_UNSET = object()


def current_token() -> ApiToken | None:
    """The active token the request carries, looked up once per request."""
    token = g.get("_api_token", _UNSET)
    if token is _UNSET:
        token = None
        scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and secret.strip():
            token = api_tokens.authenticate(secret.strip(), now_utc())
        g._api_token = token
    return token


def require_token(scope: str) -> ApiToken:
    token = current_token()
    if token is None:
        raise ApiError(401, _("A valid API token is needed."))
    if scope == READ_WRITE and not token.can_write:
        raise ApiError(403, _("This token may only read."), code="read_only_token")
    return token


def check_organization(token: ApiToken, org: Organization) -> None:
    """A token sees its own organization only."""
    if token.organization_id != org.id:
        raise ApiError(403, _("This token belongs to another organization."))


def rate_key() -> str:
    token = current_token()
    return f"token:{token.id}" if token is not None else f"addr:{get_remote_address()}"


def rate_limit() -> str:
    key = "API_RATELIMIT_TOKEN" if current_token() is not None else "API_RATELIMIT_ANONYMOUS"
    return current_app.config[key]
