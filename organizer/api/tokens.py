"""The owners' page for an organization's API tokens: make one (shown once), revoke one."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..forms import ConfirmForm, one_line, show_errors
from ..models.api_token import SCOPE_READ, SCOPE_READ_WRITE
from ..services import api_tokens, orgs
from ..services.api_tokens import NAME_MAX
from ..services.errors import InvalidInput
from ..web import now_utc

tokens_bp = Blueprint("api_tokens", __name__)


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name"), filters=[one_line], validators=[DataRequired(), Length(max=NAME_MAX)]
    )
    scope = RadioField(
        _l("What it may do"),
        default=SCOPE_READ,
        choices=[
            SelectChoice(SCOPE_READ, _l("Read: actions, sign-ups and subscribers")),
            SelectChoice(
                SCOPE_READ_WRITE,
                _l("Read and write: also sign volunteers up, create and change actions"),
            ),
        ],
    )


def _page(org, form: TokenForm, secret: str | None = None, status: int = 200):
    response = make_response(
        render_template(
            "api/tokens.html",
            org=org,
            form=form,
            revoke_form=ConfirmForm(formdata=None),
            tokens=api_tokens.tokens_of(org),
            secret=secret,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # a new token is on it, once
    return response


@tokens_bp.get("/orgs/<slug>/api-tokens")
@login_required
def index(slug: str):
    org = orgs.organization_for(current_user, slug, owner=True)
    return _page(org, TokenForm(formdata=None))


@tokens_bp.post("/orgs/<slug>/api-tokens")
@login_required
def create(slug: str):
    org = orgs.organization_for(current_user, slug, owner=True)
    form = TokenForm()
    if form.validate_on_submit():
        try:
            new = api_tokens.create_token(
                org, current_user, form.name.data, form.scope.data, now_utc()
            )
        except InvalidInput as error:
            show_errors(form, error)
        else:
            return _page(org, TokenForm(formdata=None), secret=new.secret)
    return _page(org, form, status=400)


@tokens_bp.post("/orgs/<slug>/api-tokens/<int:token_id>/revoke")
@login_required
def revoke(slug: str, token_id: int):
    org = orgs.organization_for(current_user, slug, owner=True)
    if ConfirmForm().validate_on_submit():
        token = api_tokens.revoke_token(org, token_id, current_user, now_utc())
        flash(_("The token “%(name)s” no longer works.", name=token.name), "success")
    return redirect(url_for(".index", slug=org.slug))
