"""Ending a series: from which day on its dates are called off, and a word to the volunteers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..forms import multi_line
from ..services import series as service


class EndSeriesForm(FlaskForm):
    last_day = DateField(_l("Last date kept"), validators=[InputRequired()])
    message = TextAreaField(
        _l("A word to the volunteers (optional)"),
        validators=[Optional(), Length(max=2000)],
        filters=[multi_line],
    )

    def validate_last_day(self, field: DateField) -> None:
        if field.data is not None and not service.FIRST_YEAR <= field.data.year <= (
            service.LAST_YEAR
        ):
            raise ValidationError(_l("Please enter a date between 2000 and 2100."))
