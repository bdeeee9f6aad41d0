"""The check-in buttons: one small form per volunteer, sent without JavaScript."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

CHECK_IN = "in"
CHECK_OUT = "out"
BACK_ON_SITE = "back"


class CheckinForm(FlaskForm):
    action = HiddenField(validators=[DataRequired(), AnyOf([CHECK_IN, CHECK_OUT, BACK_ON_SITE])])
