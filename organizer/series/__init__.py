"""Recurring actions: ending a series, and the one-click stop of a standing sign-up."""

from .views import bp

__all__ = ["bp"]
