"""Request-wide behaviour: error pages in the user's language, health check, template helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .choices import CAUSES, EVENT_KINDS, REGIONS
from .extensions import db, login_manager
from .services.errors import NotAllowed, NotFound

log = logging.getLogger(__name__)


def now_utc() -> datetime:
    return datetime.now(UTC)


@contextmanager
def url_context() -> Iterator[None]:
    """url_for needs a request; commands and queue workers that build links have none."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context("/"):  # links add PUBLIC_URL themselves
        yield


def absolute_url(endpoint: str, **values) -> str:
    """PUBLIC_URL and the path: links in emails, calendar files and share buttons."""
    return current_app.config["PUBLIC_URL"] + url_for(endpoint, **values)


ERROR_MESSAGES = {
    400: lambda: _(
        "The request could not be understood. Please check what you entered and try again."
    ),
    403: lambda: _("You do not have permission to see this page."),
    404: lambda: _("We could not find that page. It may have been moved or deleted."),
    405: lambda: _("That action is not possible on this page."),
    413: lambda: _("What you sent is too large."),
    429: lambda: _("Too many attempts. Please wait a moment and try again."),
    500: lambda: _("Something went wrong on our side. Please try again in a moment."),
    503: lambda: _("The service is briefly unavailable. Please try again in a moment."),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(code: int, message: str | None = None):
    message = message or ERROR_MESSAGES.get(code, ERROR_MESSAGES[500])()
    if _wants_json():
        return jsonify({"error": {"status": code, "message": message}}), code
    return render_template("errors/error.html", code=code, message=message), code


class BoundedIntConverter(IntegerConverter):
    """Ids beyond what the databases can store are simply not found (404), never a 500."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def allow_framing(view: Callable) -> Callable:
    """Let other sites frame this view's pages (EMBED_FRAME_ANCESTORS): the embeddable sign-up.
    Every other page refuses to be framed, so nobody can dress it up to trick a click."""
    view.allow_framing = True  # read by security_headers, for the view's error pages too
    return view


def _framable() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "allow_framing", False)


def frame_ancestors(value: str) -> str:
    """EMBED_FRAME_ANCESTORS ("*", or origins separated by spaces or commas) as CSP sources."""
    sources = value.replace(",", " ").split()
    if not sources or any(ch in source for source in sources for ch in ";'\"\\"):
        raise ValueError(f"EMBED_FRAME_ANCESTORS is not a list of origins: {value!r}")
    return " ".join(sources)


CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors {ancestors}; form-action 'self'"
)


def _locale_without_database() -> str:
    """The page's language as select_locale would choose it, reading only what is already in
    memory: ?lang=, the logged-in user's loaded profile, the cookie, the browser."""
    languages = current_app.config["LANGUAGES"]
    candidates = [request.args.get("lang")]
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        state = sa_inspect(user, raiseerr=False)
        if state is not None:
            candidates.append(state.dict.get("locale"))  # no query: loaded or nothing
    candidates.append(request.cookies.get("lang"))
    for locale in candidates:
        if locale in languages:
            return locale
    return request.accept_languages.best_match(languages) or current_app.config["DEFAULT_LOCALE"]


def _forget_database_state() -> None:
    """Drop the broken transaction, and render as a visitor: the page must not query."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it on next checkout
        log.debug("Rollback after a database fault failed", exc_info=True)
    g._login_user = login_manager.anonymous_user()


def _has_nul(values) -> bool:
    return any("\x00" in value for _, value in values)


def init_app(app: Flask) -> None:
    embed_ancestors = frame_ancestors(app.config.get("EMBED_FRAME_ANCESTORS", "*"))

    @app.before_request
    def refuse_nul_bytes():
        """No text anyone types contains NUL; PostgreSQL refuses it, so say 400 up front."""
        if "\x00" in request.path or _has_nul(request.args.items(multi=True)):
            return render_error(400)
        if request.method == "POST" and _has_nul(request.form.items(multi=True)):
            return render_error(400)
        return None

    @app.before_request
    def refuse_bodies_forms_cannot_read():
        """The web forms read text fields only. A file (multipart) or a JSON body, which
        Flask-WTF hands to a form as is, would reach a text field as an upload, a number or a
        list and fail its checks with a 500: say 400 up front. The API reads its JSON itself."""
        if request.method != "POST" or request.path.startswith("/api/"):
            return None
        if request.files or request.is_json:
            return render_error(400)
        return None

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _("Your form expired or came from elsewhere. Please reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code)

    @app.errorhandler(NotFound)
    def not_found(error):
        return render_error(404)

    @app.errorhandler(NotAllowed)
    def not_allowed(error):
        return render_error(403)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_error(500)

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(sa_exc.TimeoutError)  # no connection free in the pool
    def database_unavailable(error: Exception):
        """The database went away (restart, failover, network): a 503 in the user's language,
        rendered without asking the database anything; pool_pre_ping reconnects later."""
        log.warning("Database unavailable: %s", error)
        locale = _locale_without_database()
        _forget_database_state()
        with force_locale(locale):
            response = make_response(render_error(503))
        response.headers["Retry-After"] = "30"
        return response

    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:
            log.warning("Health check: the database does not answer", exc_info=True)
            _forget_database_state()
            return jsonify({"status": "unavailable"}), 503
        return jsonify({"status": "ok"})

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        framable = _framable()
        ancestors = embed_ancestors if framable else "'none'"
        response.headers.setdefault("Content-Security-Policy", CSP.format(ancestors=ancestors))
        if not framable:
            response.headers.setdefault("X-Frame-Options", "DENY")  # browsers without CSP 2
        if hsts := current_app.config.get("STRICT_TRANSPORT_SECURITY"):
            response.headers.setdefault("Strict-Transport-Security", hsts)
        return response

    @app.context_processor
    def inject_vocabularies():
        return {"EVENT_KINDS": EVENT_KINDS, "CAUSES": CAUSES, "REGIONS": REGIONS}

    app.jinja_env.globals["absolute_url"] = absolute_url
