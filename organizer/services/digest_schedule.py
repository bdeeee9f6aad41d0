"""When a subscriber's weekly digest is due: their weekday and hour, on their own clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from ..models.digest import SUB_ACTIVE


class Scheduled(Protocol):
    timezone: str
    weekday: int
    hour: int


def iso_week(local_dt: datetime | date) -> str:
    """'2026-W48': the ISO week of a local date (the year is the ISO year, not the calendar's)."""
    year, week, _ = local_dt.isocalendar()
    return f"{year}-W{week:02d}"


def local_now(subscription: Scheduled, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(subscription.timezone))


def subscriber_week(subscription: Scheduled, now: datetime) -> str:
    """The subscriber's ISO week at `now`: the key of their delivery record."""
    return iso_week(local_now(subscription, now))


def local_instant(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """`hour`:00 on `day` in `zone` as a UTC instant.

    A wall time that happens twice (clocks go back) is its first occurrence; one that never
    happens (clocks go forward) moves to the first valid moment after the gap.
    """
    wall = datetime.combine(day, time(hour), tzinfo=zone)  # fold=0: the earlier offset
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        # In a gap: with the offset in force before it, hour:00 lands at or after the
        # transition, so step back to the transition itself (the gap's end).
        before = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        low, high = before, instant
        while high - low > timedelta(minutes=1):
            mid = low + (high - low) / 2
            if mid.astimezone(zone).utcoffset() == wall.utcoffset():
                low = mid
            else:
                high = mid
        instant = high.replace(second=0, microsecond=0)
        if instant.astimezone(zone).utcoffset() == wall.utcoffset():
            instant += timedelta(minutes=1)
    return instant


def due_at(subscription: Scheduled, now: datetime) -> datetime:
    """The UTC instant, in the subscriber's current ISO week, when their weekday and hour come."""
    zone = ZoneInfo(subscription.timezone)
    today = now.astimezone(zone).date()
    day = today - timedelta(days=today.weekday()) + timedelta(days=subscription.weekday)
    return local_instant(day, subscription.hour, zone)


def is_due(subscription: Scheduled, now: datetime) -> bool:
    """Active, and their weekday and hour have come this (local) ISO week."""
    if getattr(subscription, "status", SUB_ACTIVE) != SUB_ACTIVE:
        return False
    return now >= due_at(subscription, now)
