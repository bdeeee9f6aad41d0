"""When a digest is due: the subscriber's weekday and hour on their own clock, across DST."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from organizer.services.digest_schedule import due_at, is_due, iso_week


@dataclass
class Sub:
    timezone: str
    weekday: int = 1  # Tuesday
    hour: int = 9
    status: str = "active"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_iso_week_uses_the_iso_year():
    assert iso_week(date(2026, 1, 1)) == "2026-W01"
    assert iso_week(date(2027, 1, 1)) == "2026-W53"
    assert iso_week(date(2026, 11, 24)) == "2026-W48"
    assert iso_week(datetime(2026, 12, 28, 23, 59)) == "2026-W53"


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # Tuesday 09:00 stays 09:00 on the local clock, before and after each change.
        ("Europe/London", utc(2026, 3, 25), utc(2026, 3, 24, 9)),  # GMT
        ("Europe/London", utc(2026, 4, 1), utc(2026, 3, 31, 8)),  # BST from 29 March
        ("Europe/London", utc(2026, 10, 21), utc(2026, 10, 20, 8)),
        ("Europe/London", utc(2026, 10, 28), utc(2026, 10, 27, 9)),  # GMT from 25 October
        ("America/New_York", utc(2026, 3, 4), utc(2026, 3, 3, 14)),  # EST
        ("America/New_York", utc(2026, 3, 11), utc(2026, 3, 10, 13)),  # EDT from 8 March
        ("America/New_York", utc(2026, 10, 28), utc(2026, 10, 27, 13)),
        ("America/New_York", utc(2026, 11, 4), utc(2026, 11, 3, 14)),  # EST from 1 November
        ("Asia/Jerusalem", utc(2026, 3, 25), utc(2026, 3, 24, 7)),  # IST
        ("Asia/Jerusalem", utc(2026, 4, 1), utc(2026, 3, 31, 6)),  # IDT from 27 March
        ("Asia/Jerusalem", utc(2026, 10, 21), utc(2026, 10, 20, 6)),
        ("Asia/Jerusalem", utc(2026, 10, 28), utc(2026, 10, 27, 7)),  # IST from 25 October
    ],
)
def test_the_local_hour_holds_across_daylight_saving(zone, now, expected):
    assert due_at(Sub(zone), now) == expected


@pytest.mark.parametrize(
    ("zone", "weekday", "hour", "now", "expected"),
    [
        # The hour does not exist (clocks jump forward): the first moment after the gap.
        ("America/New_York", 6, 2, utc(2026, 3, 8, 12), utc(2026, 3, 8, 7)),  # 03:00 EDT
        ("Asia/Jerusalem", 4, 2, utc(2026, 3, 27, 12), utc(2026, 3, 27, 0)),  # 03:00 IDT
        ("Europe/London", 6, 1, utc(2026, 3, 29, 12), utc(2026, 3, 29, 1)),  # 02:00 BST
        # The hour happens twice (clocks go back): the first time.
        ("America/New_York", 6, 1, utc(2026, 11, 1, 12), utc(2026, 11, 1, 5)),  # 01:00 EDT
        ("Asia/Jerusalem", 6, 1, utc(2026, 10, 25, 12), utc(2026, 10, 24, 22)),  # 01:00 IDT
        ("Europe/London", 6, 1, utc(2026, 10, 25, 12), utc(2026, 10, 25, 0)),  # 01:00 BST
    ],
)
def test_gaps_move_forward_and_repeated_hours_take_the_first(zone, weekday, hour, now, expected):
    assert due_at(Sub(zone, weekday, hour), now) == expected


def test_due_once_the_hour_has_come_this_local_week():
    jerusalem, london, new_york = (
        Sub("Asia/Jerusalem"),
        Sub("Europe/London"),
        Sub("America/New_York"),
    )
    tuesday = utc(2026, 11, 10)  # winter: Jerusalem UTC+2, London UTC+0, New York UTC-5
    assert not is_due(jerusalem, tuesday + timedelta(hours=6, minutes=59))
    assert is_due(jerusalem, tuesday + timedelta(hours=7))
    assert not is_due(london, tuesday + timedelta(hours=8, minutes=59))
    assert is_due(london, tuesday + timedelta(hours=9))
    assert not is_due(new_york, tuesday + timedelta(hours=13, minutes=59))
    assert is_due(new_york, tuesday + timedelta(hours=14))
    # Still due later in the week (a run that missed the hour catches up)...
    assert is_due(jerusalem, utc(2026, 11, 15, 21, 59))
    # ...until their own week ends: Monday 00:00 in Jerusalem is Sunday 22:00 UTC.
    assert not is_due(jerusalem, utc(2026, 11, 15, 22, 0))
    # New York is still in the old week when Jerusalem has started the new one.
    assert is_due(new_york, utc(2026, 11, 16, 4, 59))
    assert not is_due(new_york, utc(2026, 11, 16, 5, 0))


def test_only_active_subscriptions_are_due():
    now = utc(2026, 11, 12)
    for status in ("pending", "unsubscribed", "suspended"):
        assert not is_due(Sub("Asia/Jerusalem", status=status), now)
    assert is_due(Sub("Asia/Jerusalem"), now)
