"""The shift form (times on the action's own clock) and the buttons of the shifts page."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, StringField, TimeField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

from ..events.forms import TIME_FORMATS, local_to_utc
from ..forms import one_line
from ..models import Event, Shift
from ..services.shifts import ShiftData

# A shift's day must be this close to the action's first day (on the action's clock): far
# enough for any action a form allows to last, near enough that no date is out of range.
MAX_DAYS_FROM_START = 14


class ShiftForm(FlaskForm):
    name = StringField(
        _l("Name of the shift or role"),
        filters=[one_line],
        validators=[
            DataRequired(_l("Please name the shift or role.")),
            Length(max=120, message=_l("Please keep the name under 120 characters.")),
        ],
    )
    day = DateField(_l("Day"), validators=[Optional()])
    start_time = TimeField(_l("Start time"), validators=[Optional()], format=TIME_FORMATS)
    end_time = TimeField(_l("End time"), validators=[Optional()], format=TIME_FORMATS)
    capacity = IntegerField(
        _l("Places"),
        validators=[
            Optional(),
            NumberRange(min=1, max=100_000, message=_l("Please enter a number from 1 up.")),
        ],
    )

    def __init__(self, *args, event: Event, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        self.starts_at: datetime | None = None
        self.ends_at: datetime | None = None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return self._validate_times() and ok

    def _refuse_day(self) -> bool:
        self.day.errors.append(
            _(
                "Please pick a day at most %(num)d days before or after the action's first day "
                "(%(date)s).",
                num=MAX_DAYS_FROM_START,
                date=format_date(self.event.local_start.date(), "medium"),
            )
        )
        return False

    def _validate_day(self) -> bool:
        """No day far from the action: such a shift could never fit it, and a day near year
        1 or 9999 is beyond what a date and time can hold."""
        day = self.day.data
        if day is None or self.day.errors:
            return not self.day.errors
        if abs(day - self.event.local_start.date()) > timedelta(days=MAX_DAYS_FROM_START):
            return self._refuse_day()
        return True

    def _validate_times(self) -> bool:
        start, end = self.start_time.data, self.end_time.data
        if not self._validate_day() or self.start_time.errors or self.end_time.errors:
            return False
        if start is None and end is None:
            return True
        if start is None or end is None:
            self.end_time.errors.append(_("Please give both the start and the end, or neither."))
            return False
        day: date = self.day.data or self.event.local_start.date()
        try:
            self.starts_at = local_to_utc(day, start, self.event.timezone)
            self.ends_at = local_to_utc(day, end, self.event.timezone)
        except (OverflowError, ValueError):  # beyond what dates can hold, near year 1 or 9999
            self.starts_at = self.ends_at = None
            return self._refuse_day()
        if self.starts_at is None or self.ends_at is None:
            self.start_time.errors.append(
                _("This time does not exist on that day: the clocks change. Please pick another.")
            )
            return False
        return True

    def to_data(self) -> ShiftData:
        return ShiftData(
            name=self.name.data or "",
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            capacity=self.capacity.data,
        )


def form_data_for(shift: Shift) -> dict:
    """A shift as the form shows it: its day and hours on the action's clock."""
    data: dict = {"name": shift.name, "capacity": shift.capacity}
    if shift.starts_at is not None and shift.ends_at is not None:
        zone = shift.event.tz
        start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
        data |= {
            "day": start.date(),
            "start_time": start.time().replace(tzinfo=None),
            "end_time": end.time().replace(tzinfo=None),
        }
    return data


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[DataRequired(), AnyOf(["up", "down"])])


class DeleteShiftForm(FlaskForm):
    """Deleting a shift; with volunteers in it, they must agree to cancel those sign-ups."""

    cancel_signups = BooleanField(_l("Cancel their sign-ups and email them"))
