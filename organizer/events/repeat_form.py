"""The action form's "Repeat" section, and which dates an edit applies to (mixed into EventForm).

The form only reads the rule asked for (services.series.rule_for_edit: a Repeat section sent
back as it was shown keeps a series' rule); services.series checks it again before anything
is written.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, RadioField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import EventSeries
from ..services import series as service
from ..services.errors import InvalidInput


def _weekday_label(index: int) -> LazyString:
    def label() -> str:
        from ..series.display import weekday_names

        return weekday_names()[index]

    return LazyString(label)


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


REPEAT_CHOICES = [
    SelectChoice(service.REPEAT_NONE, _l("Does not repeat")),
    SelectChoice(service.REPEAT_WEEKLY, _l("Weekly, on the days chosen below")),
    SelectChoice(
        service.REPEAT_MONTHLY, _l("Monthly, on the same weekday (for example the first Friday)")
    ),
    SelectChoice(service.REPEAT_MONTHLY_DATE, _l("Monthly, on the same date")),
    SelectChoice(service.REPEAT_QUARTERLY, _l("Every three months, on the same weekday")),
]
KEEP_CHOICE = SelectChoice(service.REPEAT_KEEP, _l("Keep repeating as now"))


class RepeatFields:
    """Fields and checks of the "Repeat" section; the form sets `timezone` and `starts_at`."""

    repeat = SelectField(_l("Repeat"), default=service.REPEAT_NONE, choices=REPEAT_CHOICES)
    repeat_weekdays = _Checkboxes(
        _l("On these days"),
        coerce=int,
        choices=[SelectChoice(i, _weekday_label(i)) for i in range(7)],
        validate_choice=True,
    )
    repeat_interval = IntegerField(
        _l("Every how many weeks"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=service.MAX_INTERVAL)],
    )
    repeat_until = DateField(_l("Until (optional)"), validators=[Optional()])
    edit_scope = RadioField(
        _l("Apply the changes to"),
        default=service.SCOPE_THIS,
        choices=[
            SelectChoice(service.SCOPE_THIS, _l("This date only")),
            SelectChoice(service.SCOPE_FOLLOWING, _l("This and all following dates")),
        ],
    )

    timezone: str
    starts_at: datetime | None
    series: EventSeries | None = None

    def use_series(self, series: EventSeries | None) -> None:
        """Editing a date of `series`: its rule may be one the form can only keep as it is."""
        self.series = series
        if series is not None:
            self.repeat.choices = [*REPEAT_CHOICES, KEEP_CHOICE]

    @property
    def editing_series(self) -> bool:
        """A date of a running series: the edit applies to it alone or to the following too."""
        return self.series is not None and self.series.ended_at is None

    @property
    def applies_to_following(self) -> bool:
        return self.editing_series and self.edit_scope.data == service.SCOPE_FOLLOWING

    @property
    def scope(self) -> str:
        """Which dates of a series the edit applies to (SCOPE_THIS for an action alone)."""
        return service.SCOPE_FOLLOWING if self.applies_to_following else service.SCOPE_THIS

    def repeat_spec(self) -> service.Repeat:
        return service.Repeat(
            choice=self.repeat.data or service.REPEAT_NONE,
            weekdays=list(self.repeat_weekdays.data or []),
            interval=self.repeat_interval.data or 1,
            until=self.repeat_until.data,
        )

    def repeat_rule(self) -> str | None:
        """The RRULE value asked for; None: no repeat, or keep the series' rule as it is."""
        if self.starts_at is None:
            return None
        return service.rule_for_edit(
            self.series,
            self.repeat_spec(),
            self.starts_at,
            self.timezone,
            following=self.applies_to_following,
        )

    def _validate_repeat(self) -> bool:
        until = self.repeat_until.data
        if until is not None and not service.FIRST_YEAR <= until.year <= service.LAST_YEAR:
            message = _l("Please enter a date between 2000 and 2100.")
            self.repeat_until.errors = [*self.repeat_until.errors, message]
            return False
        if self.starts_at is None or self.repeat.errors or self.repeat_weekdays.errors:
            return not (self.repeat.errors or self.repeat_weekdays.errors)
        if self.repeat.data == service.REPEAT_KEEP and self.series is None:
            self.repeat.errors = [*self.repeat.errors, _l("Not a valid choice.")]
            return False
        try:
            rule = self.repeat_rule()
            if rule is not None:
                tz = self.series.timezone if self.series is not None else self.timezone
                service.check_rule(rule, service.to_local(self.starts_at, tz), tz)
        except InvalidInput as error:
            for name, message in error.errors.items():
                field = self[name] if name in self else self.repeat
                field.errors = [*field.errors, str(message)]
            return False
        return True


def repeat_data(series: EventSeries | None) -> dict:
    """A series' rule as the form shows it (nothing for an action that does not repeat)."""
    if series is None:
        return {}
    repeat = service.repeat_for(series)
    return {
        "repeat": repeat.choice,
        "repeat_weekdays": repeat.weekdays,
        "repeat_interval": repeat.interval,
        "repeat_until": repeat.until,
    }
