"""The "I can't come" link of a reminder: GET shows one button (mail scanners open links),
POST cancels the sign-up and hands the place to the waitlist."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..services import reminders as service
from ..services.notifications import manage_token
from ..web import now_utc

bp = Blueprint("reminders", __name__)

# reason -> (status code, message)
PROBLEMS = {
    "invalid": (
        404,
        lambda: _(
            "This link is not valid. Please check that you copied all of it from the email, "
            "or use the sign-up page linked from your emails."
        ),
    ),
    "expired": (
        410,
        lambda: _(
            "This link has expired. Your sign-up page, linked from your emails, still lets you "
            "cancel."
        ),
    ),
    "outdated": (
        410,
        lambda: _(
            "This link belongs to an earlier sign-up. Please use the link in your latest email."
        ),
    ),
    "cancelled": (409, lambda: _("Your sign-up was already cancelled.")),
    "closed": (409, lambda: _("This sign-up can no longer be cancelled.")),
    "over": (410, lambda: _("This action is already over.")),
    "event_cancelled": (
        409,
        lambda: _("The organizers cancelled this action, so there is nothing to cancel."),
    ),
}


def _private(response) -> Response:
    """A secret link: never cached, never passed on as a referrer, never indexed."""
    response = Response(response) if isinstance(response, str) else response
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _problem(problem: service.LinkProblem) -> Response:
    code, message = PROBLEMS[problem.reason]
    signup = problem.signup
    html = render_template(
        "reminders/cant_come_problem.html",
        reason=problem.reason,
        message=message(),
        manage_url=url_for("signups.manage", token=manage_token(signup)) if signup else None,
    )
    return _private(Response(html, status=code))


@bp.get("/signups/cant-come/<token>")
def cant_come(token: str):
    try:
        signup = service.signup_for_cant_come(token, now_utc())
    except service.LinkProblem as problem:
        return _problem(problem)
    html = render_template(
        "reminders/cant_come.html", signup=signup, event=signup.event, shift=signup.shift
    )
    return _private(html)


@bp.post("/signups/cant-come/<token>")
def cant_come_confirm(token: str):
    try:
        change = service.cant_come(token, now_utc())
    except service.LinkProblem as problem:
        return _problem(problem)
    flash(_("Your sign-up is cancelled. Thank you for letting the organizers know."), "success")
    return redirect(url_for("signups.manage", token=manage_token(change.signup)))
