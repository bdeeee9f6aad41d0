"""The RQ job that sends one batch of digests, run by worker processes.

Start workers (as many as there are cores to spare) with the app's environment
(DATABASE_URL, MAIL_SERVER, SECRET_KEY, PUBLIC_URL, ...) and the same REDIS_URL:

    rq worker digests --url "$REDIS_URL" --worker-class rq.worker.SimpleWorker

SimpleWorker runs jobs in the worker process itself, so the app below is built once per worker
and its database pool and templates stay warm. The default forking worker works too; it then
builds the app again in every forked job process (about a tenth of a second per batch).
`flask digest worker` starts the same worker from the command line.
"""

from __future__ import annotations

import threading
from datetime import datetime

from flask import Flask, has_app_context

_app: Flask | None = None
_lock = threading.Lock()
_context = None  # this process's own app context, kept across jobs (see send_batch_job)
_run: tuple[str, object, object] | None = None  # (run key, candidates, renderer)


def get_app() -> Flask:
    """The app of this worker process, configured from the environment like `create_app()`."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                from organizer import create_app

                _app = create_app()
    return _app


def use_app(app: Flask) -> None:
    """Run jobs with an app that already exists (`flask digest worker` passes its own)."""
    global _app
    _app = app


def _shared(run_key: str, now: datetime) -> tuple[object, object]:
    """The run's candidate actions and renderer, loaded by this worker's first job of the run.

    The inline sender shares them across all its batches; a worker does the same for the
    batches of one run it receives, so an action's parts are rendered once per worker per
    language and time zone, not once per batch. A new run starts from a fresh session.
    """
    global _run
    if _run is None or _run[0] != run_key:
        from organizer.extensions import db
        from organizer.services import digest_selection
        from organizer.services.digest_render import DigestRenderer

        _run = None
        db.session.remove()
        _run = (run_key, digest_selection.load_candidates(now), DigestRenderer(now))
        db.session.commit()
    return _run[1], _run[2]


def send_batch_job(
    subscription_ids: list[int], now_iso: str, run_key: str | None = None
) -> dict[str, int]:
    """Send one batch; the result as plain data (digest_queue turns it into a BatchResult)."""
    from organizer.extensions import db
    from organizer.services import digest_queue, digest_sender

    global _context, _run
    now = datetime.fromisoformat(now_iso)
    if run_key is None:
        with get_app().app_context():
            result = digest_sender.send_batch(list(subscription_ids), now)
            return digest_queue.result_to_dict(result)
    if not has_app_context():  # the first job of an `rq worker`: keep its context open
        _context = get_app().app_context()
        _context.push()
    try:
        candidates, renderer = _shared(run_key, now)
        result = digest_sender.send_batch(
            list(subscription_ids), now, candidates=candidates, renderer=renderer
        )
    except BaseException:
        _run = None
        db.session.rollback()
        db.session.remove()
        raise
    return digest_queue.result_to_dict(result)
