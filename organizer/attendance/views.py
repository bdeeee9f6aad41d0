"""Attendance: the organizers' check-in page at the action, and a volunteer's history with an
organization."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..forms import one_line
from ..i18n import format_in_zone
from ..services import attendance as service
from ..services import orgs
from ..services.errors import InvalidTransition
from ..services.events import managed_event
from ..services.signups import signup_on
from ..web import now_utc
from .forms import BACK_ON_SITE, CHECK_IN, CHECK_OUT, CheckinForm

bp = Blueprint("attendance", __name__)

ACTIONS = {
    CHECK_IN: service.check_in,
    CHECK_OUT: service.check_out,
    BACK_ON_SITE: service.back_on_site,
}


def _private(html: str) -> Response:
    """Volunteers' names and phones: never cached, never sent on as a referrer."""
    response = Response(html)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _search(source) -> tuple[str, str]:
    q = (one_line(source.get("q")) or "")[:100]
    show = source.get("show")
    return q, show if show in service.SHOW_CHOICES else service.SHOW_ALL


@bp.get("/events/<int:event_id>/checkin")
@login_required
def checkin(event_id: int):
    event = managed_event(event_id, current_user)
    q, show = _search(request.args)
    html = render_template(
        "attendance/checkin.html",
        event=event,
        signups=service.checkin_list(event.id, q, show),
        counts=service.attendance_counts([event], now_utc())[event.id],
        q=q,
        show=show,
        form=CheckinForm(formdata=None),
    )
    return _private(html)


@bp.post("/events/<int:event_id>/checkin/<int:signup_id>")
@login_required
def checkin_action(event_id: int, signup_id: int):
    """One tap: check in, check out, or back on site; then the same list, at the same row."""
    event = managed_event(event_id, current_user)
    form = CheckinForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = ACTIONS[form.action.data](event, signup_id, now_utc())
    except InvalidTransition as error:
        flash(_problem(error.state), "error")
    else:
        flash(_done(form.action.data, result, event.timezone), "success")
    q, show = _search(request.form)
    return redirect(
        url_for(
            ".checkin",
            event_id=event.id,
            q=q or None,
            show=None if show == service.SHOW_ALL else show,
            _anchor=f"signup-{signup_id}",
        )
    )


def _problem(state: str) -> str:
    if state == "not_checked_in":
        return _("Check this volunteer in first.")
    if state in ("cancelled", "draft"):
        return _("This action is not taking place, so nobody can be checked in.")
    return _("Only confirmed volunteers can be checked in.")


def _done(action: str, result: service.CheckinResult, zone: str) -> str:
    signup = result.signup
    if action == CHECK_IN:
        if result.changed:
            return _("%(name)s is checked in.", name=signup.name)
        at = format_in_zone(signup.checked_in_at, zone, "HH:mm")
        return _("%(name)s was already checked in at %(time)s.", name=signup.name, time=at)
    if action == CHECK_OUT:
        if result.changed:
            return _("%(name)s is checked out.", name=signup.name)
        at = format_in_zone(signup.checked_out_at, zone, "HH:mm")
        return _("%(name)s was already checked out at %(time)s.", name=signup.name, time=at)
    return _("%(name)s is on site again.", name=signup.name)


@bp.get("/events/<int:event_id>/volunteers/<int:signup_id>")
@login_required
def volunteer_from_roster(event_id: int, signup_id: int):
    """From a roster row to the volunteer's history with the reader's own host organization
    (resolved here, so the roster page itself needs no query for it)."""
    event = managed_event(event_id, current_user)
    signup = signup_on(event, signup_id)
    org = service.history_organization(current_user, event)
    if org is None:
        abort(404)
    return redirect(url_for(".volunteer", slug=org.slug, signup_id=signup.id))


@bp.get("/orgs/<slug>/volunteers/<int:signup_id>")
@login_required
def volunteer(slug: str, signup_id: int):
    """What a volunteer did with this organization: its actions only, never anyone else's."""
    org = orgs.organization_for(current_user, slug)
    person = service.volunteer_history(org, signup_id, now_utc())
    html = render_template("attendance/volunteer.html", org=org, person=person)
    return _private(html)
