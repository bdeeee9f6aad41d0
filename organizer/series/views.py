"""Recurring actions in the browser: ending a series, and standing sign-ups (asked for on an
occurrence's sign-up form, confirmed from a guest's inbox, stopped by the one-click link in
their email)."""

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

from ..forms import ConfirmForm, show_errors
from ..models import Event, EventSeries, Signup, StandingSignup, User
from ..services import series as service
from ..services.errors import InvalidInput, InvalidTransition, NotFound
from ..services.events import managed_event
from ..tokens import InvalidToken
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
    if not service.offers_standing(event):
        return None
    return series_display.standing_label(event.series)


def start_standing_if_asked(signup: Signup, user: User | None) -> str | None:
    """After a sign-up to one date: when the volunteer ticked "every week", what came of it
    (service.STANDING_STARTED, service.STANDING_EMAILED: confirm from the inbox), or None.
    `user`: the logged-in volunteer who signed up, None for a guest (and in the embed)."""
    if request.form.get("standing") != "y":
        return None
    return service.ask_standing(signup, user, now_utc())


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


_REQUEST_PROBLEMS = (InvalidToken, NotFound, InvalidTransition)


def _request_problem(error: Exception) -> Response:
    """A confirmation link that does not work (service.standing_request's errors)."""
    if isinstance(error, InvalidTransition):
        status = 409
        message = _("This series has ended: there are no more dates to sign up for.")
    elif isinstance(error, InvalidToken) and error.expired:
        status = 400
        message = _(
            "This link has expired. To be signed up for every date, sign up again on the "
            "action's page and tick the box: we will send you a new link."
        )
    else:
        status = 400 if isinstance(error, InvalidToken) else 404
        message = _(
            "This link is not valid. Please use the link from your latest email, or write to "
            "the organizers."
        )
    return _private(render_template("errors/error.html", code=status, message=message), status)


@bp.route("/standing/confirm/<token>", methods=["GET", "POST"])
def confirm_standing(token: str):
    """The button in a guest's email: sign me up for every date. A GET only shows the page
    (mail scanners open links); the form's POST does it."""
    try:
        signup = service.standing_request(token)
    except _REQUEST_PROBLEMS as error:
        return _request_problem(error)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            html = render_template("series/standing_confirm.html", signup=signup, form=form)
            return _private(html, 400)
        user = current_user._get_current_object() if current_user.is_authenticated else None
        try:
            _standing, joined = service.confirm_standing(token, now_utc(), user)
        except _REQUEST_PROBLEMS as error:
            return _request_problem(error)
        html = render_template(
            "series/standing_confirmed.html", signup=signup, event=signup.event, joined=joined
        )
        return _private(html)
    html = render_template("series/standing_confirm.html", signup=signup, form=form)
    return _private(html)


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
        try:
            result = service.end_series(
                series.id,
                form.last_day.data,
                now,
                form.message.data or "",
                actor=current_user._get_current_object(),
            )
        except InvalidInput as error:
            show_errors(form, error)
        else:
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
