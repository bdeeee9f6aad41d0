"""Organizer: actions, volunteer sign-ups and weekly digests for grassroots movements."""

from __future__ import annotations

import logging
import os

from flask import Flask

from config import CONFIGS, INSECURE_KEYS, Config

from .extensions import babel, csrf, db, limiter, login_manager, mail, migrate


def create_app(config_name_or_object: str | type | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
    )
    app.config.from_object(_resolve_config(config_name_or_object))
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = (
            "smtp" if app.config["MAIL_SERVER"] else "organizer.mail_log.EmailBackend"
        )
    if app.config.get("REQUIRE_SECRET_KEY") and app.config["SECRET_KEY"] in INSECURE_KEYS:
        raise RuntimeError("Set SECRET_KEY: the default would let anyone forge logins and links.")
    os.makedirs(app.instance_path, exist_ok=True)
    _trust_proxies(app)
    logging.basicConfig(level=logging.INFO)

    from .web import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    register_extensions(app)
    register_blueprints(app)
    from . import cli, web

    web.init_app(app)
    cli.init_app(app)
    if app.config.get("BENCH_CEILING"):  # the page benchmark's yardstick, never in a real app
        from .events import ceiling

        ceiling.init_app(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Read the client address (rate limits) and scheme from a reverse proxy's X-Forwarded-*
    headers only when told how many proxies stand in front: otherwise anyone could send them."""
    x_for = app.config.get("PROXY_FIX_X_FOR", 0)
    x_proto = app.config.get("PROXY_FIX_X_PROTO", 0)
    if x_for or x_proto:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto)


def _resolve_config(config: str | type | None) -> type | object:
    if config is None:
        config = os.environ.get("ORGANIZER_CONFIG", "development")
    if isinstance(config, str):
        return CONFIGS[config]
    return config


def register_extensions(app: Flask) -> None:
    from . import database, i18n
    from .models import User

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(app.root_path, "..", "migrations"),
        render_as_batch=True,  # SQLite can only ALTER tables by copying them
    )
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        ident, _, token = user_id.partition(":")
        if not ident.isdigit() or not token:
            return None
        user = db.session.get(User, int(ident))
        if user is None or user.session_token != token:
            return None
        return user

    assert babel  # initialised by i18n.init_app


def register_blueprints(app: Flask) -> None:
    from .api import PREFIX as API_PREFIX
    from .api import bp as api_bp
    from .api import tokens_bp as api_tokens_bp
    from .attendance import bp as attendance_bp
    from .audit import bp as audit_bp
    from .auth import bp as auth_bp
    from .dashboard import bp as dashboard_bp
    from .digests import bp as digests_bp
    from .digests import manage_bp as digest_manage_bp
    from .events import bp as events_bp
    from .main import bp as main_bp
    from .me import bp as me_bp
    from .me import privacy_bp
    from .networks import bp as networks_bp
    from .orgs import bp as orgs_bp
    from .reminders import bp as reminders_bp
    from .series import bp as series_bp
    from .shifts import bp as shifts_bp
    from .signups import bp as signups_bp
    from .signups import embed_bp
    from .webhooks import bp as webhooks_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(orgs_bp, url_prefix="/orgs")
    app.register_blueprint(networks_bp, url_prefix="/orgs")
    app.register_blueprint(events_bp, url_prefix="/events")
    app.register_blueprint(signups_bp)
    app.register_blueprint(embed_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(shifts_bp)
    app.register_blueprint(series_bp)
    app.register_blueprint(digests_bp, url_prefix="/digest")
    app.register_blueprint(digest_manage_bp, url_prefix="/digest")
    app.register_blueprint(attendance_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(me_bp, url_prefix="/me")
    app.register_blueprint(privacy_bp, url_prefix="/privacy")
    app.register_blueprint(webhooks_bp, url_prefix="/orgs")
    app.register_blueprint(audit_bp, url_prefix="/orgs")
    app.register_blueprint(api_bp, url_prefix=API_PREFIX)
    app.register_blueprint(api_tokens_bp)


__all__ = ["Config", "create_app"]
