"""Network forms; the networks service checks every rule again."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


def _slug_filter(value):
    return value.strip().lower() if isinstance(value, str) else value


class OrganizationSlugForm(FlaskForm):
    """The other organization, by the address of its page (/orgs/<address>)."""

    slug = StringField(
        _l("Organization's web address"),
        filters=[_slug_filter],
        validators=[DataRequired(), Length(max=64)],
    )


class AnswerForm(FlaskForm):
    """Accept, decline, withdraw, end, become a network: no fields, the CSRF token is the point."""
