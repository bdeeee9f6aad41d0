from .manage import bp as manage_bp
from .views import bp

__all__ = ["bp", "manage_bp"]
