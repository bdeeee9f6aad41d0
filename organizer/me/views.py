"""A volunteer's own pages: their history of actions, and their personal calendar feed."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..models import User
from ..services import attendance, calendars
from ..web import absolute_url, now_utc

bp = Blueprint("me", __name__)


@bp.app_template_global()
def personal_calendar_url(user: User) -> str | None:
    """The secret address of the user's feed, or None before they asked for one."""
    if not user.calendar_token:
        return None
    return absolute_url("main.personal_calendar", token=user.calendar_token)


@bp.get("/history")
@login_required
def history():
    html = render_template(
        "me/history.html", history=attendance.my_history(current_user, now_utc())
    )
    response = Response(html)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/calendar")
@login_required
def create_calendar():
    """Make the feed's secret on first request (asking twice keeps the first one)."""
    calendars.calendar_token(current_user._get_current_object())
    flash(_("Your calendar link is ready. Add it to your calendar app."), "success")
    return redirect(url_for("auth.profile", _anchor="calendar"))


@bp.post("/calendar/reset")
@login_required
def reset_calendar():
    calendars.reset_calendar_token(current_user._get_current_object())
    flash(
        _(
            "Your calendar link changed. The old one no longer works: "
            "add the new one to your calendar app."
        ),
        "success",
    )
    return redirect(url_for("auth.profile", _anchor="calendar"))
