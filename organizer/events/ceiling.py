"""The page benchmark's yardstick: the action list rendered from data held in memory.

`make bench` serves this route from the same gunicorn workers as /events/ and compares their
throughput: the gap is what the database and the queries cost. It is registered only when
BENCH_CEILING is set (bench/pages.py sets it); a normal app has no such route.
"""

from __future__ import annotations

from flask import Flask, render_template, request

from ..extensions import db
from ..i18n import select_timezone
from ..services import events as service
from ..services import orgs
from ..web import now_utc
from .forms import filter_args, parse_filters

PATH = "/_bench/ceiling/events/"


def init_app(app: Flask) -> None:
    """Load the first page of the listing once, at start-up, and serve it from memory."""
    with app.app_context():
        per_page = app.config["EVENTS_PER_PAGE"]
        page = service.search_events(service.EventFilters(), now_utc(), 1, per_page)
        organizations = orgs.organization_choices()
        # Detached: everything the template reads (cards' organization, co-hosts, causes,
        # translations) was loaded eagerly, so rendering never goes back to the database.
        db.session.close()
        db.engine.dispose()  # no connection opened here survives into a forked worker

    def ceiling():
        filters, notes = parse_filters(request.args, select_timezone())
        return render_template(
            "events/index.html",
            page=page,
            filters=filters,
            notes=notes,
            args=filter_args(request.args),
            organizations=organizations,
        )

    app.add_url_rule(PATH, "bench_ceiling", ceiling)
