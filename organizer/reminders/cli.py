"""`flask reminders send`: email the reminders that are due (run it from cron every few minutes)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..digests.cli import now_option

reminders_cli = AppGroup("reminders", help="Reminders to confirmed volunteers before an action.")


@reminders_cli.command("send")
@now_option
def send_command(now: datetime | None) -> None:
    """Send every reminder due now and not sent yet; exit 1 when some must wait for a retry.

    Each run sends everything due at that moment, so a run that cron missed is made up by the
    next one; running two at once sends nothing twice.
    """
    from ..progress import progress
    from ..services.reminders import send_due

    with progress("Sending reminders") as bar:
        summary = send_due(now or datetime.now(UTC), progress=bar)
    click.echo(summary.summary())
    if not summary.ok:
        raise SystemExit(1)
