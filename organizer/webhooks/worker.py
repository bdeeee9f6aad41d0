"""The RQ job that delivers new webhook calls (queue "webhooks").

    rq worker webhooks --url "$REDIS_URL" --worker-class rq.worker.SimpleWorker

or `flask webhooks worker`. The app is built once per worker process (organizer.digests.worker).
A job that fails leaves its rows to `flask webhooks deliver`.
"""

from __future__ import annotations


def deliver_job(delivery_ids: list[int]) -> dict[str, int]:
    from organizer.digests.worker import get_app
    from organizer.extensions import db
    from organizer.services.webhooks import deliver_ids

    with get_app().app_context():
        try:
            summary = deliver_ids([int(i) for i in delivery_ids])
        finally:
            db.session.remove()
    return {"sent": summary.sent, "failed": summary.failed, "given_up": summary.given_up}
