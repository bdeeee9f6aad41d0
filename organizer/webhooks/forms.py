"""The form that registers a webhook; services.webhooks checks every rule again."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import strip
from ..models import webhook as wh
from ..services.webhooks import URL_MAX

EVENT_LABELS = {
    wh.SIGNUP_CREATED: _l("Someone signed up"),
    wh.SIGNUP_CANCELLED: _l("Someone cancelled their sign-up"),
    wh.SIGNUP_PROMOTED: _l("Someone moved up from the waitlist"),
    wh.ACTION_UPDATED: _l("An action was edited"),
    wh.ACTION_CANCELLED: _l("An action was cancelled"),
}


def at_least_one(form, field) -> None:
    """Without DataRequired's `required` flag, which would ask the browser for every box."""
    if not field.data:
        raise ValidationError(str(_l("Choose at least one event.")))


class EndpointForm(FlaskForm):
    url = StringField(
        _l("Address (URL)"),
        filters=[strip],
        validators=[DataRequired(), Length(max=URL_MAX)],
        render_kw={"placeholder": "https://example.org/organizer-hook", "inputmode": "url"},
    )
    events = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(name, label) for name, label in EVENT_LABELS.items()],
        default=list(wh.EVENT_TYPES),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[at_least_one],
    )
