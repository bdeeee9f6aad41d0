"""The home page, the site-wide calendar feed and the personal feeds."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template

from ..i18n import select_timezone
from ..ics import calendar_response
from ..services import calendars
from ..services import events as event_service
from ..web import now_utc

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    now = now_utc()
    this_week, later, counts = event_service.upcoming_sections(now)
    organizations = event_service.organizations_with_upcoming(now)
    today = now.astimezone(ZoneInfo(select_timezone())).date()
    return render_template(
        "main/home.html",
        this_week=this_week,
        later=later,
        counts=counts,
        organizations=organizations,
        week_from=today.isoformat(),
        week_to=(today + timedelta(days=6)).isoformat(),
    )


@bp.get("/calendar/events.ics")
def calendar_ics():
    """Every upcoming public action, for calendar apps; hidden places stay hidden."""
    body = calendars.public_feed(now_utc())
    return calendar_response(body, "organizer-actions.ics")


@bp.get("/calendar/<token>.ics")
def personal_calendar(token: str):
    """A volunteer's own actions, behind the secret in the URL (reset from the profile)."""
    user = calendars.user_for_calendar_token(token)
    if user is None:
        abort(404)
    body = calendars.personal_feed(user, now_utc())
    return calendar_response(body, "my-actions.ics", private=True)
