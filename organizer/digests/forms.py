"""The subscribe form (also posted by the one-field boxes) and the preferences form."""

from __future__ import annotations

from babel.dates import get_day_names
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..choices import CAUSES, LANGUAGE_NAMES, REGIONS
from ..extensions import db
from ..forms import one_line, strip
from ..i18n import current_locale
from ..models import Organization
from ..models.digest import TUESDAY
from ..services import accounts
from ..services import subscriptions as subs


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def choices(vocabulary) -> list[SelectChoice]:
    """A vocabulary (slug -> label) as options, labelled in the reader's language."""
    return [SelectChoice(slug, str(label)) for slug, label in vocabulary.items()]


def _known_timezone(form, field) -> None:
    if field.data and not accounts.is_valid_timezone(field.data):
        raise ValidationError(_l("Choose a time zone from the list, such as Asia/Jerusalem."))


class PreferencesForm(FlaskForm):
    """Everything a subscriber chooses except the address."""

    name = StringField(
        _l("Your name (optional)"),
        filters=[one_line],
        render_kw={"autocomplete": "name"},
        validators=[Optional(), Length(max=subs.NAME_MAX)],
    )
    organizations = MultiCheckboxField(_l("Organizations to follow"), coerce=int)
    causes = MultiCheckboxField(_l("Causes"))
    regions = MultiCheckboxField(_l("Regions"))
    locale = SelectField(_l("Language of the email"))
    weekday = SelectField(_l("Day"), coerce=int)
    hour = SelectField(_l("Hour"), coerce=int)
    timezone = StringField(
        _l("Time zone"),
        filters=[one_line],
        render_kw={"list": "digest-timezones", "autocomplete": "off", "dir": "ltr"},
        validators=[Optional(), Length(max=64), _known_timezone],
    )
    max_actions = IntegerField(
        _l("Actions per email"),
        render_kw={"min": subs.MAX_ACTIONS_MIN, "max": subs.MAX_ACTIONS_MAX},
        validators=[
            DataRequired(message=_l("Choose between 1 and 10.")),
            NumberRange(
                min=subs.MAX_ACTIONS_MIN,
                max=subs.MAX_ACTIONS_MAX,
                message=_l("Choose between 1 and 10."),
            ),
        ],
    )

    def __init__(self, *args, **kwargs) -> None:
        for key, value in defaults().items():
            kwargs.setdefault(key, value)
        super().__init__(*args, **kwargs)
        rows = db.session.execute(
            select(
                Organization.id, Organization.name, Organization.slug, Organization.is_network
            ).order_by(Organization.name, Organization.id)
        ).all()
        self.organization_rows = [(i, n, s) for i, n, s, _network in rows]
        # Following a network follows its members too: say so next to its name.
        network_note = str(_l("network: also its member organizations' actions"))
        self.organizations.choices = [
            SelectChoice(i, f"{n} ({network_note})" if network else n) for i, n, _s, network in rows
        ]
        self.causes.choices = choices(CAUSES)
        self.regions.choices = choices(REGIONS)
        self.locale.choices = [
            SelectChoice(code, LANGUAGE_NAMES.get(code, code))
            for code in current_app.config["LANGUAGES"]
        ]
        days = get_day_names("wide", locale=current_locale())
        self.weekday.choices = [SelectChoice(d, days[d]) for d in range(7)]
        self.hour.choices = [SelectChoice(h, f"{h:02d}:00") for h in range(24)]

    def preferences(self) -> dict:
        """The values as the subscriptions service takes them."""
        return {
            "name": self.name.data or "",
            "organization_ids": set(self.organizations.data or ()),
            "causes": set(self.causes.data or ()),
            "regions": set(self.regions.data or ()),
            "locale": self.locale.data,
            "timezone": self.timezone.data or current_app.config["DEFAULT_TIMEZONE"],
            "weekday": self.weekday.data,
            "hour": self.hour.data,
            "max_actions": self.max_actions.data,
        }


def defaults() -> dict:
    """What a one-field box leaves out: the reader's language, Tuesday at 09:00, three actions."""
    return {
        "locale": current_locale(),
        "weekday": TUESDAY,
        "hour": subs.DEFAULT_HOUR,
        "timezone": current_app.config["DEFAULT_TIMEZONE"],
        "max_actions": subs.DEFAULT_MAX_ACTIONS,
    }


def initial(subscription) -> dict:
    """A saved subscription as form data."""
    return {
        "name": subscription.name,
        "organizations": sorted(subscription.organization_ids),
        "causes": sorted(subscription.cause_slugs),
        "regions": sorted(subscription.region_slugs),
        "locale": subscription.locale,
        "weekday": subscription.weekday,
        "hour": subscription.hour,
        "timezone": subscription.timezone,
        "max_actions": subscription.max_actions,
    }


class SubscribeForm(PreferencesForm):
    email = EmailField(
        _l("Email"),
        filters=[strip],
        render_kw={"autocomplete": "email", "dir": "ltr"},
        validators=[DataRequired(), Length(max=accounts.EMAIL_MAX_LENGTH), Email()],
    )
    # Set by the box on an organization's page: follow that organization.
    org = HiddenField(filters=[strip], validators=[Optional(), Length(max=64)])

    def validate_org(self, field) -> None:
        if field.data and self.org_id() is None:
            raise ValidationError(_l("That organization does not exist."))

    def preselect(self, slug: str | None) -> None:
        """Coming from an organization's page (?org=slug): its box is ticked, nothing forced."""
        org_id = next((i for i, _, s in self.organization_rows if s == slug), None)
        if org_id is not None:
            self.organizations.data = [org_id]

    def org_id(self) -> int | None:
        slug = self.org.data
        return next((i for i, _, s in self.organization_rows if s == slug), None)

    def preferences(self) -> dict:
        values = super().preferences()
        if (org_id := self.org_id()) is not None:
            values["organization_ids"].add(org_id)
        return values
