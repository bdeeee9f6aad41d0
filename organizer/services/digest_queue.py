"""Fanning a digest run out to worker processes through an RQ queue on Redis.

`digest send` (organizer.services.digest_sender.send_due) hands its batches of subscription ids
here when REDIS_URL is set. Each batch becomes one job on the queue "digests"; the workers run
organizer.digests.worker.send_batch_job, which calls digest_sender.send_batch, the same function
the inline path uses, so the exactly-once rules (one delivery record per subscription and week)
hold whichever process sends. Workers:

    rq worker digests --url "$REDIS_URL" --worker-class rq.worker.SimpleWorker

A job that fails, stops or does not finish in time is reported as failed: the deliveries it did
not finish are picked up again by a later run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

log = logging.getLogger(__name__)

QUEUE_NAME = "digests"
JOB_FUNCTION = "organizer.digests.worker.send_batch_job"
JOB_TIMEOUT = 15 * 60  # one batch (its SMTP hand-offs included) must finish within this
WAIT_TIMEOUT = 60 * 60  # the whole run; jobs still unfinished then are reported as failed
POLL_SECONDS = 0.2
RESULT_TTL = 24 * 3600  # results are read (then deleted) by the run; this only bounds leftovers

_FAILED_STATES = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def redis_connection(url: str | None = None) -> Redis:
    return Redis.from_url(url or current_app.config["REDIS_URL"])


def queue_name() -> str:
    return current_app.config.get("DIGEST_QUEUE", QUEUE_NAME)


def run_batches(
    batch_iter: Iterable[list[int]],
    now: datetime,
    *,
    timeout: float | None = None,
    connection: Redis | None = None,
) -> list[Any]:
    """Enqueue each batch as it is yielded, wait for every job, return one BatchResult per job.

    Only the ids of jobs in flight are held here (one string and a count per batch), never the
    subscribers. Results are harvested while batches are still being enqueued, so the workers
    start on the first batch at once and Redis keeps only unfinished jobs.
    """
    connection = connection or redis_connection()
    queue = Queue(queue_name(), connection=connection)
    timeout = (
        timeout
        if timeout is not None
        else current_app.config.get("DIGEST_QUEUE_TIMEOUT", WAIT_TIMEOUT)
    )
    job_timeout = current_app.config.get("DIGEST_JOB_TIMEOUT", JOB_TIMEOUT)
    now_iso = now.isoformat()
    run_key = uuid.uuid4().hex  # lets a worker share one run's actions across its batches
    pending: dict[str, int] = {}  # job id -> batch size
    results: list[Any] = []
    warned_no_workers = False
    harvested = time.monotonic()

    for ids in batch_iter:
        if not ids:
            continue
        job = queue.enqueue(
            JOB_FUNCTION,
            list(ids),
            now_iso,
            run_key,
            job_timeout=job_timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=RESULT_TTL,
            description=f"digest batch of {len(ids)} from id {ids[0]}",
        )
        pending[job.id] = len(ids)
        if not warned_no_workers and Worker.count(connection=connection, queue=queue) == 0:
            log.warning("No RQ worker listens on queue %r; the digest jobs wait.", queue.name)
            warned_no_workers = True
        if time.monotonic() - harvested > POLL_SECONDS:
            _harvest(connection, pending, results)
            harvested = time.monotonic()

    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        _harvest(connection, pending, results)
        if pending:
            time.sleep(POLL_SECONDS)

    if pending:
        log.error("%d digest jobs did not finish within %.0f s", len(pending), timeout)
        for job_id, size in pending.items():
            _cancel_if_queued(connection, job_id)
            results.append(failed_result(size))
    return results


def _harvest(connection: Redis, pending: dict[str, int], results: list[Any]) -> None:
    """Move every finished or failed job from `pending` into `results`.

    One pipelined round trip reads the statuses; only finished jobs are fetched whole.
    """
    if not pending:
        return
    job_ids = list(pending)
    pipe = connection.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hget(Job.key_for(job_id), "status")
    for job_id, raw in zip(job_ids, pipe.execute(), strict=True):
        if raw is None:  # expired or deleted by someone else: its outcome is unknown
            log.error("Digest job %s vanished from Redis", job_id)
            results.append(failed_result(pending.pop(job_id)))
            continue
        status = JobStatus(raw.decode() if isinstance(raw, bytes) else raw)
        if status == JobStatus.FINISHED:
            job = Job.fetch(job_id, connection=connection)
            value = job.return_value()
            size = pending.pop(job_id)
            results.append(result_from_dict(value) if value is not None else failed_result(size))
            job.delete()
        elif status in _FAILED_STATES:
            job = Job.fetch(job_id, connection=connection)
            latest = job.latest_result()
            log.error(
                "Digest job %s %s: %s",
                job_id,
                status.value,
                (latest.exc_string if latest is not None else "") or "no details",
            )
            results.append(failed_result(pending.pop(job_id)))
            job.delete()


def _cancel_if_queued(connection: Redis, job_id: str) -> None:
    try:
        job = Job.fetch(job_id, connection=connection)
        if job.get_status() == JobStatus.QUEUED:
            job.cancel()
    except (NoSuchJobError, InvalidJobOperation):
        pass


def _batch_result_class():
    from .digest_sender import BatchResult  # digest_sender imports this module lazily

    return BatchResult


def _field_names(cls) -> list[str]:
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    return list(cls._fields)  # a NamedTuple


def result_to_dict(result: Any) -> dict[str, int]:
    """A BatchResult as plain data, so any RQ serializer can carry it back."""
    return {name: int(getattr(result, name)) for name in _field_names(type(result))}


def result_from_dict(data: dict[str, Any]) -> Any:
    cls = _batch_result_class()
    return cls(**{name: int(data.get(name, 0)) for name in _field_names(cls)})


def failed_result(size: int) -> Any:
    """A batch whose job failed: every subscriber in it counts as failed, to be retried later."""
    cls = _batch_result_class()
    values = dict.fromkeys(_field_names(cls), 0)
    values["failed"] = size
    if "retry_later" in values:
        values["retry_later"] = size
    return cls(**values)
