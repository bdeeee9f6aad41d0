"""Locale choice, right-to-left, and date formatting in an action's own time zone."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from flask import Flask, current_app, g, request
from flask_babel import get_locale
from flask_login import current_user

from .choices import LANGUAGE_NAMES, RTL_LANGUAGES
from .extensions import babel, db

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


def format_in_zone(value: datetime, tz: str, fmt: str = "EEEE d MMMM y, HH:mm") -> str:
    """A UTC instant shown in a named zone, e.g. an action's start in its own time zone."""
    return babel_format_datetime(value.astimezone(ZoneInfo(tz)), fmt, locale=current_locale())


def format_time_in_zone(value: datetime, tz: str) -> str:
    return babel_format_time(value.astimezone(ZoneInfo(tz)), "HH:mm", locale=current_locale())


def zone_label(tz: str, at: datetime) -> str:
    """Short label such as 'Jerusalem time (IST)'."""
    local = at.astimezone(ZoneInfo(tz))
    city = tz.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} ({local.tzname()})"


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
                LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
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
    app.jinja_env.filters["time_in_zone"] = format_time_in_zone
    app.jinja_env.globals["zone_label"] = zone_label
