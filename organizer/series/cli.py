"""`flask events extend`: make the coming dates of every recurring action (run it from cron)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..digests.cli import now_option

events_cli = AppGroup("events", help="Actions: recurring series.")


@events_cli.command("extend")
@now_option
def extend_command(now: datetime | None) -> None:
    """Materialize each running series' dates up to its horizon (12 weeks by default) and sign
    standing volunteers up to them; exit 1 when a series failed (the next run retries it).

    Safe to run twice at once, and as often as you like: a date is never made twice.
    """
    from ..progress import progress
    from ..services.series import extend_all

    with progress("Extending series") as bar:
        summary = extend_all(now or datetime.now(UTC), progress=bar)
    click.echo(summary.summary())
    if not summary.ok:
        raise SystemExit(1)
