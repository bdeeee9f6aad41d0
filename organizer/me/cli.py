"""`flask privacy purge` and `flask mail retry`: what cron runs for privacy and lost emails."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..digests.cli import now_option

privacy_cli = AppGroup("privacy", help="Personal data: retention.")
mail_cli = AppGroup("mail", help="Emails the mail server did not take.")


@privacy_cli.command("purge")
@now_option
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Keep guests' data this many days after their action (default GUEST_DATA_RETENTION_DAYS).",
)
def purge_command(now: datetime | None, days: int | None) -> None:
    """Remove guests' personal data a while after their action ended; counts stay."""
    from ..services.privacy import purge

    click.echo(purge(now or datetime.now(UTC), days).summary())


@mail_cli.command("retry")
@now_option
def retry_command(now: datetime | None) -> None:
    """Hand over again the emails due for a retry; exits 1 when some are still unsent."""
    from ..services.outbox import retry_due

    summary = retry_due(now or datetime.now(UTC))
    click.echo(summary.summary())
    if not summary.ok:
        raise SystemExit(1)
