"""How a series reads: "Repeats every Friday until 30 June", in the reader's language."""

from __future__ import annotations

from datetime import date

from babel import Locale
from babel.dates import format_date, get_day_names
from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..i18n import current_locale
from ..models import EventSeries
from ..services import series as service
from ..services.errors import InvalidInput

# "the first Friday": a weekday's place in its month.
POSITIONS = {
    1: _l("the first %(weekday)s"),
    2: _l("the second %(weekday)s"),
    3: _l("the third %(weekday)s"),
    4: _l("the fourth %(weekday)s"),
    -1: _l("the last %(weekday)s"),
}


def weekday_names(locale: str | None = None) -> list[str]:
    """Monday ... Sunday in the reader's language."""
    names = get_day_names("wide", locale=locale or current_locale())
    return [names[i] for i in range(7)]


def day_month(day: date, with_year: bool, locale: str | None = None) -> str:
    """'30 June' (or '30 June 2027'), in the order the reader's language writes it."""
    locale = locale or current_locale()
    if locale == "en":
        pattern = "d MMMM y" if with_year else "d MMMM"
    else:
        loc = Locale.parse(locale)
        pattern = loc.date_formats["long"].pattern if with_year else None
        pattern = pattern or loc.datetime_skeletons["MMMMd"].pattern
    return format_date(day, pattern, locale=locale)


def _weekly(rule: service.Rule, series: EventSeries, locale: str) -> str:
    names = weekday_names(locale)
    days = [d for _n, d in rule.byday] or [series.local_start.weekday()]
    listed = format_list([names[d] for d in days], locale=locale)
    if rule.interval == 1:
        return _("Repeats every %(days)s", days=listed)
    return ngettext(
        "Repeats every %(num)d week on %(days)s",
        "Repeats every %(num)d weeks on %(days)s",
        rule.interval,
        days=listed,
    )


def _monthly(rule: service.Rule, series: EventSeries, locale: str) -> str | None:
    if rule.byday:
        if len(rule.byday) != 1 or rule.byday[0][0] not in POSITIONS:
            return None
        nth, day = rule.byday[0]
        when = str(POSITIONS[nth]) % {"weekday": weekday_names(locale)[day]}
        if rule.interval == 1:
            return _("Repeats on %(when)s of every month", when=when)
        if rule.interval == 3:
            return _("Repeats every three months, on %(when)s of the month", when=when)
        return ngettext(
            "Repeats every %(num)d month, on %(when)s of the month",
            "Repeats every %(num)d months, on %(when)s of the month",
            rule.interval,
            when=when,
        )
    if len(rule.bymonthday) > 1:
        return None
    day = rule.bymonthday[0] if rule.bymonthday else series.local_start.day
    if day < 0:
        return None
    if rule.interval == 1:
        return _("Repeats every month on day %(day)d", day=day)
    return ngettext(
        "Repeats every %(num)d month on day %(day)d",
        "Repeats every %(num)d months on day %(day)d",
        rule.interval,
        day=day,
    )


def _basic(rule: service.Rule, series: EventSeries, locale: str) -> str:
    text = None
    if rule.bymonth:
        text = None  # "every June and December": said plainly below
    elif rule.freq == "DAILY" and not rule.byday:
        text = (
            _("Repeats every day")
            if rule.interval == 1
            else ngettext("Repeats every %(num)d day", "Repeats every %(num)d days", rule.interval)
        )
    elif rule.freq == "WEEKLY":
        text = _weekly(rule, series, locale)
    elif rule.freq == "MONTHLY":
        text = _monthly(rule, series, locale)
    elif rule.freq == "YEARLY" and rule.interval == 1:
        text = _("Repeats every year")
    return text or _("Repeats regularly")


def describe(series: EventSeries, locale: str | None = None) -> str:
    """'Repeats every Friday until 30 June': the rule, and when it ends if it does."""
    locale = locale or current_locale()
    try:
        rule = service.parse_rule(series.rule, series.timezone)
    except InvalidInput:
        return _("Repeats regularly")
    text = _basic(rule, series, locale)
    if rule.until is not None:
        last = service.to_local(rule.until, series.timezone).date()
        with_year = last.year != series.local_start.year
        return _("%(repeats)s until %(date)s", repeats=text, date=day_month(last, with_year))
    if rule.count is not None:
        return ngettext("%(repeats)s, %(num)d time", "%(repeats)s, %(num)d times", rule.count,
                        repeats=text)  # fmt: skip
    return text


def standing_label(series: EventSeries) -> str:
    """The sign-up box's checkbox, worded by how often the series repeats."""
    try:
        rule = service.parse_rule(series.rule, series.timezone)
    except InvalidInput:
        rule = None
    if rule is not None and rule.interval == 1:
        if rule.freq == "WEEKLY":
            return _("Every week: sign me up for all coming dates")
        if rule.freq == "DAILY":
            return _("Every day: sign me up for all coming dates")
        if rule.freq == "MONTHLY":
            return _("Every month: sign me up for all coming dates")
    return _("Every time: sign me up for all coming dates")
