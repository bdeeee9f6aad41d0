"""Configuration classes; every setting the brief names can be overridden from the environment."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs and plain postgresql:// both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


INSECURE_KEYS = frozenset({"", "dev-only-not-secret"})


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{BASE_DIR / 'instance' / 'organizer.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Organizer <noreply@organizer.local>"
    )
    MAIL_TIMEOUT = 10

    REDIS_URL = os.environ.get("REDIS_URL") or None
    # Digests: DKIM signing (the key as PEM text or a path to a PEM file), and how many sent
    # messages are recorded per commit (the most a killed sender can send twice).
    DKIM_PRIVATE_KEY = os.environ.get("DKIM_PRIVATE_KEY") or None
    DKIM_SELECTOR = os.environ.get("DKIM_SELECTOR") or None
    DKIM_DOMAIN = os.environ.get("DKIM_DOMAIN") or None
    DIGEST_COMMIT_EVERY = int(os.environ.get("DIGEST_COMMIT_EVERY", "1"))
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "Asia/Jerusalem")
    DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "en")
    LANGUAGES = ("en", "he", "ar")
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")

    MAX_CONTENT_LENGTH = 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    EVENTS_PER_PAGE = 20
    # `make bench` only: adds a route rendering the action list from memory (the "ceiling" the
    # page benchmark compares /events/ with). Never set it on a real site.
    BENCH_CEILING = _bool("BENCH_CEILING")
    # The embeddable sign-up (/events/<id>/embed): which sites may frame it ("*": any, or
    # origins separated by spaces), and how long its form's signed token lasts.
    EMBED_FRAME_ANCESTORS = os.environ.get("EMBED_FRAME_ANCESTORS", "*")
    EMBED_TOKEN_MAX_AGE = 2 * 3600

    # API rate limits (Flask-Limiter): per token, and per address for calls without one.
    # Counted in Redis when REDIS_URL is set, so every worker process shares the counts.
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    API_RATELIMIT_TOKEN = os.environ.get("API_RATELIMIT_TOKEN", "600 per minute")
    API_RATELIMIT_ANONYMOUS = os.environ.get("API_RATELIMIT_ANONYMOUS", "120 per minute")
    # Web forms (organizer/ratelimits.py), POSTs only, per client address: account forms
    # (register, password reset, failed logins); failed logins per address tried (and reset
    # emails per inbox); sign-ups and digest subscriptions (a crowd may share one address).
    AUTH_RATELIMIT = os.environ.get("AUTH_RATELIMIT", "10 per minute; 50 per hour")
    LOGIN_EMAIL_RATELIMIT = os.environ.get("LOGIN_EMAIL_RATELIMIT", "10 per 15 minutes")
    SIGNUP_RATELIMIT = os.environ.get("SIGNUP_RATELIMIT", "30 per minute; 300 per hour")
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True  # Redis down: count in memory, not a 500
    # Behind a reverse proxy: how many proxies' X-Forwarded-For / -Proto to trust (0: none, so
    # a client cannot pick its own address for the rate limits).
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    PROXY_FIX_X_PROTO = int(os.environ.get("PROXY_FIX_X_PROTO", "0"))
    # Sent on every response when set (production: HTTPS only from then on).
    STRICT_TRANSPORT_SECURITY = os.environ.get("STRICT_TRANSPORT_SECURITY") or None
    CONFIRM_EMAIL_MAX_AGE = 7 * 24 * 3600
    RESET_PASSWORD_MAX_AGE = 2 * 3600
    INVITATION_MAX_AGE = 14 * 24 * 3600
    # Privacy: guests' personal data is removed this long after their action ended (`flask
    # privacy purge`); the link to a guest's own data works this long (seconds).
    GUEST_DATA_RETENTION_DAYS = int(os.environ.get("GUEST_DATA_RETENTION_DAYS", "180"))
    GUEST_DATA_LINK_MAX_AGE = 24 * 3600
    # The mail outbox (`flask mail retry`): tries per message before giving up.
    MAIL_RETRY_MAX_ATTEMPTS = int(os.environ.get("MAIL_RETRY_MAX_ATTEMPTS", "8"))
    # Webhooks: http:// to this machine (and private addresses) only in development and tests.
    WEBHOOKS_ALLOW_HTTP_LOCALHOST = _bool("WEBHOOKS_ALLOW_HTTP_LOCALHOST")
    WEBHOOKS_MAX_CONSECUTIVE_FAILURES = int(
        os.environ.get("WEBHOOKS_MAX_CONSECUTIVE_FAILURES", "8")
    )


class DevelopmentConfig(Config):
    DEBUG = False
    WEBHOOKS_ALLOW_HTTP_LOCALHOST = _bool("WEBHOOKS_ALLOW_HTTP_LOCALHOST", True)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = _database_url(
        os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or "sqlite://"
    )
    MAIL_SERVER = ""
    PUBLIC_URL = "http://localhost"
    SERVER_NAME = None
    WTF_CSRF_ENABLED = True
    WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
    RATELIMIT_STORAGE_URI = "memory://"
    # High enough for the Schemathesis run; the rate-limit tests lower them.
    API_RATELIMIT_TOKEN = "100000 per minute"  # noqa: S105 - a rate, not a secret
    API_RATELIMIT_ANONYMOUS = "100000 per minute"
    AUTH_RATELIMIT = "100000 per minute"
    LOGIN_EMAIL_RATELIMIT = "100000 per minute"
    SIGNUP_RATELIMIT = "100000 per minute"


class ProductionConfig(Config):
    REQUIRE_SECRET_KEY = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    # __Host-: the browser keeps these only if Secure, for path / and with no Domain, so no
    # other site on a sibling domain (or plain-HTTP page) can set or overwrite them.
    SESSION_COOKIE_NAME = "__Host-session"
    SESSION_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = None
    REMEMBER_COOKIE_NAME = "__Host-remember"
    REMEMBER_COOKIE_PATH = "/"
    REMEMBER_COOKIE_DOMAIN = None
    STRICT_TRANSPORT_SECURITY = os.environ.get("STRICT_TRANSPORT_SECURITY", "max-age=31536000")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
