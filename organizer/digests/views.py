"""Subscribing to the weekly digest, confirming, preferences and unsubscribing."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..choices import COMMON_TIMEZONES
from ..extensions import csrf
from ..forms import show_errors
from ..i18n import current_locale
from ..models.digest import SUB_UNSUBSCRIBED
from ..ratelimits import signup_limit
from ..services import subscriptions
from ..services.errors import InvalidInput, NotFound
from ..tokens import InvalidToken
from ..web import now_utc
from .forms import PreferencesForm, SubscribeForm, initial

bp = Blueprint("digests", __name__)


def _page(template: str, form, status: int | None = None, **context):
    if status is None:
        status = 400 if form.errors else 200
    return render_template(template, form=form, timezones=COMMON_TIMEZONES, **context), status


def _link_problem(problem: str):
    """A link that does not work: "invalid" (tampered, 400), "expired" or "stale" (voided, 404)."""
    status = 404 if problem == "stale" else 400
    return render_template("digests/link_problem.html", problem=problem), status


@bp.route("/subscribe", methods=["GET", "POST"])
@signup_limit
def subscribe():
    form = SubscribeForm()
    if request.method == "GET":
        form.preselect(request.args.get("org"))
    if form.validate_on_submit():
        try:
            subscriptions.subscribe(form.email.data, **form.preferences(), now=now_utc())
        except InvalidInput as exc:
            show_errors(form, exc)
        else:
            # The same answer for every address, so the form tells nobody who subscribes.
            return redirect(url_for(".check_inbox"))
    return _page("digests/subscribe.html", form)


@bp.get("/subscribe/sent")
def check_inbox():
    return render_template("digests/check_inbox.html")


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        subscription = subscriptions.confirm(token, now_utc())
    except InvalidToken as exc:
        return _link_problem("expired" if exc.expired else "invalid")
    except NotFound:
        return _link_problem("stale")
    return render_template(
        "digests/confirmed.html",
        subscription=subscription,
        preferences_url=subscriptions.preferences_url(subscription),
    )


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str):
    try:
        subscription = subscriptions.subscription_for_preferences(token)
    except InvalidToken:
        return _link_problem("invalid")
    except NotFound:
        return _link_problem("stale")
    form = PreferencesForm(**initial(subscription))
    if form.validate_on_submit():
        try:
            subscriptions.update_preferences(subscription, **form.preferences())
        except InvalidInput as exc:
            show_errors(form, exc)
        else:
            flash(_("Your digest preferences are saved."), "success")
            return redirect(url_for(".preferences", token=token))
    return _page(
        "digests/preferences.html",
        form,
        subscription=subscription,
        unsubscribe_url=subscriptions.unsubscribe_url(subscription),
    )


@bp.route("/mine", methods=["GET", "POST"])
@login_required
def mine():
    user = current_user._get_current_object()
    subscription = subscriptions.find_for_user(user)
    if subscription is not None and subscription.status == SUB_UNSUBSCRIBED:
        subscription = None
    start = {
        "name": user.name,
        "locale": user.locale or current_locale(),
        "timezone": user.timezone or current_app.config["DEFAULT_TIMEZONE"],
    }
    form = PreferencesForm(**(initial(subscription) if subscription else start))
    refused = request.method == "POST" and not user.email_confirmed
    if not refused and form.validate_on_submit():
        try:
            subscriptions.save_for_user(user, now=now_utc(), **form.preferences())
        except InvalidInput as exc:
            show_errors(form, exc)
        else:
            flash(_("Your digest preferences are saved."), "success")
            return redirect(url_for(".mine"))
    return _page(
        "digests/mine.html",
        form,
        status=400 if form.errors or refused else 200,
        subscription=subscription,
        unsubscribe_url=subscriptions.unsubscribe_url(subscription) if subscription else None,
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client posts it, with no session and no CSRF token
def unsubscribe(token: str):
    if request.method == "POST":
        try:
            done = subscriptions.unsubscribe_by_token(token, now_utc())
        except InvalidToken:
            return _link_problem("invalid")
        return render_template("digests/unsubscribed.html", already=not done)
    try:
        subscription = subscriptions.subscription_for_unsubscribe(token)
    except InvalidToken:
        return _link_problem("invalid")
    if subscription is None:
        return render_template("digests/unsubscribed.html", already=True)
    return render_template("digests/unsubscribe.html", subscription=subscription)
