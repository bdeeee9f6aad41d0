"""Sign-up forms; the sign-ups service checks every rule again."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp, ValidationError

from ..forms import multi_line, one_line, strip
from ..services.accounts import normalize_email

PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,40}$")


def valid_email(form, field) -> None:
    """The same check the sign-up service applies, so the form and the service never disagree."""
    if not field.data:
        return
    try:
        normalize_email(field.data)
    except ValueError:
        message = _l("Please enter a valid email address, like name@example.org.")
        raise ValidationError(message) from None


class SignupForm(FlaskForm):
    """The guest sign-up form; a logged-in volunteer sends it with their profile filled in."""

    name = StringField(
        _l("Your name"),
        filters=[one_line],
        validators=[
            DataRequired(_l("Please tell us your name.")),
            Length(max=120, message=_l("Please keep your name under 120 characters.")),
        ],
    )
    email = EmailField(
        _l("Email"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=254, message=_l("That email address is too long.")),
            valid_email,
        ],
    )
    phone = TelField(
        _l("Phone (optional)"),
        filters=[one_line],
        validators=[
            Optional(),
            Length(max=40, message=_l("Please keep the phone number under 40 characters.")),
            Regexp(PHONE_RE, message=_l("Please use digits, spaces, + and - only.")),
        ],
    )


class ShiftSignupForm(SignupForm):
    """The sign-up form of an action with shifts: one or more of them, by id (the sign-ups
    service checks they are this action's, with the roster locked)."""

    shifts = SelectMultipleField(
        _l("Shifts"),
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(_l("Please choose at least one shift."))],
    )


class AttendanceForm(FlaskForm):
    value = HiddenField(validators=[DataRequired(), AnyOf(["attended", "no_show", "clear"])])


class MessageForm(FlaskForm):
    subject = StringField(
        _l("Subject"),
        filters=[one_line],
        validators=[
            DataRequired(_l("Please write a subject.")),
            Length(max=150, message=_l("Please keep the subject under 150 characters.")),
        ],
    )
    body = TextAreaField(
        _l("Message"),
        filters=[multi_line],
        validators=[
            DataRequired(_l("Please write a message.")),
            Length(max=10000, message=_l("Please keep the message under 10,000 characters.")),
        ],
    )
