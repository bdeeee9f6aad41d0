"""Locale choice, right-to-left, and dates and times on the clock of an action's own zone."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, get_timezone, get_timezone_location
from flask import Flask, current_app, g, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from .choices import LANGUAGE_NAMES, RTL_LANGUAGES
from .extensions import babel, db

if TYPE_CHECKING:
    from .models import Event

LANG_COOKIE = "lang"


def select_locale() -> str:
    """?lang= (remembered), then the user's profile, then the cookie, then the browser."""
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        g.remember_lang = asked
        if current_user.is_authenticated and current_user.locale != asked:
            current_user.locale = asked
            db.session.commit()
        return asked
    if current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages) or current_app.config["DEFAULT_LOCALE"]


def select_timezone() -> str:
    if current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["DEFAULT_TIMEZONE"]


def current_locale() -> str:
    return str(get_locale() or current_app.config["DEFAULT_LOCALE"])


def text_direction(locale: str | None = None) -> str:
    return "rtl" if (locale or current_locale()) in RTL_LANGUAGES else "ltr"


# --- dates and times, always in the action's (or organization's) own time zone --------------

# Date styles by name: "long" (Friday 27 November 2026), "card" (Fri 27 Nov), "short" (27 Nov),
# each with the time. Hebrew and Arabic take CLDR's own patterns (the ב before the month, the
# Arabic comma); English takes the day-month order people here read, not the US one.
DATE_STYLES = ("long", "card", "short")
ENGLISH_DATES = {"long": "EEEE d MMMM y", "card": "EEE d MMM", "short": "d MMM"}
SKELETONS = {"card": "MMMEd", "short": "MMMd"}


def _datetime_pattern(style: str, locale: str) -> str:
    loc = Locale.parse(locale)
    if locale == "en":
        day = ENGLISH_DATES[style]
    elif style == "long":
        day = loc.date_formats["full"].pattern
    else:
        day = loc.datetime_skeletons[SKELETONS[style]].pattern
    glue = str(loc.datetime_formats["medium"])  # "{1}, {0}", "{1}، {0}"
    return glue.replace("{1}", day).replace("{0}", "HH:mm")


def format_in_zone(value: datetime, tz: str, style: str = "long") -> str:
    """One instant on the clock of `tz`, in a named style (or an explicit CLDR pattern)."""
    locale = current_locale()
    pattern = _datetime_pattern(style, locale) if style in DATE_STYLES else style
    return format_datetime(value.astimezone(ZoneInfo(tz)), pattern, locale=locale)


def zone_city(tz: str) -> str:
    """'Jerusalem', 'ירושלים', 'القدس': the zone's city in the reader's language."""
    try:
        return get_timezone_location(get_timezone(tz), locale=current_locale(), return_city=True)
    except LookupError:
        return tz


def zone_city_label(tz: str) -> str:
    """'Jerusalem time': which clock the times on the page follow."""
    return _("%(city)s time", city=zone_city(tz))


def when_between(start: datetime, end: datetime, tz: str) -> str:
    """'Friday 5 December 2026, 13:00–15:00 (Jerusalem time)': a span on the clock of `tz`."""
    zone = ZoneInfo(tz)
    start, end = start.astimezone(zone), end.astimezone(zone)
    if start.date() == end.date():
        span = f"{format_in_zone(start, tz)}–{format_in_zone(end, tz, 'HH:mm')}"
    else:
        span = f"{format_in_zone(start, tz)} – {format_in_zone(end, tz)}"
    return _("%(when)s (%(zone)s)", when=span, zone=zone_city_label(tz))


def event_when(event: Event) -> str:
    """When an action happens, in its own time zone and saying so: the one wording everywhere."""
    return when_between(event.starts_at, event.ends_at, event.timezone)


def bdi(text: object) -> Markup:
    """User text set inside a sentence of the page's language, isolated so that an English
    name in an Arabic sentence (or the reverse) keeps its own direction and the punctuation
    around it stays put."""
    return Markup("<bdi>{}</bdi>").format(text)


def lang_query(args, code: str) -> str:
    """The current query string with ?lang= set, so switching language keeps the filters."""
    params = [(k, v) for k, v in args.items(multi=True) if k != "lang"]
    params.append(("lang", code))
    return urlencode(params)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.after_request
    def remember_language(response):
        lang = g.get("remember_lang")
        if lang:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                httponly=True,
                secure=current_app.config.get("SESSION_COOKIE_SECURE", False),  # production
            )
        return response

    @app.context_processor
    def inject_i18n():
        return {
            "current_locale": current_locale,
            "text_direction": text_direction,
            "LANGUAGE_NAMES": LANGUAGE_NAMES,
        }

    app.jinja_env.filters["in_zone"] = format_in_zone
    app.jinja_env.filters["lang_query"] = lang_query
    app.jinja_env.filters["bdi"] = bdi
    app.jinja_env.globals.update(
        event_when=event_when, when_between=when_between, zone_city_label=zone_city_label
    )
