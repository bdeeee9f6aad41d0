"""What every area's forms share: input filters, the button-only form, service errors on fields."""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm

from .services.errors import InvalidInput


def _without_controls(value: str, keep: str = "") -> str:
    """Control characters dropped (PostgreSQL refuses NUL; the others only hide text)."""
    return "".join(ch for ch in value if ch in keep or unicodedata.category(ch) != "Cc")


def one_line(value):
    """One line of text: control characters dropped, runs of whitespace made one space."""
    if not isinstance(value, str):
        return value
    return " ".join(_without_controls(value, keep="\t\n\r").split())


def multi_line(value):
    """Text with line breaks kept (as \\n) and other control characters dropped."""
    if not isinstance(value, str):
        return value
    return _without_controls(value.replace("\r\n", "\n"), keep="\t\n").strip()


def strip(value):
    """Outer spaces only: an address with control characters is refused, not repaired."""
    return value.strip() if isinstance(value, str) else value


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def show_errors(form: FlaskForm, error: InvalidInput) -> None:
    """What a service refused, next to the field it names (the first field if the form has none)."""
    for name, message in error.errors.items():
        field = form[name] if name in form else next(f for f in form if f.name != "csrf_token")
        field.errors = [*field.errors, str(message)]
