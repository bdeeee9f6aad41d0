"""`flask reminders send`: email the reminders that are due (run it from cron every few minutes)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..digests.cli import _Instant

reminders_cli = AppGroup("reminders", help="Reminders to confirmed volunteers before an action.")


@reminders_cli.command("send")
@click.option(
    "--now",
    "now",
    type=_Instant(),
    default=None,
    help="Act as if it were this moment (ISO-8601; a bare time is UTC). Default: the clock.",
)
def send_command(now: datetime | None) -> None:
    """Send every reminder due now and not sent yet; exit 1 when some must wait for a retry.

    Each run sends everything due at that moment, so a run that cron missed is made up by the
    next one; running two at once sends nothing twice.
    """
    from ..services.reminders import send_due

    summary = send_due(now or datetime.now(UTC))
    click.echo(summary.summary())
    if not summary.ok:
        raise SystemExit(1)
