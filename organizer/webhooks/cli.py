"""`flask webhooks deliver` (cron, every minute) and `flask webhooks worker` (with Redis)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..digests.cli import now_option

webhooks_cli = AppGroup("webhooks", help="Webhook deliveries.")


@webhooks_cli.command("deliver")
@now_option
def deliver_command(now: datetime | None) -> None:
    """Send the webhook deliveries due now: new ones not sent yet, and retries."""
    from ..services.webhooks import deliver_due

    summary = deliver_due(now or datetime.now(UTC))
    click.echo(summary.summary())


@webhooks_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
def worker_command(burst: bool) -> None:
    """Deliver new webhook calls from the Redis queue "webhooks" as soon as they are queued."""
    from flask import current_app
    from rq import Queue, SimpleWorker

    from ..digests import worker
    from ..services.digest_queue import redis_connection
    from ..services.webhooks import QUEUE_NAME

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("Set REDIS_URL: the worker takes its jobs from Redis.")
    worker.use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    connection = redis_connection()
    queue = Queue(current_app.config.get("WEBHOOK_QUEUE", QUEUE_NAME), connection=connection)
    SimpleWorker([queue], connection=connection).work(burst=burst)
