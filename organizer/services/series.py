"""Recurring actions: a series' rule, its occurrences, edits across them, standing sign-ups.

How it works, and the choices made:

- The rule is an RFC 5545 RRULE value (``FREQ=WEEKLY;BYDAY=FR;UNTIL=20270630T205959Z``) run by
  python-dateutil on the series' naive wall-clock start (`EventSeries.local_start`); each local
  slot is then placed in the series' zone with zoneinfo. So 13:00 stays 13:00 on both sides
  of a daylight-saving change. UNTIL is kept in UTC (as RFC 5545 wants next to a DTSTART with
  a TZID) and turned back into local time before the rule runs.
- A wall-clock time the clocks skip (02:30 on a spring-forward night) is read with the UTC
  offset before the gap, as RFC 5545 §3.3.5 says: that date happens an hour later on the wall
  clock (03:30), where calendar apps reading the series' RRULE put it too. A time that happens
  twice (the repeated autumn hour) is the first of the two. Nothing is skipped silently.
- Occurrences are ordinary actions, materialized ahead up to now + `horizon_weeks` when the
  series is saved and by `flask events extend` (cron). Each copies the template, the latest
  occurrence not edited on its own (`detached`) and not cancelled. Two runs at once are safe:
  each series' row is written first (a row lock on PostgreSQL, the write lock on SQLite), and
  unique(series_id, occurrence_start) still refuses a twin, caught per occurrence in a
  savepoint.
- "This date only" edits one occurrence and marks it `detached`. "This and all following"
  copies the edit onto every later occurrence that was not edited alone; a new time of day,
  length or rule ends the series just before this date and starts a new series from it
  (RFC 5545's usual split: the old RRULE gets an UNTIL, the new one starts here). Later dates
  whose day is still in the new rule move with it (their volunteers are told the new time);
  dates the new rule no longer has are cancelled (their volunteers are told). Standing
  sign-ups follow to the new series.
- A standing sign-up ("every week") signs its volunteer up to every coming date, now and as
  each is materialized, through services.signups.sign_up: places, waitlist and approval hold
  as for anyone. A date they cancelled, or were declined for, is never signed up again. It
  starts at once only for a logged-in volunteer with their own confirmed address; anyone
  else confirms from their inbox first (a signed link, acted on by a POST only), so nobody
  can sign another's address up for months of dates.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, weekday
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..database import transaction
from ..extensions import db
from ..models import (
    Event,
    EventCause,
    EventHost,
    EventSeries,
    EventTranslation,
    Shift,
    Signup,
    StandingSignup,
    User,
)
from ..models import event as ev
from ..models import signup as st
from ..progress import SILENT, Progress
from ..tokens import InvalidToken, make_token, read_token
from . import events as event_service
from . import signups as signup_service
from .accounts import normalize_email
from .errors import (
    AlreadySignedUp,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
)

log = logging.getLogger(__name__)

DEFAULT_HORIZON_WEEKS = 12
MAX_HORIZON_WEEKS = 52
MAX_OCCURRENCES = 260  # five years of a weekly action
MAX_INTERVAL = 52
# The dates the forms take (as for an action's own dates): a repeat's end, a series' last day.
FIRST_YEAR, LAST_YEAR = 2000, 2100
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}
RULE_KEYS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL", "WKST")

# What the action form's "Repeat" offers.
REPEAT_NONE = "none"
REPEAT_WEEKLY = "weekly"  # on chosen weekdays, every N weeks
REPEAT_MONTHLY = "monthly"  # on the same weekday of the month: "the first Friday"
REPEAT_MONTHLY_DATE = "monthly_date"  # on the same date: "the 14th"
REPEAT_QUARTERLY = "quarterly"  # every three months on the same weekday of the month
REPEAT_KEEP = "keep"  # an occurrence's series whose rule the form can't show: leave it
REPEAT_CHOICES = (
    REPEAT_NONE,
    REPEAT_WEEKLY,
    REPEAT_MONTHLY,
    REPEAT_MONTHLY_DATE,
    REPEAT_QUARTERLY,
)

SCOPE_THIS = "this"
SCOPE_FOLLOWING = "following"

STANDING_PURPOSE = "standing-stop"
STANDING_START_PURPOSE = "standing-start"
STANDING_START_MAX_AGE = 7 * 24 * 3600  # the confirmation link in a guest's email

# What ticking "every week" on a date's sign-up form did (ask_standing).
STANDING_STARTED = "started"  # a logged-in volunteer, with their own address: at once
STANDING_EMAILED = "emailed"  # anyone else: a link to confirm, sent to that address

# Copied from the template onto each new occurrence (times, status and keys are the slot's).
COPIED_COLUMNS = (
    "title", "description_md", "description_html", "language", "kind", "region", "city",
    "is_online", "address", "online_url", "capacity", "waitlist_enabled", "approval_required",
    "visibility", "location_visibility", "reveal_hours_before", "reminder_hours",
    "second_reminder",
)  # fmt: skip

REPEAT_FIELD = "repeat"


def _invalid(message, field_name: str = REPEAT_FIELD) -> InvalidInput:
    return InvalidInput({field_name: message})


def _out_of_range(field_name: str = REPEAT_FIELD) -> InvalidInput:
    return _invalid(_l("Please enter a date between 2000 and 2100."), field_name)


def check_year(day: date, field_name: str) -> None:
    """A day the forms take: InvalidInput naming `field_name` if not (FIRST_YEAR–LAST_YEAR)."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise _out_of_range(field_name)


# --- the rule --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A parsed RRULE value, limited to what a movement's calendar needs."""

    freq: str
    interval: int = 1
    byday: tuple[tuple[int, int], ...] = ()  # (nth, weekday): nth 0 = every; weekday 0 = Monday
    bymonthday: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()
    count: int | None = None
    until: datetime | None = None  # UTC
    wkst: int | None = None

    @property
    def bounded(self) -> bool:
        return self.count is not None or self.until is not None

    def value(self) -> str:
        """The canonical RRULE value: the same rule always reads the same."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            days = ",".join((f"{n:+d}" if n else "") + WEEKDAY_CODES[d] for n, d in self.byday)
            parts.append(f"BYDAY={days}")
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in self.bymonthday))
        if self.bymonth:
            parts.append("BYMONTH=" + ",".join(str(m) for m in self.bymonth))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append("UNTIL=" + self.until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
        if self.wkst is not None:
            parts.append(f"WKST={WEEKDAY_CODES[self.wkst]}")
        return ";".join(parts)

    def ending(self, until: datetime) -> Rule:
        """The same rule, stopping at `until` (UTC) at the latest."""
        if self.until is not None and self.until <= until:
            return replace(self, count=None)
        return replace(self, until=until.astimezone(UTC), count=None)


_BYDAY_RE = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")
_INT_RE = re.compile(r"^[+-]?\d{1,3}$")


def _int_list(value: str, low: int, high: int, allow_negative: bool = False) -> tuple[int, ...]:
    numbers = []
    for item in value.split(","):
        if not _INT_RE.match(item):
            raise _invalid(_l("This repeat rule is not valid."))
        n = int(item)
        if not (low <= abs(n) <= high) or (n < 0 and not allow_negative):
            raise _invalid(_l("This repeat rule is not valid."))
        numbers.append(n)
    return tuple(dict.fromkeys(numbers))


def _parse_until(value: str, tz: str) -> datetime:
    """UNTIL as UTC: a UTC time as is, a floating time on the series' clock, a bare date as
    the end of that day on the series' clock."""
    try:
        if re.fullmatch(r"\d{8}T\d{6}Z", value):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if re.fullmatch(r"\d{8}T\d{6}", value):
            return to_utc(datetime.strptime(value, "%Y%m%dT%H%M%S"), tz)
        if re.fullmatch(r"\d{8}", value):
            return end_of_day(datetime.strptime(value, "%Y%m%d").date(), tz)
    except (ValueError, OverflowError):
        pass
    raise _invalid(_l("The end date of this repeat rule is not valid."))


def parse_rule(text: str, tz: str) -> Rule:
    """An RRULE value (with or without "RRULE:"), checked part by part; InvalidInput if not."""
    text = (text or "").strip().upper()
    if text.startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text or len(text) > 400 or "\n" in text:
        raise _invalid(_l("This repeat rule is not valid."))
    parts: dict[str, str] = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        if not sep or not value or key in parts:
            raise _invalid(_l("This repeat rule is not valid."))
        if key not in RULE_KEYS:
            raise _invalid(_l("This repeat rule uses something we don't support."))
        parts[key] = value
    freq = parts.get("FREQ")
    if freq not in FREQUENCIES:
        raise _invalid(_l("A repeat rule repeats daily, weekly, monthly or yearly."))
    interval = 1
    if "INTERVAL" in parts:
        if not parts["INTERVAL"].isdigit() or not 1 <= int(parts["INTERVAL"]) <= MAX_INTERVAL:
            raise _invalid(_l("This repeat rule is not valid."))
        interval = int(parts["INTERVAL"])
    byday: list[tuple[int, int]] = []
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else ():
        match = _BYDAY_RE.match(item)
        if not match:
            raise _invalid(_l("This repeat rule is not valid."))
        nth = int(match.group(1) or 0)
        if nth and freq not in ("MONTHLY", "YEARLY"):
            raise _invalid(_l("This repeat rule is not valid."))
        byday.append((nth, WEEKDAY_CODES.index(match.group(2))))
    bymonthday = _int_list(parts["BYMONTHDAY"], 1, 31, True) if "BYMONTHDAY" in parts else ()
    bymonth = _int_list(parts["BYMONTH"], 1, 12) if "BYMONTH" in parts else ()
    count = None
    if "COUNT" in parts:
        if not parts["COUNT"].isdigit() or int(parts["COUNT"]) < 1:
            raise _invalid(_l("This repeat rule is not valid."))
        count = int(parts["COUNT"])
    until = _parse_until(parts["UNTIL"], tz) if "UNTIL" in parts else None
    if count is not None and until is not None:
        raise _invalid(_l("A repeat rule ends on a date or after a number of times, not both."))
    wkst = None
    if "WKST" in parts:
        if parts["WKST"] not in WEEKDAY_CODES:
            raise _invalid(_l("This repeat rule is not valid."))
        wkst = WEEKDAY_CODES.index(parts["WKST"])
    return Rule(
        freq=freq,
        interval=interval,
        byday=tuple(dict.fromkeys(byday)),
        bymonthday=bymonthday,
        bymonth=bymonth,
        count=count,
        until=until,
        wkst=wkst,
    )


def to_utc(local: datetime, tz: str) -> datetime:
    """A naive wall-clock time on `tz`'s clock as a UTC instant (fold 0: a skipped time is read
    with the offset before the gap, a repeated one is the first; RFC 5545 §3.3.5)."""
    return local.replace(tzinfo=ZoneInfo(tz), fold=0).astimezone(UTC)


def to_local(instant: datetime, tz: str) -> datetime:
    """A UTC instant as naive wall-clock time on `tz`'s clock."""
    return instant.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def end_of_day(day: date, tz: str) -> datetime:
    """The last second of `day` on `tz`'s clock, in UTC: an UNTIL that keeps that whole day.
    InvalidInput for a day at the end of the calendar (9999-12-31), never an OverflowError."""
    try:
        midnight = to_utc(datetime.combine(day + timedelta(days=1), time(0)), tz)
    except OverflowError:
        raise _out_of_range() from None
    return midnight - timedelta(seconds=1)


def _rrule(rule: Rule, local_start: datetime, tz: str) -> rrule:
    try:
        until = to_local(rule.until, tz) if rule.until is not None else None
        return rrule(
            FREQUENCIES[rule.freq],
            dtstart=local_start.replace(second=0, microsecond=0),
            interval=rule.interval,
            wkst=rule.wkst,
            count=rule.count,
            until=until,
            byweekday=[weekday(d, n or None) for n, d in rule.byday] or None,
            bymonthday=rule.bymonthday or None,
            bymonth=rule.bymonth or None,
        )
    except (ValueError, TypeError, OverflowError):
        raise _invalid(_l("This repeat rule is not valid.")) from None


def check_rule(text: str, local_start: datetime, tz: str) -> Rule:
    """A rule a series may have, from its first date `local_start` (naive, on `tz`'s clock):
    the first date follows the rule, it ends after it starts, and it makes at least two and at
    most MAX_OCCURRENCES dates. InvalidInput, naming the "repeat" field, if not."""
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError):
        raise _invalid(_l("This time zone is not known.")) from None
    rule = parse_rule(text, tz)
    local_start = local_start.replace(second=0, microsecond=0)
    if rule.until is not None and rule.until <= to_utc(local_start, tz):
        raise _invalid(_l("The last date must be after the first one."))
    dates = list(islice(_rrule(rule, local_start, tz), MAX_OCCURRENCES + 1))
    if not dates or dates[0] != local_start:
        raise _invalid(
            _l(
                "The first date must be one the action repeats on: "
                "change the start date or the days it repeats."
            )
        )
    if len(dates) < 2:
        raise _invalid(_l("With this end date there is only one date: choose a later end date."))
    if rule.bounded and len(dates) > MAX_OCCURRENCES:
        raise _invalid(
            lazy_ngettext(
                "A series can have at most %(num)d date: choose an earlier end date.",
                "A series can have at most %(num)d dates: choose an earlier end date.",
                MAX_OCCURRENCES,
            )
        )
    return rule


def _nth_of_month(day: date) -> int:
    """1 for the first Friday of its month ... 4 for the fourth; -1 for a fifth (the last)."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


@dataclass
class Repeat:
    """The form's "Repeat" section: how often, on which weekdays, until when."""

    choice: str = REPEAT_NONE
    weekdays: list[int] = field(default_factory=list)  # 0 = Monday
    interval: int = 1
    until: date | None = None


def build_rule(repeat: Repeat, local_start: datetime, tz: str) -> str | None:
    """The RRULE value for what the form asked, from the first date; None: does not repeat."""
    if repeat.choice in (REPEAT_NONE, REPEAT_KEEP):
        return None
    if repeat.choice not in REPEAT_CHOICES:
        raise _invalid(_l("Not a valid choice."))
    start = local_start.date()
    if repeat.choice == REPEAT_WEEKLY:
        days = sorted(set(repeat.weekdays or [start.weekday()]))
        if any(not 0 <= d <= 6 for d in days):
            raise _invalid(_l("Not a valid choice."))
        rule = Rule("WEEKLY", interval=repeat.interval, byday=tuple((0, d) for d in days))
    elif repeat.choice == REPEAT_MONTHLY_DATE:
        if start.day > 28:
            raise _invalid(
                _l(
                    "Not every month has a %(day)dth: repeat on a weekday instead "
                    "(for example the last Friday).",
                    day=start.day,
                )
            )
        rule = Rule("MONTHLY", bymonthday=(start.day,))
    else:
        interval = 3 if repeat.choice == REPEAT_QUARTERLY else 1
        rule = Rule("MONTHLY", interval=interval, byday=((_nth_of_month(start), start.weekday()),))
    if repeat.until is not None:
        check_year(repeat.until, "repeat_until")
        rule = replace(rule, until=end_of_day(repeat.until, tz))
    return rule.value()


def repeat_for(series: EventSeries) -> Repeat:
    """The form's "Repeat" section for a series' rule; REPEAT_KEEP when the form can't show it
    exactly (then the form leaves the rule alone)."""
    tz = series.timezone
    rule = parse_rule(series.rule, tz)
    until = to_local(rule.until, tz).date() if rule.until is not None else None
    start = series.local_start
    candidates = [
        Repeat(REPEAT_WEEKLY, [d for _n, d in rule.byday], rule.interval, until),
        Repeat(REPEAT_MONTHLY, [], 1, until),
        Repeat(REPEAT_MONTHLY_DATE, [], 1, until),
        Repeat(REPEAT_QUARTERLY, [], 1, until),
    ]
    for candidate in candidates:
        try:
            if build_rule(candidate, start, tz) == rule.value():
                return candidate
        except InvalidInput:
            continue
    return Repeat(REPEAT_KEEP, [], rule.interval, until)


def same_repeat(asked: Repeat, shown: Repeat) -> bool:
    """Whether the "Repeat" section came back as the form showed it (what a field the choice
    does not use holds does not count)."""
    if asked.choice != shown.choice or asked.until != shown.until:
        return False
    if asked.choice == REPEAT_WEEKLY:
        return set(asked.weekdays) == set(shown.weekdays) and asked.interval == shown.interval
    return True


def _holds(rule_text: str, local_start: datetime, tz: str) -> bool:
    """Whether a series repeating by `rule_text` may start at `local_start`."""
    try:
        check_rule(rule_text, local_start, tz)
    except InvalidInput:
        return False
    return True


def rule_for_edit(
    series: EventSeries | None,
    repeat: Repeat,
    starts_at: datetime,
    tz: str,
    following: bool = False,
) -> str | None:
    """The RRULE the action form asks for when saved with `repeat` and the start `starts_at`
    (UTC); None: it does not repeat, or the series keeps its rule as it is.

    For an action alone, the rule is built from its date. For a date of a series:

    - Repeat sent back as the form showed it (`repeat_for`) keeps the rule: an edit that does
      not touch Repeat never builds it again. (Built again from the edited date, "monthly on
      the last Friday" would read 26 February as the fourth Friday.) Only when "this and
      following" moves the date to a day the rule does not have is the rule built from the
      new date, as "the same weekday" of it.
    - Repeat changed but the same kind (only its end, say): built from the series' first date
      if the edited date is one of its dates, so the last Friday stays the last Friday; else,
      and for another kind, from the edited date.
    - An ended series keeps its rule: its dates are edited one by one.
    """
    if series is None:
        return build_rule(repeat, to_local(starts_at, tz), tz)
    if series.ended_at is not None or repeat.choice == REPEAT_KEEP:
        return None
    tz = series.timezone
    local = to_local(starts_at, tz).replace(second=0, microsecond=0)
    shown = repeat_for(series)
    if same_repeat(repeat, shown):
        if not following or _holds(series.rule, local, tz):
            return None
        return build_rule(repeat, local, tz)
    if repeat.choice == shown.choice:
        try:
            rule_text = build_rule(repeat, series.local_start, tz)
        except InvalidInput:
            rule_text = None
        if rule_text is not None and _holds(rule_text, local, tz):
            return rule_text
    return build_rule(repeat, local, tz)


# --- occurrences -----------------------------------------------------------------------------


def _lock_series(series_id: int) -> EventSeries:
    """The series, with its row written first: runs that change it go one after another."""
    db.session.execute(
        update(EventSeries)
        .where(EventSeries.id == series_id)
        .values(sequence=EventSeries.sequence)
        .execution_options(synchronize_session=False)
    )
    series = db.session.get(EventSeries, series_id, populate_existing=True)
    if series is None:
        raise NotFound(series_id)
    return series


def slots(
    series: EventSeries, after: datetime | None, until: datetime, rule: Rule | None = None
) -> list[datetime]:
    """The series' slots (UTC) later than `after` (None: from the first) up to `until`."""
    tz = series.timezone
    rule = rule or parse_rule(series.rule, tz)
    recurrence = _rrule(rule, series.local_start, tz)
    low = to_local(after, tz) - timedelta(days=1) if after is not None else series.local_start
    high = to_local(until, tz) + timedelta(days=1)
    if high < low:
        return []
    found = []
    for local in recurrence.between(low, high, inc=True):
        instant = to_utc(local, tz)
        if (after is None or instant > after) and instant <= until:
            found.append(instant)
    return found


def _end_for(series: EventSeries, slot: datetime) -> datetime:
    """The end of the occurrence starting at `slot`: its length on the wall clock."""
    local_end = to_local(slot, series.timezone) + timedelta(minutes=series.duration_minutes)
    end = to_utc(local_end, series.timezone)
    return end if end > slot else slot + timedelta(minutes=series.duration_minutes)


def _template(series_id: int) -> Event | None:
    """What new dates copy: the latest occurrence not edited alone and not cancelled."""
    return db.session.scalar(
        select(Event)
        .where(
            Event.series_id == series_id,
            Event.detached.is_(False),
            Event.status != ev.STATUS_CANCELLED,
        )
        .order_by(Event.occurrence_start.desc(), Event.id.desc())
        .limit(1)
        .options(
            selectinload(Event.causes),
            selectinload(Event.translations),
            selectinload(Event.cohosts),
            selectinload(Event.shifts),
        )
    )


def _shifted(moment: datetime | None, template: Event, local_slot: datetime, tz: str):
    """A shift's time, kept at the same wall-clock distance from the action's start."""
    if moment is None:
        return None
    offset = to_local(moment, tz) - to_local(template.starts_at, tz)
    return to_utc(local_slot + offset, tz)


def _occurrence(template: Event, series: EventSeries, slot: datetime, now: datetime) -> Event:
    tz = series.timezone
    published = template.status == ev.STATUS_PUBLISHED
    event = Event(
        organization_id=template.organization_id,
        series_id=series.id,
        occurrence_start=slot,
        detached=False,
        starts_at=slot,
        ends_at=_end_for(series, slot),
        timezone=tz,
        status=ev.STATUS_PUBLISHED if published else ev.STATUS_DRAFT,
        published_at=now if published else None,
        created_by_id=template.created_by_id,
        created_at=now,
        updated_at=now,
        sequence=0,
        roster_version=0,
        **{name: getattr(template, name) for name in COPIED_COLUMNS},
    )
    event.causes = [EventCause(cause=c.cause) for c in template.causes]
    event.translations = [
        EventTranslation(
            locale=t.locale,
            title=t.title,
            description_md=t.description_md,
            description_html=t.description_html,
        )
        for t in template.translations
    ]
    event.cohosts = [
        EventHost(
            organization_id=h.organization_id,
            status=ev.COHOST_ACCEPTED,
            requested_by_id=h.requested_by_id,
            requested_at=h.requested_at,
            responded_at=h.responded_at or now,
        )
        for h in template.accepted_cohosts
    ]
    local_slot = to_local(slot, tz)
    event.shifts = [
        Shift(
            name=s.name,
            capacity=s.capacity,
            position=s.position,
            starts_at=_shifted(s.starts_at, template, local_slot, tz),
            ends_at=_shifted(s.ends_at, template, local_slot, tz),
        )
        for s in template.shifts
    ]
    return event


def _materialize(series_id: int, now: datetime) -> list[int]:
    """Create the dates missing up to now + the horizon; commits; returns the new actions' ids.

    Safe to run twice at once: the series row is locked first, and a date another run made
    anyway (unique series_id + occurrence_start) is skipped in its own savepoint.
    """
    created: list[Event] = []
    with transaction():
        series = _lock_series(series_id)
        if series.ended_at is not None:
            return []
        template = _template(series.id)
        if template is None:
            return []
        horizon_end = now + timedelta(weeks=series.horizon_weeks)
        latest = series.materialized_until
        for slot in slots(series, series.materialized_until, horizon_end):
            latest = slot
            if slot <= now:
                continue  # a date that went by before anyone extended the series
            try:
                with db.session.begin_nested():
                    occurrence = _occurrence(template, series, slot, now)
                    db.session.add(occurrence)
            except IntegrityError:
                log.info("Series %s: %s was already materialized", series.id, slot)
                continue
            created.append(occurrence)
        if latest is not None and (
            series.materialized_until is None or latest > series.materialized_until
        ):
            series.materialized_until = latest
        db.session.flush()
        ids = [e.id for e in created]
    return ids


@dataclass
class Extended:
    """What extending one series did: the dates created, the standing sign-ups they got."""

    created: list[int] = field(default_factory=list)
    joined: list[Signup] = field(default_factory=list)
    emailed: int = 0


def extend_series(series_id: int, now: datetime, notify: bool = True) -> Extended:
    """Materialize the coming dates and sign the standing volunteers up to them; each new
    sign-up is emailed (with its own link to cancel that date) when `notify`."""
    result = Extended(created=_materialize(series_id, now))
    result.joined = join_standing(series_id, now)
    if notify:
        from . import notifications

        result.emailed = sum(notifications.notify_signup(s, now) for s in result.joined)
    return result


@dataclass
class ExtendSummary:
    series: int = 0
    created: int = 0
    joined: int = 0
    failed: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        text = (
            f"Extended {self.series} series: {self.created} new dates, "
            f"{self.joined} standing sign-ups."
        )
        if self.failed:
            text += f" Failed: series {', '.join(map(str, self.failed))} (see the log)."
        return text


def extend_all(now: datetime, progress: Progress = SILENT) -> ExtendSummary:
    """`flask events extend`: every series still running, each on its own; one failing series
    is logged and the others still extended. `progress` counts the series."""
    summary = ExtendSummary()
    ids = list(
        db.session.scalars(
            select(EventSeries.id).where(EventSeries.ended_at.is_(None)).order_by(EventSeries.id)
        )
    )
    progress.start(len(ids))
    for series_id in ids:
        progress.advance()
        try:
            result = extend_series(series_id, now)
        except Exception:
            db.session.rollback()
            log.exception("Could not extend series %s", series_id)
            summary.failed.append(series_id)
            continue
        summary.series += 1
        summary.created += len(result.created)
        summary.joined += len(result.joined)
    return summary


def create_series(
    event: Event, rule_text: str, now: datetime, horizon_weeks: int = DEFAULT_HORIZON_WEEKS
) -> EventSeries:
    """Make `event` the first date of a series repeating by `rule_text`, and materialize the
    coming dates. The same request twice keeps the one series it made."""
    if event.series_id is not None:
        series = db.session.get(EventSeries, event.series_id)
        if series is not None and series.rule == parse_rule(rule_text, series.timezone).value():
            return series
        raise InvalidTransition("in_series")
    if event.is_cancelled:
        raise InvalidTransition(ev.STATUS_CANCELLED)
    if not 1 <= horizon_weeks <= MAX_HORIZON_WEEKS:
        raise _invalid(_l("This repeat rule is not valid."))
    tz = event.timezone
    local_start = to_local(event.starts_at, tz).replace(second=0, microsecond=0)
    local_end = to_local(event.ends_at, tz).replace(second=0, microsecond=0)
    rule = check_rule(rule_text, local_start, tz)
    duration = max(int((local_end - local_start).total_seconds() // 60), 1)
    series = EventSeries(
        organization_id=event.organization_id,
        rule=rule.value(),
        timezone=tz,
        local_start=local_start,
        duration_minutes=duration,
        horizon_weeks=horizon_weeks,
        materialized_until=to_utc(local_start, tz),
        sequence=0,
        created_at=now,
        updated_at=now,
    )
    db.session.add(series)
    db.session.flush()
    event.series_id = series.id
    event.occurrence_start = to_utc(local_start, tz)
    event.detached = False
    db.session.commit()
    extend_series(series.id, now)
    return series


# --- reading ---------------------------------------------------------------------------------


def upcoming_dates(
    event: Event, now: datetime, limit: int = 8, include_self: bool = False
) -> list[Event]:
    """The series' other coming dates anyone may see: published, public (an unlisted date is
    only for those with its link), not over (one query); with `include_self`, this one too,
    the drafts and the unlisted ones (what its organizers see)."""
    if event.series_id is None:
        return []
    query = select(Event).where(Event.series_id == event.series_id, Event.ends_at > now)
    if include_self:
        query = query.where(Event.status != ev.STATUS_CANCELLED)
    else:
        query = query.where(
            Event.id != event.id,
            Event.status == ev.STATUS_PUBLISHED,
            Event.visibility == ev.VISIBILITY_PUBLIC,
        )
    return list(db.session.scalars(query.order_by(Event.starts_at, Event.id).limit(limit)))


@dataclass
class SeriesGroup:
    series: EventSeries
    events: list[Event]


def group_by_series(events: list[Event]) -> tuple[list[Event], list[SeriesGroup]]:
    """The actions that stand alone, and the dates of each series in their order (one query
    for all the series)."""
    ids = {e.series_id for e in events if e.series_id is not None}
    if not ids:
        return list(events), []
    by_id = {
        s.id: s for s in db.session.scalars(select(EventSeries).where(EventSeries.id.in_(ids)))
    }
    singles: list[Event] = []
    groups: dict[int, SeriesGroup] = {}
    for event in events:
        series = by_id.get(event.series_id) if event.series_id is not None else None
        if series is None:
            singles.append(event)
        else:
            groups.setdefault(series.id, SeriesGroup(series, [])).events.append(event)
    return singles, list(groups.values())


# --- publishing and editing ------------------------------------------------------------------


def publish(event: Event, now: datetime) -> Event:
    """Publish a draft; for a date of a series, the later drafts of the series too (not the
    ones edited alone), so the dates it makes from now on are published as well."""
    event_service.publish_event(event, now)
    if event.series_id is None:
        return event
    later = db.session.scalars(
        select(Event).where(
            Event.series_id == event.series_id,
            Event.status == ev.STATUS_DRAFT,
            Event.detached.is_(False),
            Event.occurrence_start > event.occurrence_start,
            Event.ends_at > now,
        )
    )
    for occurrence in later:
        occurrence.status = ev.STATUS_PUBLISHED
        occurrence.published_at = now
        occurrence.sequence += 1
        occurrence.updated_at = now
    db.session.commit()
    extend_series(event.series_id, now)
    return event


@dataclass
class SeriesEdit:
    """What an edit of "this and all following" did."""

    changes: event_service.EventChanges
    updated: int = 0  # later dates changed
    notified: int = 0  # volunteers emailed about a new time or place
    cancelled: int = 0  # later dates the new rule no longer has
    added: int = 0  # dates the new rule has that the old one did not (up to the last moved)
    skipped: list[Event] = field(default_factory=list)  # could not take the new capacity
    new_series: EventSeries | None = None

    @property
    def any(self) -> bool:
        return self.changes.any or bool(
            self.updated or self.cancelled or self.added or self.new_series
        )


def _same_rule(text: str | None, series: EventSeries) -> bool:
    return text is None or parse_rule(text, series.timezone).value() == series.rule


def update_this(event: Event, data: event_service.EventData, now: datetime, rule_text: str | None):
    """Edit one date alone: it keeps its slot, and later series-wide edits leave it be."""
    series = event.series
    if series is not None and not _same_rule(rule_text, series):
        raise _invalid(_l("To change how it repeats, apply the change to all following dates."))
    changes = event_service.update_event(event, data, now)
    if changes.any and event.series_id is not None and not event.detached:
        event.detached = True
        db.session.commit()
    return changes


def _later(event: Event) -> list[Event]:
    """The series' dates after this one that were not edited alone nor cancelled."""
    return list(
        db.session.scalars(
            select(Event)
            .where(
                Event.series_id == event.series_id,
                Event.id != event.id,
                Event.occurrence_start > event.occurrence_start,
                Event.detached.is_(False),
                Event.status != ev.STATUS_CANCELLED,
            )
            .order_by(Event.occurrence_start)
        )
    )


def _check_capacity(events: list[Event], capacity: int | None) -> None:
    """Refuse, before anything is written, a capacity below what a date already confirmed."""
    if capacity is None or not events:
        return
    counts = signup_service.counts_by_event([e.id for e in events])
    fullest = max(counts[e.id].get(st.CONFIRMED, 0) for e in events)
    if capacity < fullest:
        raise InvalidInput(
            {
                "capacity": lazy_ngettext(
                    "One of the dates already has %(num)d confirmed volunteer; the capacity "
                    "can't be lower.",
                    "One of the dates already has %(num)d confirmed volunteers; the capacity "
                    "can't be lower.",
                    fullest,
                )
            }
        )


def _without_cohosts(data: event_service.EventData, start: datetime, end: datetime):
    """The edit as it applies to another date: that date's own times; co-host requests are
    asked once, on the date edited."""
    return replace(data, starts_at=start, ends_at=end, cohost_slugs=None)


def update_following(
    event: Event, data: event_service.EventData, now: datetime, rule_text: str | None
) -> SeriesEdit:
    """Edit this date and every later one not edited alone.

    Same time, length and rule: the edit is copied onto each later date (their volunteers are
    told of a new place). Otherwise the series ends before this date and a new one starts
    here with the new time and rule (see the module's docstring).
    """
    series = event.series
    if series is None:
        raise NotFound(event.id)
    if series.ended_at is not None:
        raise InvalidTransition("ended")
    if event.is_cancelled:
        raise InvalidTransition(ev.STATUS_CANCELLED)
    tz = series.timezone
    new_local = to_local(data.starts_at, tz).replace(second=0, microsecond=0)
    wall_duration = int(
        (to_local(data.ends_at, tz) - to_local(data.starts_at, tz)).total_seconds() // 60
    )
    slot_local = to_local(event.occurrence_start, tz)
    rule_text = rule_text if rule_text is not None else series.rule
    new_rule = check_rule(rule_text, new_local, tz)
    same_timing = (
        new_local == slot_local
        and wall_duration == series.duration_minutes
        and new_rule.value() == series.rule
    )
    later = _later(event)
    _check_capacity([event, *later], data.capacity)
    if same_timing:
        return _copy_onto_later(event, later, data, now)
    return _split(event, series, later, data, new_rule, new_local, wall_duration, now)


def _copy_onto_later(
    event: Event, later: list[Event], data: event_service.EventData, now: datetime
) -> SeriesEdit:
    result = SeriesEdit(changes=event_service.update_event(event, data, now))
    result.notified = result.changes.notified
    if event.detached:
        event.detached = False
        db.session.commit()
    for occurrence in later:
        try:
            changes = event_service.update_event(
                occurrence, _without_cohosts(data, occurrence.starts_at, occurrence.ends_at), now
            )
        except InvalidInput:  # a sign-up got in since the check: this date keeps its places
            result.skipped.append(occurrence)
            continue
        except InvalidTransition:  # cancelled meanwhile
            continue
        result.updated += changes.any
        result.notified += changes.notified
    if result.changes.any or result.updated:
        with transaction():
            series = _lock_series(event.series_id)
            series.sequence += 1
            series.updated_at = now
    return result


def _split(
    event: Event,
    series: EventSeries,
    later: list[Event],
    data: event_service.EventData,
    rule: Rule,
    new_local: datetime,
    duration: int,
    now: datetime,
) -> SeriesEdit:
    tz = series.timezone
    old_rule = parse_rule(series.rule, tz)
    if old_rule.count is not None and rule.value() == old_rule.value():
        # "10 times" counts from the first date: the new series has what is left.
        done = len(slots(series, None, event.occurrence_start - timedelta(seconds=1)))
        left = max(old_rule.count - done, 1)  # 1: only this date is left, which check refuses
        rule = check_rule(replace(rule, count=left).value(), new_local, tz)
    # The date itself first: a refused edit writes nothing.
    result = SeriesEdit(changes=event_service.update_event(event, data, now))
    result.notified = result.changes.notified
    old_slot = event.occurrence_start
    moves: list[tuple[Event, datetime]] = []
    dropped: list[Event] = []
    with transaction():
        old = _lock_series(series.id)
        new = EventSeries(
            organization_id=old.organization_id,
            rule=rule.value(),
            timezone=tz,
            local_start=new_local,
            duration_minutes=duration,
            horizon_weeks=old.horizon_weeks,
            sequence=0,
            created_at=now,
            updated_at=now,
        )
        db.session.add(new)
        db.session.flush()
        old.rule = old_rule.ending(old_slot - timedelta(seconds=1)).value()
        old.ended_at = now
        old.sequence += 1
        old.updated_at = now
        db.session.execute(
            update(StandingSignup)
            .where(StandingSignup.series_id == old.id)
            .values(series_id=new.id)
            .execution_options(synchronize_session=False)
        )
        first = to_utc(new_local, tz)
        horizon = max([now + timedelta(weeks=new.horizon_weeks), *(e.starts_at for e in later)])
        by_day = {to_local(s, tz).date(): s for s in slots(new, None, horizon + timedelta(days=1))}
        taken = {first}
        event.series_id = new.id
        event.occurrence_start = first
        event.detached = False
        for occurrence in later:
            slot = by_day.get(to_local(occurrence.occurrence_start, tz).date())
            if slot is None or slot in taken:
                dropped.append(occurrence)
                continue
            taken.add(slot)
            occurrence.series_id = new.id
            occurrence.occurrence_start = slot
            moves.append((occurrence, slot))
        new.materialized_until = max(taken)
        # Dates the new rule has and the old one did not, before the last date moved: extending
        # starts after `materialized_until`, so they are made here, from the edited date.
        for slot in sorted(by_day.values()):
            if first < slot < new.materialized_until and slot not in taken and slot > now:
                db.session.add(_occurrence(event, new, slot, now))
                result.added += 1
        db.session.flush()
        result.new_series = new
    for occurrence, slot in moves:
        try:
            changes = event_service.update_event(
                occurrence, _without_cohosts(data, slot, _end_for(new, slot)), now
            )
        except (InvalidInput, InvalidTransition):
            result.skipped.append(occurrence)
            continue
        result.updated += 1
        result.notified += changes.notified
    for occurrence in dropped:
        result.notified += _call_off(occurrence, now)
        result.cancelled += 1
    extend_series(new.id, now)
    if db.session.scalar(select(func.count()).where(Event.series_id == series.id)) == 0:
        db.session.delete(db.session.get(EventSeries, series.id))
        db.session.commit()
        result.new_series = db.session.get(EventSeries, new.id)
    return result


@dataclass
class SavedEdit:
    """What saving the action form did (save_edit): one date or an action alone (`changes`),
    this and all following dates (`series_edit`), or an action alone that now repeats
    (`started`, with `changes`)."""

    changes: event_service.EventChanges | None = None
    series_edit: SeriesEdit | None = None
    started: EventSeries | None = None

    @property
    def any(self) -> bool:
        if self.series_edit is not None:
            return self.series_edit.any
        return bool(self.started) or (self.changes is not None and self.changes.any)


def save_edit(
    event: Event,
    data: event_service.EventData,
    repeat: Repeat,
    scope: str,
    now: datetime,
) -> SavedEdit:
    """Save the action form for `event`: a date of a series alone or with all following dates
    (`scope`), or an action alone, which may start to repeat. The rule asked for is read by
    `rule_for_edit`. InvalidInput (nothing written) for a refused edit; InvalidTransition
    ("ended") for "all following" in a series that has ended meanwhile."""
    series = db.session.get(EventSeries, event.series_id) if event.series_id else None
    if series is not None and scope == SCOPE_FOLLOWING:
        rule = rule_for_edit(series, repeat, data.starts_at, series.timezone, following=True)
        return SavedEdit(series_edit=update_following(event, data, now, rule))
    if event.series_id is not None:
        rule = rule_for_edit(series, repeat, data.starts_at, event.timezone)
        return SavedEdit(changes=update_this(event, data, now, rule))
    tz = event.timezone
    rule = rule_for_edit(None, repeat, data.starts_at, tz)
    if rule is not None:  # a rule refused writes nothing
        check_rule(rule, to_local(data.starts_at, tz), tz)
    changes = event_service.update_event(event, data, now)
    if rule is None:
        return SavedEdit(changes=changes)
    return SavedEdit(changes=changes, started=create_series(event, rule, now))


def _call_off(
    occurrence: Event, now: datetime, message: str = "", actor: User | None = None
) -> int:
    """A date that won't happen: cancelled with its volunteers emailed, or a draft deleted."""
    try:
        if occurrence.status == ev.STATUS_DRAFT:
            event_service.delete_draft(occurrence)
            return 0
        return event_service.cancel_event(occurrence, now, message, actor=actor)
    except InvalidTransition:  # over or cancelled already
        db.session.rollback()
        return 0


@dataclass
class Ended:
    cancelled: int = 0
    emailed: int = 0


def end_series(
    series_id: int, after: date, now: datetime, message: str = "", actor: User | None = None
) -> Ended:
    """End the series: no more dates are made, and the dates after `after` (a day on the
    series' clock) are called off, their volunteers emailed (each in the hosts' audit log as
    cancelled by `actor`). Running it again finishes what a first run left and changes nothing
    else. InvalidInput ("last_day") for a day outside FIRST_YEAR–LAST_YEAR."""
    check_year(after, "last_day")
    with transaction():
        series = _lock_series(series_id)
        tz = series.timezone
        if series.ended_at is None:
            rule = parse_rule(series.rule, tz)
            series.rule = rule.ending(end_of_day(after, tz)).value()
            series.ended_at = now
            series.sequence += 1
            series.updated_at = now
    cutoff = end_of_day(after, tz)
    targets = list(
        db.session.scalars(
            select(Event)
            .where(
                Event.series_id == series_id,
                Event.starts_at > cutoff,
                Event.starts_at > now,
                Event.status != ev.STATUS_CANCELLED,
            )
            .order_by(Event.starts_at)
        )
    )
    result = Ended()
    for occurrence in targets:
        result.emailed += _call_off(occurrence, now, message, actor)
        result.cancelled += 1
    return result


# --- standing sign-ups -----------------------------------------------------------------------


def standing_token(standing: StandingSignup) -> str:
    return make_token(STANDING_PURPOSE, standing.id)


def standing_from_token(token: str) -> StandingSignup | None:
    """The standing sign-up a stop link points to; None for a forged link or a deleted one."""
    try:
        standing_id = read_token(STANDING_PURPOSE, token)
    except InvalidToken:
        return None
    if not isinstance(standing_id, int):
        return None
    return db.session.get(StandingSignup, standing_id)


def join_standing(
    series_id: int, now: datetime, standing: StandingSignup | None = None
) -> list[Signup]:
    """Sign each standing volunteer up to every coming published date of the series they hold
    no sign-up for yet (a date they cancelled, or were declined for, is left alone)."""
    query = select(StandingSignup).where(
        StandingSignup.series_id == series_id, StandingSignup.cancelled_at.is_(None)
    )
    if standing is not None:
        query = query.where(StandingSignup.id == standing.id)
    holders = list(db.session.scalars(query.order_by(StandingSignup.id)))
    if not holders:
        return []
    dates = list(
        db.session.scalars(
            select(Event)
            .where(
                Event.series_id == series_id,
                Event.status == ev.STATUS_PUBLISHED,
                Event.starts_at > now,
            )
            .order_by(Event.starts_at)
        )
    )
    if not dates:
        return []
    held = set(
        db.session.execute(
            select(Signup.event_id, Signup.email).where(
                Signup.event_id.in_([e.id for e in dates]),
                Signup.email.in_([h.email for h in holders]),
            )
        ).all()
    )
    joined: list[Signup] = []
    for occurrence in dates:
        for holder in holders:
            if (occurrence.id, holder.email) in held:
                continue
            try:
                signup = signup_service.sign_up(
                    occurrence.id,
                    name=holder.name,
                    email=holder.email,
                    phone=holder.phone,
                    locale=holder.locale,
                    user=holder.user,
                    now=now,
                    standing_signup_id=holder.id,
                )
            except (AlreadySignedUp, DomainError):
                continue  # signed up meanwhile, full without a waitlist, closed
            joined.append(signup)
    return joined


def start_standing(
    series_id: int,
    *,
    name: str,
    email: str,
    now: datetime,
    phone: str = "",
    locale: str = "en",
    user: User | None = None,
) -> tuple[StandingSignup, list[Signup]]:
    """Sign up for every coming date of a series, and each new one as it is made.

    The same address asking again keeps its one standing sign-up (a stopped one starts again).
    Returns it and the sign-ups it made now. InvalidTransition("ended") for an ended series.
    """
    email = normalize_email(email)
    if user is not None and (not user.email_confirmed or user.email.strip().lower() != email):
        user = None
    series = db.session.get(EventSeries, series_id)
    if series is None:
        raise NotFound(series_id)
    if series.ended_at is not None:
        raise InvalidTransition("ended")
    standing = _standing_by_email(series_id, email)
    if standing is None:
        standing = StandingSignup(series_id=series_id, email=email, created_at=now)
    if standing.cancelled_at is not None or standing.id is None:
        standing.name = name.strip()
        standing.phone = (phone or "").strip()
        standing.locale = locale
        standing.user_id = user.id if user is not None else None
        standing.cancelled_at = None
        db.session.add(standing)
        try:
            db.session.commit()
        except IntegrityError:  # the same form sent twice at once: the other one made it
            db.session.rollback()
            standing = _standing_by_email(series_id, email)
            if standing is None:
                raise
    return standing, join_standing(series_id, now, standing)


def _standing_by_email(series_id: int, email: str) -> StandingSignup | None:
    return db.session.scalar(
        select(StandingSignup).where(
            StandingSignup.series_id == series_id, func.lower(StandingSignup.email) == email
        )
    )


# --- "every week" ticked on a date's sign-up form ----------------------------------------------


def offers_standing(event: Event) -> bool:
    """Whether a date's sign-up form offers "every week": a date of a running series that is
    not cancelled."""
    if event.series_id is None or event.is_cancelled:
        return False
    series = event.series
    return series is not None and series.ended_at is None


def ask_standing(signup: Signup, user: User | None, now: datetime) -> str | None:
    """ "Every week" ticked with the sign-up `signup` (just made, or the address's earlier one).

    A logged-in volunteer signing up with their own confirmed address is signed up for every
    coming date at once, and emailed the list with the link that stops it: STANDING_STARTED.
    For anyone else, one form sent by anybody must not sign an address up for months of
    dates: that address gets an email with a button to confirm (a signed link to a page that
    acts only on its form's POST), and nothing else happens until then: STANDING_EMAILED.
    None when the date offers no "every week" (anymore).
    """
    event = signup.event
    if signup.shift_id is not None or not offers_standing(event):
        return None
    if (
        user is not None
        and user.email_confirmed
        and user.email.strip().lower() == signup.email.lower()
    ):
        try:
            standing, _joined = start_standing(
                event.series_id,
                name=signup.name,
                email=signup.email,
                phone=signup.phone,
                locale=signup.locale,
                user=user,
                now=now,
            )
        except (InvalidTransition, NotFound, ValueError):
            return None
        notify_standing(standing, now)
        return STANDING_STARTED
    _email_standing_request(signup)
    return STANDING_EMAILED


def standing_request_token(signup: Signup) -> str:
    """The confirmation link's token: the date and the address, signed. The name and phone
    come from that address's sign-up to the date when the link is used (nothing is stored
    before, and no name or phone travels in a URL)."""
    return make_token(STANDING_START_PURPOSE, [signup.event_id, signup.email])


def _email_standing_request(signup: Signup) -> bool:
    from ..email import send_email
    from ..web import absolute_url, url_context

    event = signup.event
    with url_context():
        return send_email(
            signup.email,
            "standing_request",
            signup.locale,
            event=event,
            series=event.series,
            confirm_url=absolute_url(
                "series.confirm_standing", token=standing_request_token(signup)
            ),
            event_url=absolute_url("events.detail", event_id=event.id),
        )


def standing_request(token: str) -> Signup:
    """The sign-up a confirmation link was sent for: its date, name, address and phone.

    InvalidToken for a forged link or an expired one (`expired`, after
    STANDING_START_MAX_AGE); NotFound when the date or the sign-up is gone; InvalidTransition
    ("ended") when the date's series no longer runs.
    """
    payload = read_token(STANDING_START_PURPOSE, token, max_age=STANDING_START_MAX_AGE)
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or type(payload[0]) is not int
        or not isinstance(payload[1], str)
    ):
        raise InvalidToken()
    event_id, email = payload
    signup = db.session.scalar(
        select(Signup)
        .where(Signup.event_id == event_id, Signup.email == email, Signup.shift_id.is_(None))
        .order_by(Signup.id)
        .limit(1)
    )
    if signup is None:
        raise NotFound(event_id)
    series = signup.event.series
    if series is None or series.ended_at is not None:
        raise InvalidTransition("ended")
    return signup


def confirm_standing(
    token: str, now: datetime, user: User | None = None
) -> tuple[StandingSignup, list[Signup]]:
    """The guest confirmed from their inbox: sign them up for every coming date (and each new
    one), and email them the list with the link that stops it. Confirming again keeps the
    one standing sign-up. Raises as `standing_request`; nothing is written then."""
    signup = standing_request(token)
    standing, joined = start_standing(
        signup.event.series_id,
        name=signup.name,
        email=signup.email,
        phone=signup.phone,
        locale=signup.locale,
        user=user,
        now=now,
    )
    notify_standing(standing, now)
    return standing, joined


def stop_standing(standing_id: int, now: datetime) -> list[Signup]:
    """Stop a standing sign-up: no new dates, and its coming sign-ups are cancelled (their
    places go to the waitlist, whose promoted volunteers are emailed). Returns the cancelled
    sign-ups. InvalidTransition("cancelled") when it was already stopped."""
    stopped = db.session.execute(
        update(StandingSignup)
        .where(StandingSignup.id == standing_id, StandingSignup.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not stopped:
        if db.session.get(StandingSignup, standing_id) is None:
            raise NotFound(standing_id)
        raise InvalidTransition("cancelled")
    from . import notifications

    coming = list(
        db.session.scalars(
            select(Signup)
            .join(Event, Event.id == Signup.event_id)
            .where(
                Signup.standing_signup_id == standing_id,
                Signup.status.in_(st.ACTIVE_STATUSES),
                Event.starts_at > now,
            )
            .order_by(Event.starts_at)
        )
    )
    cancelled = []
    for signup in coming:
        try:
            change = signup_service.cancel(signup.id, now)
        except (InvalidTransition, NotFound):
            continue
        cancelled.append(change.signup)
        notifications.notify_promoted(change.promoted, now)
    return cancelled


def standing_dates(
    standing: StandingSignup, now: datetime, made_by_it: bool = False
) -> list[Signup]:
    """The volunteer's coming sign-ups to the series, soonest first, with their actions; with
    `made_by_it`, only those the standing sign-up made (the ones stopping it cancels)."""
    query = (
        select(Signup)
        .join(Event, Event.id == Signup.event_id)
        .where(
            Event.series_id == standing.series_id,
            Signup.email == standing.email,
            Signup.status.in_(st.ACTIVE_STATUSES),
            Event.starts_at > now,
        )
    )
    if made_by_it:
        query = query.where(Signup.standing_signup_id == standing.id)
    return list(
        db.session.scalars(query.order_by(Event.starts_at).options(selectinload(Signup.event)))
    )


def notify_standing(standing: StandingSignup, now: datetime) -> bool:
    """The email that confirms a standing sign-up: the dates it holds so far, and the link
    that stops it in one click. Never raises (see organizer.email)."""
    from ..email import send_email
    from ..web import absolute_url, url_context

    dates = standing_dates(standing, now)
    # With no date to join yet (all full), the email still carries the link that stops it.
    event = dates[0].event if dates else _template(standing.series_id)
    if event is None:
        return False
    with url_context():
        return send_email(
            standing.email,
            "standing_confirmed",
            standing.locale,
            standing=standing,
            series=standing.series,
            event=event,
            dates=dates,
            stop_url=absolute_url("series.stop_standing", token=standing_token(standing)),
            event_url=absolute_url("events.detail", event_id=event.id),
        )
