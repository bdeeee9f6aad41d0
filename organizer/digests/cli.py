"""`flask digest send`: send every weekly digest that is due (run it from cron or a scheduler)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

digest_cli = AppGroup("digest", help="Weekly digests.")


class _Instant(click.ParamType):
    name = "ISO-8601"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not an ISO-8601 date and time", param, ctx)
        if parsed.tzinfo is None:  # a bare time is UTC, the clock the server keeps
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


now_option = click.option(
    "--now",
    "now",
    type=_Instant(),
    default=None,
    help="Act as if it were this moment (ISO-8601; a bare time is UTC). Default: the clock.",
)
"""`--now` for the commands cron runs: replay a moment (a missed run, a test) on purpose."""


@digest_cli.command("send")
@now_option
@click.option("--inline", is_flag=True, help="Send from this process even when REDIS_URL is set.")
def send_command(now: datetime | None, inline: bool) -> None:
    """Send the digests due now; exit 1 when any delivery failed (it is retried later)."""
    from ..progress import progress
    from ..services.digest_sender import send_due

    with progress("Sending digests") as bar:
        summary = send_due(
            now or datetime.now(UTC), use_queue=False if inline else None, progress=bar
        )
    click.echo(summary.summary())
    if not summary.ok:
        raise SystemExit(1)


@digest_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
def worker_command(burst: bool) -> None:
    """Take `digest send` batches from the Redis queue (REDIS_URL) and send them.

    The same as `rq worker digests --url "$REDIS_URL" --worker-class rq.worker.SimpleWorker`,
    with this app (built once) doing the work.
    """
    from flask import current_app
    from rq import Queue, SimpleWorker

    from ..services.digest_queue import queue_name, redis_connection
    from . import worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("Set REDIS_URL: the worker takes its jobs from Redis.")
    worker.use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    connection = redis_connection()
    queue = Queue(queue_name(), connection=connection)
    SimpleWorker([queue], connection=connection).work(burst=burst)
