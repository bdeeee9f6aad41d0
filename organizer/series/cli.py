"""`flask events extend`: make the coming dates of every recurring action (run it from cron)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..digests.cli import _Instant

events_cli = AppGroup("events", help="Actions: recurring series.")


@events_cli.command("extend")
@click.option(
    "--now",
    "now",
    type=_Instant(),
    default=None,
    help="Act as if it were this moment (ISO-8601; a bare time is UTC). Default: the clock.",
)
def extend_command(now: datetime | None) -> None:
    """Materialize each running series' dates up to its horizon (12 weeks by default) and sign
    standing volunteers up to them; exit 1 when a series failed (the next run retries it).

    Safe to run twice at once, and as often as you like: a date is never made twice.
    """
    from ..services.series import extend_all

    summary = extend_all(now or datetime.now(UTC))
    click.echo(summary.summary())
    if not summary.ok:
        raise SystemExit(1)
