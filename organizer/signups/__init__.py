from .embed import bp as embed_bp
from .views import bp

__all__ = ["bp", "embed_bp"]
