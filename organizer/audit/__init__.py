"""The audit log page: an organization's owners see who did what with people's data."""

from .views import bp

__all__ = ["bp"]
