"""Account forms: they check shape and length; the accounts service enforces the rules again."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from ..choices import LANGUAGE_NAMES
from ..forms import one_line, strip
from ..services import accounts


def _not_common(form, field) -> None:
    if field.data and not field.errors and accounts.is_common_password(field.data):
        raise ValidationError(
            _l(
                "This is one of the most common passwords, so it is easy to guess. "
                "Please choose another: a few words you will remember work well."
            )
        )


def _password(label):
    return PasswordField(
        label,
        render_kw={"autocomplete": "new-password"},
        validators=[
            DataRequired(),
            Length(
                min=accounts.PASSWORD_MIN_LENGTH,
                max=accounts.PASSWORD_MAX_LENGTH,
                message=_l("Use between 8 and 128 characters."),
            ),
            _not_common,
        ],
    )


def _repeat():
    return PasswordField(
        _l("Repeat the password"),
        render_kw={"autocomplete": "new-password"},
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
    )


def _email():
    return EmailField(
        _l("Email"),
        filters=[strip],
        render_kw={"autocomplete": "email"},
        validators=[DataRequired(), Length(max=accounts.EMAIL_MAX_LENGTH), Email()],
    )


def _name():
    return StringField(
        _l("Your name"),
        filters=[one_line],
        render_kw={"autocomplete": "name"},
        validators=[DataRequired(), Length(max=accounts.NAME_MAX_LENGTH)],
    )


class RegisterForm(FlaskForm):
    name = _name()
    email = _email()
    password = _password(_l("Password"))
    confirm = _repeat()
    next = HiddenField()


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        filters=[strip],
        render_kw={"autocomplete": "username"},
        validators=[DataRequired(), Length(max=accounts.EMAIL_MAX_LENGTH)],
    )
    password = PasswordField(
        _l("Password"),
        render_kw={"autocomplete": "current-password"},
        validators=[DataRequired(), Length(max=accounts.PASSWORD_MAX_LENGTH)],
    )
    remember = BooleanField(_l("Keep me logged in on this device"))
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = _email()


class ResetPasswordForm(FlaskForm):
    password = _password(_l("New password"))
    confirm = _repeat()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        render_kw={"autocomplete": "current-password"},
        validators=[DataRequired(), Length(max=accounts.PASSWORD_MAX_LENGTH)],
    )
    password = _password(_l("New password"))
    confirm = _repeat()


class ResendConfirmationForm(FlaskForm):
    """Sent by a logged-in user, or from an expired link (which still names its account)."""

    token = HiddenField()


def _known_timezone(form, field) -> None:
    if field.data and not accounts.is_valid_timezone(field.data):
        raise ValidationError(_l("Choose a time zone from the list, such as Asia/Jerusalem."))


class ProfileForm(FlaskForm):
    name = _name()
    phone = TelField(
        _l("Phone (optional)"),
        filters=[one_line],
        render_kw={"autocomplete": "tel"},
        validators=[
            Optional(),
            Length(max=accounts.PHONE_MAX_LENGTH),
            Regexp(
                r"^[0-9+()\-.\s]*$",
                message=_l("Use digits, spaces and + ( ) - only."),
            ),
        ],
    )
    locale = SelectField(_l("Language"), validate_choice=True)
    timezone = StringField(
        _l("Time zone"),
        filters=[one_line],
        render_kw={"list": "timezones", "autocomplete": "off"},
        validators=[Optional(), Length(max=64), _known_timezone],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.locale.choices = [
            (code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]
        ]
