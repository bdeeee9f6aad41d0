"""Organizer pages for the digest: this week's highlights and a preview."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange

from ..choices import CAUSES, REGIONS
from ..events.forms import MultiCheckboxField, choices
from ..i18n import text_direction
from ..orgs.forms import language_choices, timezone_choices
from ..services import highlights as hl
from ..services import orgs
from ..services.digest_selection import SubscriberProfile, load_candidates, pick
from ..services.errors import InvalidInput
from ..web import now_utc

bp = Blueprint("digest_manage", __name__)


class HighlightForm(FlaskForm):
    event_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])
    week = HiddenField(validators=[DataRequired()])


class PreviewForm(FlaskForm):
    """A kind of subscriber, chosen on a GET form (nothing is written: no CSRF token)."""

    class Meta:
        csrf = False

    follows = BooleanField(_l("Follows this organization"), default=True)
    causes = MultiCheckboxField(_l("Causes"))
    regions = MultiCheckboxField(_l("Regions"))
    locale = SelectField(_l("Language"))
    timezone = SelectField(_l("Time zone"))
    max_actions = IntegerField(
        _l("Actions per digest"), default=3, validators=[InputRequired(), NumberRange(1, 10)]
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.causes.choices = choices(CAUSES)
        self.regions.choices = choices(REGIONS)
        self.locale.choices = language_choices()
        self.timezone.choices = timezone_choices()


REFUSALS = {
    hl.HighlightLimitReached: (
        409,
        lambda: _(
            "Your organization already highlights %(num)d actions that week. "
            "Remove one before highlighting another.",
            num=hl.MAX_PER_WEEK,
        ),
    ),
    hl.NotHostedByOrganization: (
        400,
        lambda: _("Only actions your organization hosts or co-hosts can be highlighted."),
    ),
    hl.NotInNetwork: (
        400,
        lambda: _(
            "Only actions your network or one of its active members hosts can be highlighted."
        ),
    ),
    hl.NotEligible: (
        400,
        lambda: _("Only published, public actions that have not started can be highlighted."),
    ),
}


def _highlights_page(org, status: int = 200):
    page = hl.highlights_page(org, now_utc())
    return render_template(
        "digests/manage_highlights.html", org=org, page=page, max_per_week=hl.MAX_PER_WEEK
    ), status


@bp.get("/orgs/<slug>/highlights")
@login_required
def highlights(slug: str):
    return _highlights_page(orgs.organization_for(current_user, slug))


def _change_highlight(slug: str, change, done):
    """Run `change` (highlight or unhighlight) on the posted action, then say so."""
    org = orgs.organization_for(current_user, slug)
    form = HighlightForm()
    if not form.validate_on_submit():
        abort(400)
    event = hl.event_to_highlight(form.event_id.data)
    try:
        change(org, event, current_user, now_utc(), week=form.week.data)
    except hl.HighlightRefused as error:
        status, message = REFUSALS[type(error)]
        flash(message(), "error")
        return _highlights_page(org, status)
    except InvalidInput:
        flash(_("Highlights can be chosen for this week or next week only."), "error")
        return _highlights_page(org, 400)
    flash(done(event.title), "success")
    return redirect(url_for(".highlights", slug=slug))


@bp.post("/orgs/<slug>/highlights/add")
@login_required
def add_highlight(slug: str):
    return _change_highlight(
        slug, hl.highlight, lambda title: _("“%(title)s” is highlighted.", title=title)
    )


@bp.post("/orgs/<slug>/highlights/remove")
@login_required
def remove_highlight(slug: str):
    return _change_highlight(
        slug,
        hl.unhighlight,
        lambda title: _("“%(title)s” is no longer highlighted.", title=title),
    )


@bp.get("/orgs/<slug>/preview")
@login_required
def preview(slug: str):
    org = orgs.organization_for(current_user, slug)
    chosen = "max_actions" in request.args  # not just ?lang= from the language switcher
    form = PreviewForm(request.args if chosen else None)
    if not chosen:
        form.locale.data = org.default_locale
        form.timezone.data = org.timezone or current_app.config["DEFAULT_TIMEZONE"]
    elif not form.validate():
        return render_template("digests/manage_preview.html", org=org, form=form), 400
    profile = SubscriberProfile(
        organization_ids=frozenset({org.id} if form.follows.data else ()),
        cause_slugs=frozenset(form.causes.data or ()),
        region_slugs=frozenset(form.regions.data or ()),
        max_actions=form.max_actions.data,
    )
    now = now_utc()
    candidates = load_candidates(now)
    picked = pick(profile, candidates, set())
    with force_locale(form.locale.data):  # the digest in the subscriber's language
        digest = Markup(  # noqa: S704 - a template rendered with autoescape
            render_template(
                "digests/preview_digest.html",
                events=picked,
                candidates=candidates,
                timezone=form.timezone.data,
                locale=form.locale.data,
                direction=text_direction(form.locale.data),
            )
        )
    return render_template(
        "digests/manage_preview.html", org=org, form=form, digest=digest, picked=picked
    )
