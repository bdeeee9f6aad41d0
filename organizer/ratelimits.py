"""Rate limits on the forms anyone can post: logging in, registering, password resets,
sign-ups (the action page's, the embed's, shifts) and digest subscriptions.

Counted per client address (request.remote_addr: the proxy's X-Forwarded-For only when
PROXY_FIX_X_FOR says how many proxies to trust), and for logging in also per address tried,
so one account cannot be guessed at from many machines. The rates come from the config
(AUTH_RATELIMIT, LOGIN_EMAIL_RATELIMIT, SIGNUP_RATELIMIT) and are read on each request;
the counts live in RATELIMIT_STORAGE_URI (Redis when REDIS_URL is set). Only POSTs count:
showing a form is free. Past a limit the answer is a 429 page in the user's language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from flask import Response, current_app, request

from .extensions import limiter

F = TypeVar("F", bound=Callable)


def client_address() -> str:
    """Who is asking: the connecting address, or the proxy-reported one behind ProxyFix."""
    return request.remote_addr or "unknown"


def tried_email() -> str:
    """The account a login tries, hashed (the store sees no addresses); the client address
    when the form names none."""
    email = request.form.get("email", "")
    email = email.strip().lower()[:320] if isinstance(email, str) else ""
    if not email:
        return "addr:" + client_address()
    return "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _failed(response: Response) -> bool:
    """A login that did not go through (it redirects when it does)."""
    return response.status_code >= 400


def auth_limit(view: F) -> F:
    """Registration, password reset requests and other account forms: per client address."""
    return limiter.limit(_setting("AUTH_RATELIMIT"), key_func=client_address, methods=["POST"])(
        view
    )


def login_limit(view: F) -> F:
    """Failed logins: per client address and per address tried; a success costs nothing."""
    view = limiter.limit(
        _setting("LOGIN_EMAIL_RATELIMIT"),
        key_func=tried_email,
        methods=["POST"],
        deduct_when=_failed,
    )(view)
    return limiter.limit(
        _setting("AUTH_RATELIMIT"),
        key_func=client_address,
        methods=["POST"],
        deduct_when=_failed,
    )(view)


def email_limit(view: F) -> F:
    """Forms that email an address someone typed: per client address and per address typed,
    so nobody can flood one inbox from many machines."""
    view = limiter.limit(_setting("LOGIN_EMAIL_RATELIMIT"), key_func=tried_email, methods=["POST"])(
        view
    )
    return auth_limit(view)


def signup_limit(view: F) -> F:
    """Sign-ups and digest subscriptions: per client address, generous enough for a crowd
    sharing one network at a rally."""
    return limiter.limit(_setting("SIGNUP_RATELIMIT"), key_func=client_address, methods=["POST"])(
        view
    )
