"""Request-wide behaviour: error pages in the user's language, health check, template helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask import (
    Flask,
    current_app,
    has_request_context,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .choices import CAUSES, EVENT_KINDS, REGIONS
from .extensions import db
from .services.errors import NotAllowed, NotFound


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

    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:
            db.session.rollback()
            return jsonify({"status": "error", "database": "unavailable"}), 503
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
        return response

    @app.context_processor
    def inject_vocabularies():
        return {"EVENT_KINDS": EVENT_KINDS, "CAUSES": CAUSES, "REGIONS": REGIONS}

    app.jinja_env.globals["absolute_url"] = absolute_url
