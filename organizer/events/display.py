"""How an action reads on a page: when (in its own zone, labelled) and how many places are left."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date, format_time, get_timezone, get_timezone_location
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from ..i18n import current_locale
from ..models import Event
from ..models import signup as st


def zone_city(tz: str, locale: str | None = None) -> str:
    """'Jerusalem', 'ירושלים', 'القدس': the zone's city in the reader's language."""
    try:
        return get_timezone_location(
            get_timezone(tz), locale=locale or current_locale(), return_city=True
        )
    except LookupError:
        return tz


def zone_city_label(tz: str, locale: str | None = None) -> str:
    """'Jerusalem time': which clock the times on the page follow."""
    return _("%(city)s time", city=zone_city(tz, locale))


def when_text(event: Event, locale: str | None = None) -> str:
    """'Friday 5 December 2026, 13:00–15:00 (Jerusalem time)', in the action's time zone."""
    return when_between(event.starts_at, event.ends_at, event.timezone, locale)


def when_between(start: datetime, end: datetime, tz: str, locale: str | None = None) -> str:
    locale = locale or current_locale()
    zone = get_timezone(tz)
    start, end = start.astimezone(zone), end.astimezone(zone)
    day = format_date(start, "EEEE d MMMM y", locale=locale)
    start_time = format_time(start, "HH:mm", locale=locale)
    end_time = format_time(end, "HH:mm", locale=locale)
    if start.date() == end.date():
        span = f"{day}, {start_time}–{end_time}"
    else:
        end_day = format_date(end, "EEEE d MMMM y", locale=locale)
        span = f"{day}, {start_time} – {end_day}, {end_time}"
    return _("%(when)s (%(zone)s)", when=span, zone=zone_city_label(tz, locale))


def short_when(event: Event, locale: str | None = None) -> str:
    """'Fri 5 Dec, 13:00' for cards; the zone is the action's own."""
    locale = locale or current_locale()
    start = event.local_start
    day = format_date(start, "EEE d MMM", locale=locale)
    return f"{day}, {format_time(start, 'HH:mm', locale=locale)}"


def places_left(event: Event, counts: dict[str, int] | None) -> int | None:
    if event.capacity is None:
        return None
    return max(event.capacity - (counts or {}).get(st.CONFIRMED, 0), 0)


def availability(event: Event, counts: dict[str, int] | None) -> list[tuple[str, str]]:
    """Badges for a card or the detail page: (label, css class). Counts only, never names."""
    if event.is_cancelled:
        return [(_("Cancelled"), "danger")]
    badges: list[tuple[str, str]] = []
    left = places_left(event, counts)
    if left is None:
        badges.append((_("Open to all"), "ok"))
    elif left > 0:
        badges.append((ngettext("%(num)d place left", "%(num)d places left", left), "ok"))
    elif event.waitlist_enabled:
        badges.append((_("Waitlist open"), "warn"))
    else:
        badges.append((_("Full"), "danger"))
    if event.approval_required:
        badges.append((_("Approval needed"), "warn"))
    return badges


def place_text(
    is_online: bool, online_url: str, address: str, city: str, region: str, reveal: bool
) -> str:
    """Where, as plain text; the address or link only when `reveal` (the reader may see it)."""
    from ..choices import REGIONS

    public = str(REGIONS.get(region, region))
    public = f"{city}, {public}" if city else public
    if is_online:
        return f"{_('Online')}: {online_url}" if reveal and online_url else _("Online")
    return f"{address}, {public}" if reveal and address else public


def public_place_html(event: Event) -> Markup:
    """City and region, each isolated so an Arabic city beside an English region reads right."""
    from ..choices import REGIONS

    region = str(REGIONS.get(event.region, event.region))
    if not event.city:
        return Markup("<bdi>{}</bdi>").format(region)
    return Markup("<bdi>{}</bdi>, <bdi>{}</bdi>").format(event.city, region)
