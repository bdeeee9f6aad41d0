"""One JSON shape for every API error: {"error": {"status", "code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from ..web import ERROR_MESSAGES

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


class ApiError(Exception):
    """Raised by API views; the blueprint turns it into the JSON error response."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message or code or str(status))
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.details = details or []


def error_response(
    status: int,
    message: str | None = None,
    *,
    code: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> Response:
    if message is None:
        message = (ERROR_MESSAGES.get(status) or ERROR_MESSAGES[500])()
    body = {
        "error": {
            "status": status,
            "code": code or CODES.get(status, "error"),
            "message": str(message),
            "details": details or [],
        }
    }
    response = jsonify(body)
    response.status_code = status
    return response


def from_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message, code=error.code, details=error.details)


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status == 401:
        response = error_response(401, _("A valid API token is needed."))
    else:
        response = error_response(status)
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def normalize(response: Response) -> Response:
    """Errors answered outside the blueprint's handlers (no route matched, a NUL byte refused
    by the app, a wrong method) get the same shape as the rest."""
    if not request.path.startswith("/api/") or response.status_code < 400:
        return response
    if not response.is_json:
        return response
    body = response.get_json(silent=True)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or "code" in error:
        return response
    fixed = error_response(response.status_code, error.get("message"))
    if response.status_code == 405 and "Allow" not in response.headers:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        fixed.headers["Allow"] = ", ".join(sorted(adapter.allowed_methods()))
    for name, value in response.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            fixed.headers[name] = value
    return fixed
