"""Reminders before an action: `flask reminders send`, and the one-click "I can't come" page."""

from .views import bp

__all__ = ["bp"]
