"""Webhooks: the owners' pages, `flask webhooks deliver` and the RQ job that delivers."""

from .cli import webhooks_cli
from .views import bp

bp.cli.add_command(webhooks_cli)

__all__ = ["bp"]
