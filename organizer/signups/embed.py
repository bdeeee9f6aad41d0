"""The embeddable sign-up: /events/<id>/embed, a compact page other sites put in an iframe.

A page framed by another site gets no session cookie from the browser (it is SameSite=Lax),
so neither Flask-WTF's session CSRF token nor a login can work there. The embed therefore:
- never acts as a logged-in account: its form is always a guest's (name, email, phone), so a
  framed button can never sign someone up in one click under their own account;
- carries its own token instead: signed with SECRET_KEY, naming the action, valid for
  EMBED_TOKEN_MAX_AGE; the view is exempt from the session check and checks this one.
Everything else (rules, emails, answers) is the action page's sign-up: the same view helpers
(signups.views.submit_signup) and the same service.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request, url_for
from flask_babel import gettext as _
from markupsafe import escape

from ..extensions import csrf
from ..i18n import current_locale
from ..models import Event
from ..models.event import STATUS_DRAFT
from ..ratelimits import signup_limit
from ..services.events import load_event
from ..tokens import InvalidToken, make_token, read_token
from ..web import absolute_url, allow_framing
from .views import SignupPages, refuse_signup, render_signup_form, submit_signup

bp = Blueprint("embed", __name__)

PURPOSE = "embed-signup"


def embed_token(event_id: int) -> str:
    return make_token(PURPOSE, event_id)


def token_problem(event_id: int, token: str | None) -> str | None:
    """What is wrong with the posted token, for the volunteer; None when it is this action's
    and fresh. One message for forged and another action's: neither can be repaired."""
    try:
        max_age = current_app.config["EMBED_TOKEN_MAX_AGE"]
        if read_token(PURPOSE, token or "", max_age=max_age) == event_id:
            return None
    except InvalidToken as error:
        if error.expired:
            return _("This form was open too long and expired. Please send it again.")
    return _("This form could not be checked, so nothing was saved. Please send it again.")


def _embed_context(event: Event) -> dict:
    # The language goes in the form's address: a framed page may not set the language cookie.
    return {
        "embedded": True,
        "embed_token": embed_token(event.id),
        "signup_action": url_for("embed.signup", event_id=event.id, lang=current_locale()),
    }


EMBED_PAGES = SignupPages(form="embed/signup.html", embedded=True, context=_embed_context)


@bp.route("/events/<int:event_id>/embed", methods=["GET", "POST"])
@csrf.exempt  # no session in a frame: the embed's own token is checked below
@allow_framing
@signup_limit
def signup(event_id: int):
    event = load_event(event_id)
    if event is None or event.status == STATUS_DRAFT:
        abort(404)
    if request.method in ("GET", "HEAD"):
        response = render_signup_form(event, EMBED_PAGES)
    elif problem := token_problem(event.id, request.form.get("embed_token")):
        response = refuse_signup(event, EMBED_PAGES, problem)
    else:
        response = submit_signup(event, EMBED_PAGES)
    body, status = response
    # Fresh tokens (and after signing up, the volunteer's address): never cached.
    return body, status, {"Cache-Control": "private, no-store"}


def embed_snippet(event: Event) -> str:
    """The HTML an organization pastes into its site to show this action's sign-up form."""
    src = absolute_url("embed.signup", event_id=event.id)
    title = _("Sign up: %(title)s", title=event.shown.title)
    return (
        f'<iframe src="{escape(src)}" title="{escape(title)}" width="100%" height="640" '
        'style="border:0" loading="lazy"></iframe>'
    )
