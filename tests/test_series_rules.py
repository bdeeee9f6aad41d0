"""Recurrence rules: parsing, validation, what the form builds, and how a series reads."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale

from organizer.models import EventSeries
from organizer.series.display import describe, standing_label
from organizer.services import series as service
from organizer.services.errors import InvalidInput

TZ = "Asia/Jerusalem"
FRIDAY = datetime(2026, 12, 4, 13, 0)  # naive, on Jerusalem's clock


@pytest.fixture(autouse=True)
def english_request(app):
    """Messages are lazy strings, rendered in the language of a request."""
    with app.test_request_context("/?lang=en"):
        yield


def error_of(excinfo) -> str:
    return str(excinfo.value.errors["repeat"])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "FREQ=FOO",
        "BYDAY=FR",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;INTERVAL=0",
        "FREQ=WEEKLY;INTERVAL=-1",
        "FREQ=WEEKLY;INTERVAL=abc",
        "FREQ=WEEKLY;FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=+1FR",  # a position only means something monthly or yearly
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=WEEKLY;COUNT=0",
        "FREQ=WEEKLY;UNTIL=2027-06-30",
        "FREQ=WEEKLY;UNTIL=20271345T000000Z",
        "FREQ=WEEKLY;BYDAY=FR\nX",
        "FREQ=WEEKLY;" + "BYDAY=FR;" * 60,
    ],
)
def test_malformed_rules_are_refused(app, text):
    with pytest.raises(InvalidInput) as excinfo:
        service.parse_rule(text, TZ)
    assert "repeat" in excinfo.value.errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FREQ=HOURLY", "daily, weekly, monthly or yearly"),
        ("FREQ=MINUTELY;INTERVAL=1", "daily, weekly, monthly or yearly"),
        ("FREQ=WEEKLY;BYHOUR=9", "something we don't support"),
        ("FREQ=WEEKLY;DTSTART=20260101T000000", "something we don't support"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270101T000000Z", "not both"),
    ],
)
def test_refusals_say_why(app, text, message):
    with pytest.raises(InvalidInput) as excinfo:
        service.parse_rule(text, TZ)
    assert message in error_of(excinfo)


def test_a_rule_reads_back_the_same_whatever_its_spelling(app):
    rule = service.parse_rule("rrule:byday=fr;freq=weekly;interval=1", TZ)
    assert rule.value() == "FREQ=WEEKLY;BYDAY=FR"
    monthly = service.parse_rule("FREQ=MONTHLY;BYDAY=-1FR;COUNT=5", TZ)
    assert monthly.byday == ((-1, 4),)
    assert monthly.value() == "FREQ=MONTHLY;BYDAY=-1FR;COUNT=5"


def test_until_is_kept_in_utc(app):
    # A bare date is the whole of that day on the series' clock: 23:59:59 in Jerusalem.
    rule = service.parse_rule("FREQ=WEEKLY;UNTIL=20270630", TZ)
    assert rule.until == datetime(2027, 6, 30, 20, 59, 59, tzinfo=UTC)
    assert rule.value().endswith("UNTIL=20270630T205959Z")
    floating = service.parse_rule("FREQ=WEEKLY;UNTIL=20270101T120000", TZ)
    assert floating.until == datetime(2027, 1, 1, 10, 0, tzinfo=UTC)


def test_check_accepts_a_good_rule(app):
    rule = service.check_rule("FREQ=WEEKLY;BYDAY=FR;UNTIL=20270630T205959Z", FRIDAY, TZ)
    assert rule.freq == "WEEKLY"


def test_the_first_date_must_follow_the_rule(app):
    with pytest.raises(InvalidInput) as excinfo:
        service.check_rule("FREQ=WEEKLY;BYDAY=TH", FRIDAY, TZ)
    assert "The first date must be one the action repeats on" in error_of(excinfo)


def test_the_end_must_come_after_the_start(app):
    with pytest.raises(InvalidInput) as excinfo:
        service.check_rule("FREQ=WEEKLY;UNTIL=20261101T000000Z", FRIDAY, TZ)
    assert "after the first one" in error_of(excinfo)
    with pytest.raises(InvalidInput) as excinfo:
        service.check_rule("FREQ=WEEKLY;UNTIL=20261204", FRIDAY, TZ)
    assert "only one date" in error_of(excinfo)


def test_the_number_of_dates_is_capped(app):
    with pytest.raises(InvalidInput) as excinfo:
        service.check_rule(f"FREQ=WEEKLY;COUNT={service.MAX_OCCURRENCES + 1}", FRIDAY, TZ)
    assert f"at most {service.MAX_OCCURRENCES} dates" in error_of(excinfo)
    with pytest.raises(InvalidInput):
        service.check_rule("FREQ=DAILY;UNTIL=20290101", FRIDAY, TZ)
    assert service.check_rule(f"FREQ=WEEKLY;COUNT={service.MAX_OCCURRENCES}", FRIDAY, TZ)
    # Without an end, the horizon bounds what is made at once.
    assert service.check_rule("FREQ=DAILY", FRIDAY, TZ)


def test_an_unknown_time_zone_is_refused(app):
    with pytest.raises(InvalidInput):
        service.check_rule("FREQ=WEEKLY", FRIDAY, "Mars/Olympus")


@pytest.mark.parametrize(
    ("repeat", "expected"),
    [
        (service.Repeat("none"), None),
        (service.Repeat("weekly"), "FREQ=WEEKLY;BYDAY=FR"),
        (service.Repeat("weekly", [0, 4], 2), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR"),
        (service.Repeat("monthly"), "FREQ=MONTHLY;BYDAY=+1FR"),
        (service.Repeat("monthly_date"), "FREQ=MONTHLY;BYMONTHDAY=4"),
        (service.Repeat("quarterly"), "FREQ=MONTHLY;INTERVAL=3;BYDAY=+1FR"),
        (
            service.Repeat("weekly", [], 1, date(2027, 6, 30)),
            "FREQ=WEEKLY;BYDAY=FR;UNTIL=20270630T205959Z",
        ),
    ],
)
def test_what_the_form_builds(app, repeat, expected):
    assert service.build_rule(repeat, FRIDAY, TZ) == expected
    if expected:
        service.check_rule(expected, FRIDAY, TZ)


def test_monthly_on_a_fifth_weekday_is_the_last_one(app):
    fifth = datetime(2027, 1, 29, 13, 0)  # the fifth Friday of January 2027
    rule = service.build_rule(service.Repeat("monthly"), fifth, TZ)
    assert rule == "FREQ=MONTHLY;BYDAY=-1FR"
    with pytest.raises(InvalidInput) as excinfo:
        service.build_rule(service.Repeat("monthly_date"), fifth, TZ)
    assert "Not every month has a 29th" in error_of(excinfo)


def series_of(rule: str, start: datetime = FRIDAY) -> EventSeries:
    return EventSeries(rule=rule, timezone=TZ, local_start=start, duration_minutes=120)


@pytest.mark.parametrize(
    ("rule", "english"),
    [
        ("FREQ=WEEKLY;BYDAY=FR;UNTIL=20270630T205959Z", "Repeats every Friday until 30 June 2027"),
        ("FREQ=WEEKLY;BYDAY=FR;UNTIL=20261230T215959Z", "Repeats every Friday until 30 December"),
        ("FREQ=WEEKLY;BYDAY=FR", "Repeats every Friday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR", "Repeats every 2 weeks on Tuesday and Friday"),
        ("FREQ=MONTHLY;BYDAY=+1FR", "Repeats on the first Friday of every month"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "Repeats on the last Friday of every month"),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYDAY=+1FR",
            "Repeats every three months, on the first Friday of the month",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=4", "Repeats every month on day 4"),
        ("FREQ=DAILY;COUNT=5", "Repeats every day, 5 times"),
        ("FREQ=YEARLY", "Repeats every year"),
        ("FREQ=YEARLY;BYMONTH=6,12", "Repeats regularly"),
    ],
)
def test_how_a_series_reads(app, rule, english):
    assert describe(series_of(rule)) == english


def test_a_series_reads_in_the_readers_language(app):
    series = series_of("FREQ=WEEKLY;BYDAY=FR;UNTIL=20270630T205959Z")
    with force_locale("he"):
        hebrew = describe(series)
    with force_locale("ar"):
        arabic = describe(series)
    assert "שישי" in hebrew and "ביוני" in hebrew
    assert "الجمعة" in arabic and "يونيو" in arabic


def test_the_standing_checkbox_is_worded_by_frequency(app):
    assert standing_label(series_of("FREQ=WEEKLY;BYDAY=FR")).startswith("Every week:")
    assert standing_label(series_of("FREQ=MONTHLY;BYDAY=+1FR")).startswith("Every month:")
    quarterly = series_of("FREQ=MONTHLY;INTERVAL=3;BYDAY=+1FR")
    assert standing_label(quarterly).startswith("Every time:")
