from . import privacy
from .views import bp

privacy_bp = privacy.bp

__all__ = ["bp", "privacy_bp"]
