"""The action form (times entered in the organization's own zone) and the listing's filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..choices import CAUSES, EVENT_KINDS, LANGUAGE_NAMES, REGIONS
from ..forms import multi_line, one_line
from ..models import Event, Organization
from ..models import event as ev
from ..services import orgs
from ..services.errors import NotFound
from ..services.events import EDITABLE_COLUMNS, EventData, EventFilters
from ..services.reminders import REMINDER_HOURS
from .repeat_form import RepeatFields

MAX_YEARS_AHEAD = 5
MAX_DURATION = timedelta(days=31)
MAX_REMINDER_HOURS = 7 * 24
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


def choices(vocabulary: Mapping[str, object]) -> list[SelectChoice]:
    """A vocabulary (slug -> label) as options, labelled in the reader's language."""
    return [SelectChoice(slug, str(label)) for slug, label in vocabulary.items()]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def local_to_utc(day: date, clock: time, tz: str) -> datetime | None:
    """A wall-clock time in `tz` as a UTC instant; None if the clocks skip it (a DST gap)."""
    zone = ZoneInfo(tz)
    local = datetime.combine(day, clock.replace(second=0, microsecond=0), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    has_space = re.search(r"\s", value) is not None
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not has_space


def _hours_choice(value: object) -> str:
    """The reminder select's value: "" for no reminder, else the hours as text."""
    return "" if value in (None, "", "None") else str(value)


def reminder_choices(current: str = "") -> list[SelectChoice]:
    """No reminder, or 2 to 72 hours before; another whole number of hours up to a week, set
    elsewhere (a series, the command line), stays as it is rather than being lost on save."""
    hours = list(REMINDER_HOURS)
    if len(current) <= 3 and current.isascii() and current.isdigit():
        if 1 <= int(current) <= MAX_REMINDER_HOURS and str(int(current)) == current:
            hours = sorted({*hours, int(current)})
    return [
        SelectChoice("", _("No reminder")),
        *(
            SelectChoice(str(h), ngettext("%(num)d hour before", "%(num)d hours before", h))
            for h in hours
        ),
    ]


class EventForm(RepeatFields, FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(), Length(max=200)], filters=[one_line]
    )
    language = SelectField(_l("Language of the title"), default="en")
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=20000)], filters=[multi_line]
    )
    kind = SelectField(_l("Kind of action"), default="rally")
    causes = MultiCheckboxField(_l("Causes"))
    region = SelectField(_l("Region"))
    city = StringField(
        _l("City, town or village"), validators=[Optional(), Length(max=120)], filters=[one_line]
    )
    start_date = DateField(_l("Start date"), validators=[InputRequired()])
    start_time = TimeField(_l("Start time"), validators=[InputRequired()], format=TIME_FORMATS)
    end_date = DateField(_l("End date"), validators=[InputRequired()])
    end_time = TimeField(_l("End time"), validators=[InputRequired()], format=TIME_FORMATS)
    is_online = BooleanField(_l("This action is online"))
    online_url = URLField(
        _l("Meeting link"), validators=[Optional(), Length(max=500)], filters=[one_line]
    )
    address = StringField(
        _l("Address or meeting point"), validators=[Optional(), Length(max=300)], filters=[one_line]
    )
    capacity = IntegerField(_l("Places"), validators=[Optional(), NumberRange(min=1, max=100_000)])
    waitlist_enabled = BooleanField(_l("Keep a waitlist when the places are taken"), default=True)
    approval_required = BooleanField(_l("Organizers approve each volunteer first"))
    visibility = RadioField(_l("Who can find this action"), default=ev.VISIBILITY_PUBLIC)
    location_visibility = RadioField(
        _l("Who sees the exact place or link"), default=ev.LOCATION_PUBLIC
    )
    reveal_hours_before = IntegerField(
        _l("Reveal it only this many hours before the start"),
        validators=[Optional(), NumberRange(min=0, max=720)],
    )
    reminder_hours = SelectField(
        _l("Remind confirmed volunteers by email"), default="24", coerce=_hours_choice
    )
    second_reminder = BooleanField(_l("Also remind them 2 hours before"))
    cohosts = SelectMultipleField(_l("Co-hosting organizations"), choices=[])

    def __init__(
        self,
        *args,
        organization: Organization,
        timezone: str,
        now: datetime,
        original_start: datetime | None = None,
        can_choose_cohosts: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not can_choose_cohosts:
            # A co-host's organizers edit the action but not who hosts it: whatever they
            # send for the field is never read.
            del self.cohosts
        self.timezone = timezone
        self.now = now
        self.original_start = original_start
        self.starts_at: datetime | None = None
        self.ends_at: datetime | None = None
        self.language.choices = choices(LANGUAGE_NAMES)
        self.kind.choices = choices(EVENT_KINDS)
        self.causes.choices = choices(CAUSES)
        self.region.choices = [SelectChoice("", _("Choose a region")), *choices(REGIONS)]
        self.visibility.choices = [
            SelectChoice(ev.VISIBILITY_PUBLIC, _("Everyone: listed on the site")),
            SelectChoice(ev.VISIBILITY_UNLISTED, _("Only people with the link (unlisted)")),
        ]
        self.reminder_hours.data = _hours_choice(self.reminder_hours.data)  # None: no reminder
        self.reminder_hours.choices = reminder_choices(self.reminder_hours.data)
        self.location_visibility.choices = [
            SelectChoice(ev.LOCATION_PUBLIC, _("Everyone")),
            SelectChoice(
                ev.LOCATION_CONFIRMED, _("Only confirmed volunteers (the public sees the city)")
            ),
        ]
        if self.cohosts is not None:
            self.cohosts.choices = [
                SelectChoice(org.slug, org.name)
                for org in orgs.all_organizations()
                if org.id != organization.id
            ]

    def cohost_slugs(self) -> list[str] | None:
        """The co-hosts asked for; None when the co-host list is not this user's to change."""
        return None if self.cohosts is None else list(self.cohosts.data or [])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not self.region.data:
            self.region.errors = [*self.region.errors, _("Please choose a region.")]
            ok = False
        ok = self._validate_times() and ok
        ok = self._validate_repeat() and ok
        ok = self._validate_place() and ok
        ok = self._validate_translations() and ok
        return ok

    def translation_fields(self) -> list[tuple[str, str, Field, Field]]:
        """(locale, language name, title field, description field) for each language."""
        return [
            (code, name, self[f"title_{code}"], self[f"description_{code}"])
            for code, name in LANGUAGE_NAMES.items()
        ]

    def _validate_translations(self) -> bool:
        ok = True
        for code, _name, title, description in self.translation_fields():
            if description.data and not title.data and code != self.language.data:
                title.errors.append(_("Please give the title in this language too."))
                ok = False
        return ok

    def translations(self) -> dict[str, tuple[str, str]]:
        return {
            code: (title.data or "", description.data or "")
            for code, _name, title, description in self.translation_fields()
            if code != self.language.data
        }

    def _to_utc(self, day_field, time_field) -> datetime | None:
        day, clock = day_field.data, time_field.data
        if day is None or clock is None or day_field.errors or time_field.errors:
            return None
        if not 2000 <= day.year <= 2100:
            day_field.errors.append(_("Please enter a date between 2000 and 2100."))
            return None
        instant = local_to_utc(day, clock, self.timezone)
        if instant is None:
            time_field.errors.append(
                _("This time does not exist on that day: the clocks change. Please pick another.")
            )
        return instant

    def _validate_times(self) -> bool:
        start = self._to_utc(self.start_date, self.start_time)
        end = self._to_utc(self.end_date, self.end_time)
        if start is None or end is None:
            return False
        ok = True
        if end <= start:
            self.end_time.errors.append(_("The end must be after the start."))
            ok = False
        elif end - start > MAX_DURATION:
            self.end_date.errors.append(_("An action can last at most 31 days."))
            ok = False
        start_changed = self.original_start is None or start != self.original_start.replace(
            second=0, microsecond=0
        )
        if start_changed and start <= self.now:
            self.start_date.errors.append(_("The start must be in the future."))
            ok = False
        if start > self.now + timedelta(days=365 * MAX_YEARS_AHEAD):
            self.start_date.errors.append(_("Actions can be planned at most five years ahead."))
            ok = False
        self.starts_at, self.ends_at = start, end
        return ok

    def _validate_place(self) -> bool:
        if self.is_online.data:
            if not self.online_url.data:
                self.online_url.errors.append(_("Please give the meeting link."))
                return False
            if not is_web_url(self.online_url.data):
                self.online_url.errors.append(
                    _("Please give a web address starting with https:// or http://.")
                )
                return False
        elif not self.address.data:
            self.address.errors.append(_("Please give the address or meeting point."))
            return False
        return True

    def to_data(self) -> EventData:
        assert self.starts_at is not None and self.ends_at is not None
        hidden = self.location_visibility.data == ev.LOCATION_CONFIRMED
        return EventData(
            title=self.title.data,
            description_md=self.description.data or "",
            language=self.language.data,
            kind=self.kind.data,
            causes=list(self.causes.data or []),
            region=self.region.data,
            city=self.city.data or "",
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            is_online=bool(self.is_online.data),
            address=self.address.data or "",
            online_url=self.online_url.data or "",
            capacity=self.capacity.data,
            waitlist_enabled=bool(self.waitlist_enabled.data),
            approval_required=bool(self.approval_required.data),
            visibility=self.visibility.data,
            location_visibility=self.location_visibility.data,
            reveal_hours_before=self.reveal_hours_before.data if hidden else None,
            reminder_hours=int(self.reminder_hours.data) if self.reminder_hours.data else None,
            second_reminder=bool(self.second_reminder.data),
            cohost_slugs=self.cohost_slugs(),
            translations=self.translations(),
        )


# Title and description in each language, beside the original: the organizers' own
# translation, shown to readers of that language (the field for the original's language is
# ignored on save).
for _code in LANGUAGE_NAMES:
    setattr(
        EventForm,
        f"title_{_code}",
        StringField(_l("Title"), validators=[Optional(), Length(max=200)], filters=[one_line]),
    )
    setattr(
        EventForm,
        f"description_{_code}",
        TextAreaField(
            _l("Description"), validators=[Optional(), Length(max=20000)], filters=[multi_line]
        ),
    )


def form_data_for(event: Event) -> dict:
    """An existing action as the form shows it: local dates and times in the action's zone.

    The form takes the columns it has a field for and ignores the others.
    """
    start, end = event.local_start, event.local_end
    return (
        {name: getattr(event, name) for name in EDITABLE_COLUMNS}
        | {
            "description": event.description_md,
            "causes": event.cause_slugs,
            "start_date": start.date(),
            "start_time": start.time().replace(tzinfo=None),
            "end_date": end.date(),
            "end_time": end.time().replace(tzinfo=None),
            "cohosts": [h.organization.slug for h in event.cohosts],  # asked and accepted
        }
        | {
            field: value
            for t in event.translations
            for field, value in (
                (f"title_{t.locale}", t.title),
                (f"description_{t.locale}", t.description_md),
            )
        }
    )


class CancelForm(FlaskForm):
    message = TextAreaField(
        _l("A word to the volunteers (optional)"),
        validators=[Optional(), Length(max=2000)],
        filters=[multi_line],
    )


# --- the listing's filters -------------------------------------------------------------------

FILTER_KEYS = ("q", "org", "cause", "region", "kind", "from", "to", "online")
MAX_PAGE = 100_000


def _clean_arg(args: Mapping[str, str], key: str, max_length: int = 100) -> str:
    value = args.get(key) or ""
    return (one_line(value) or "")[:max_length]


def _parse_day(value: str) -> date | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


def parse_filters(args: Mapping[str, str], timezone: str) -> tuple[EventFilters, list[str]]:
    """Filters from the query string; values that make no sense are dropped with a gentle note."""
    notes: list[str] = []
    filters = EventFilters(timezone=timezone, q=_clean_arg(args, "q", 200))
    slug = _clean_arg(args, "org", 64).lower()
    if slug:
        try:
            filters.org = orgs.get_organization(slug)
        except NotFound:
            notes.append(
                _("We don't know an organization called “%(slug)s”; showing all.", slug=slug)
            )
    for key, vocabulary in (("cause", CAUSES), ("region", REGIONS), ("kind", EVENT_KINDS)):
        value = _clean_arg(args, key, 64)
        if value in vocabulary:
            setattr(filters, key, value)
        elif value:
            notes.append(_("Unknown filter value ignored: %(value)s", value=value))
    for key, attr in (("from", "date_from"), ("to", "date_to")):
        value = _clean_arg(args, key, 32)
        if value:
            day = _parse_day(value)
            if day is None:
                notes.append(
                    _("“%(value)s” is not a date we understand; it was ignored.", value=value)
                )
            setattr(filters, attr, day)
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        notes.append(_("The end date was before the start date, so it was ignored."))
        filters.date_to = None
    online = _clean_arg(args, "online", 8)
    if online in ("1", "0"):
        filters.online = online == "1"
    return filters, notes


def filter_args(args: Mapping[str, str]) -> dict[str, str]:
    """The filters as given, for links that keep them (pagination, quick filters)."""
    return {key: value for key in FILTER_KEYS if (value := _clean_arg(args, key, 200))}


def page_number(args: Mapping[str, str]) -> int:
    """?page= as a number from 1 to MAX_PAGE; anything that is not a number is page 1."""
    value = args.get("page", "1")
    if not (value.isascii() and value.isdigit()):
        return 1
    return MAX_PAGE if len(value) > 9 else max(1, min(int(value), MAX_PAGE))
