"""Organization forms; the organizations service checks every rule again."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, ValidationError

from ..choices import COMMON_TIMEZONES, LANGUAGE_NAMES
from ..forms import strip
from ..models.organization import ROLE_ORGANIZER, ROLE_OWNER
from ..services.orgs import DESCRIPTION_MAX, NAME_MAX, slug_problem


def _slug_filter(value):
    return value.strip().lower() if isinstance(value, str) else value


def valid_slug(form, field) -> None:
    """The service's own rule, so the form and the service never disagree."""
    problem = slug_problem(field.data or "")
    if problem is not None:
        raise ValidationError(str(problem))


def timezone_choices() -> list[SelectChoice]:
    """The zones movements here use most, then every other IANA zone."""
    common, every = str(_l("Common")), str(_l("All time zones"))
    others = sorted(available_timezones() - set(COMMON_TIMEZONES))
    return [
        *(SelectChoice(tz, tz.replace("_", " "), optgroup=common) for tz in COMMON_TIMEZONES),
        *(SelectChoice(tz, tz.replace("_", " "), optgroup=every) for tz in others),
    ]


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in LANGUAGE_NAMES.items()]


def role_choices() -> list[SelectChoice]:
    return [
        SelectChoice(ROLE_ORGANIZER, str(_l("Organizer: manages actions and volunteers"))),
        SelectChoice(ROLE_OWNER, str(_l("Owner: also manages the organization and its members"))),
    ]


class OrganizationDetailsForm(FlaskForm):
    name = StringField(
        _l("Name"), filters=[strip], validators=[DataRequired(), Length(max=NAME_MAX)]
    )
    description = TextAreaField(
        _l("Description"), filters=[strip], validators=[Length(max=DESCRIPTION_MAX)]
    )
    timezone = SelectField(_l("Time zone"), validators=[DataRequired()])
    default_locale = SelectField(_l("Default language"), validators=[DataRequired()])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()
        self.default_locale.choices = language_choices()


class OrganizationForm(OrganizationDetailsForm):
    slug = StringField(
        _l("Web address"),
        filters=[_slug_filter],
        validators=[DataRequired(), valid_slug],
    )
    submit = SubmitField(_l("Create organization"))


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        filters=[strip],
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
    )
    role = SelectField(_l("Role"), default=ROLE_ORGANIZER, validators=[DataRequired()])
    submit = SubmitField(_l("Send invitation"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class CohostAnswerForm(FlaskForm):
    """Accept or decline a co-host request: no fields, the CSRF token is the point."""


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()
