"""The JSON API under /api/v1/: public actions and organizations, and with an organization's
token its sign-ups, subscribers and actions. Documented at /api/v1/openapi.json and /api/v1/docs."""

from flask import Blueprint

from .openapi import Registry

PREFIX = "/api/v1"

bp = Blueprint("api", __name__)
api = Registry(bp, PREFIX)

from . import osdi, views  # noqa: E402,F401  (the routes register themselves on bp)
from .tokens import tokens_bp  # noqa: E402

__all__ = ["PREFIX", "api", "bp", "tokens_bp"]
