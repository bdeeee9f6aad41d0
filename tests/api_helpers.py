"""What the API tests share: tokens made through the service, and their headers."""

from __future__ import annotations

from organizer.models import Organization, User
from organizer.services import api_tokens

from . import factories


def make_token(
    org: Organization, scope: str = "read_write", owner: User | None = None, name: str = "CRM"
) -> str:
    """A new token's secret (the organization gets an owner if none is given)."""
    owner = owner or factories.make_user(is_admin=True)
    return api_tokens.create_token(org, owner, name, scope, factories.now()).secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
