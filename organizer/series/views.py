"""Recurring actions in the browser: ending a series, and standing sign-ups (started from an
occurrence's sign-up form, stopped by the one-click link in their email)."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..forms import ConfirmForm
from ..i18n import current_locale
from ..models import Event, EventSeries, StandingSignup
from ..services import series as service
from ..services.errors import InvalidTransition, NotFound
from ..services.events import managed_event
from ..web import now_utc, render_error
from . import display as series_display
from .forms import EndSeriesForm

bp = Blueprint("series", __name__)


@bp.app_template_global()
def series_summary(series: EventSeries) -> str:
    """ "Repeats every Friday until 30 June", in the reader's language."""
    return series_display.describe(series)


def standing_offer(event: Event) -> str | None:
    """The label of the sign-up box's "every week" checkbox; None where there is none (an
    action that does not repeat, an ended series, a cancelled date)."""
    if event.series_id is None or event.is_cancelled:
        return None
    series = event.series
    if series is None or series.ended_at is not None:
        return None
    return series_display.standing_label(series)


def start_standing_if_asked(event: Event, form) -> bool:
    """After a sign-up to one date: when the volunteer ticked "every week", sign them up for
    the coming dates too, and email them the list with the link that stops it."""
    if request.form.get("standing") != "y" or standing_offer(event) is None:
        return False
    now = now_utc()
    try:
        standing, _joined = service.start_standing(
            event.series_id,
            name=form.name.data,
            email=form.email.data,
            phone=form.phone.data or "",
            locale=current_locale(),
            user=current_user if current_user.is_authenticated else None,
            now=now,
        )
    except (InvalidTransition, NotFound, ValueError):
        return False
    service.notify_standing(standing, now)
    return True


def series_context(event: Event, now: datetime) -> dict:
    """What the action page shows of its series: the rule and the other coming dates."""
    if event.series_id is None or event.series is None:
        return {"series": None, "other_dates": []}
    return {"series": event.series, "other_dates": service.upcoming_dates(event, now)}


def _private(html: str, status: int = 200) -> Response:
    """A page reached by a secret link: never cached, never sent on as a referrer."""
    response = Response(html, status=status)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _standing_from_token(token: str) -> StandingSignup:
    standing = service.standing_from_token(token)
    if standing is None:
        message = _(
            "This link is not valid. Please use the link from your latest email, or write to "
            "the organizers."
        )
        abort(make_response(*render_error(404, message)))
    return standing


@bp.route("/standing/<token>", methods=["GET", "POST"])
def stop_standing(token: str):
    """One button: stop being signed up for every date (the coming sign-ups it made go)."""
    standing = _standing_from_token(token)
    series = standing.series
    first = service.standing_dates(standing, now_utc(), made_by_it=True)
    event = first[0].event if first else _latest_date(series)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            html = render_template(
                "series/standing_stop.html", standing=standing, event=event, form=form
            )
            return _private(html, 400)
        try:
            cancelled = service.stop_standing(standing.id, now_utc())
        except InvalidTransition:
            cancelled, already = [], True
        else:
            already = False
        html = render_template(
            "series/standing_stopped.html",
            standing=standing,
            event=event,
            cancelled=cancelled,
            already=already,
        )
        return _private(html)
    html = render_template(
        "series/standing_stop.html",
        standing=standing,
        event=event,
        form=form,
        dates=first,
    )
    return _private(html)


def _latest_date(series: EventSeries) -> Event | None:
    return series.occurrences[-1] if series.occurrences else None


@bp.route("/events/<int:event_id>/series/end", methods=["GET", "POST"])
@login_required
def end(event_id: int):
    event = managed_event(event_id, current_user)
    series = event.series
    if series is None:
        abort(404)
    if series.ended_at is not None and request.method == "GET":
        flash(_("This series has already ended."), "info")
        return redirect(url_for("events.detail", event_id=event.id))
    now = now_utc()
    today = service.to_local(now, series.timezone).date()
    form = EndSeriesForm(data={"last_day": today} if request.method == "GET" else None)
    if form.validate_on_submit():
        day = form.last_day.data
        if not 2000 <= day.year <= 2100:
            form.last_day.errors.append(_("Please enter a date between 2000 and 2100."))
        else:
            result = service.end_series(series.id, day, now, form.message.data or "")
            message = _("The series has ended: no more dates will be added.")
            if result.cancelled:
                message += " " + ngettext(
                    "%(num)d coming date was called off.",
                    "%(num)d coming dates were called off.",
                    result.cancelled,
                )
            if result.emailed:
                message += " " + ngettext(
                    "%(num)d volunteer was emailed.",
                    "%(num)d volunteers were emailed.",
                    result.emailed,
                )
            flash(message, "success")
            return redirect(url_for("events.detail", event_id=event.id))
    status = 400 if form.is_submitted() else 200
    coming = service.upcoming_dates(event, now, limit=50, include_self=True)
    return render_template(
        "series/end.html", event=event, series=series, form=form, coming=coming
    ), status
