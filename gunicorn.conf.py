"""gunicorn settings for production (README, "Deployment"); `make bench` serves with them too.

gunicorn reads this file when started from the checkout:

    gunicorn 'organizer:create_app()'

Environment: GUNICORN_BIND (default 127.0.0.1:8000, behind the TLS proxy), WEB_CONCURRENCY
(worker processes, default 4: about two per core on the small two-core box we plan for; the
workers mostly wait on PostgreSQL), GUNICORN_ACCESS_LOG ("-" for stdout; off by default, the
proxy logs requests). Options on the command line win over this file.
"""

import os

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"  # one request per process at a time: a slow client is the proxy's job
timeout = 30  # a worker stuck longer than this is restarted
graceful_timeout = 30  # on restart, requests in flight get this long to finish
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
