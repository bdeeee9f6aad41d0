"""Privacy forms: deleting an account, and a guest asking for the link to their data."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..forms import strip
from ..signups.forms import valid_email


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        render_kw={"autocomplete": "current-password"},
        validators=[
            DataRequired(_l("Please enter your password to delete your account.")),
            Length(max=128, message=_l("That password is not right.")),
        ],
    )


class GuestDataForm(FlaskForm):
    email = EmailField(
        _l("Your email address"),
        filters=[strip],
        render_kw={"autocomplete": "email"},
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=254, message=_l("That email address is too long.")),
            valid_email,
        ],
    )
