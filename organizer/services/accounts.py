"""Accounts: registration, login checks, email confirmation, password reset and change, profile.

Password reset links are single-use: their payload carries a fingerprint of the password hash
at the time the link was made, so setting a new password (which re-salts the hash) voids them.
Logging out, changing or resetting the password rotates `User.session_token`, which is part of
the login cookie, so every other session and "remember me" cookie ends.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from functools import cache
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import User
from ..models.base import utcnow
from ..models.user import new_session_token
from ..tokens import InvalidToken, make_token, read_token
from .errors import EmailTaken, InvalidAccountData, WrongPassword

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
NAME_MAX_LENGTH = 120
PHONE_MAX_LENGTH = 40
EMAIL_MAX_LENGTH = 254

CONFIRM_PURPOSE = "confirm-email"
RESET_PURPOSE = "reset-password"


# ---- rules -------------------------------------------------------------------------------


def normalize_email(address: str) -> str:
    """Lower-cased, syntax checked only (no DNS: sign-ups must work offline and fast).

    Raises InvalidAccountData, a ValueError.
    """
    if not isinstance(address, str) or len(address) > EMAIL_MAX_LENGTH:
        raise InvalidAccountData("email", "too long")
    try:
        # No SMTPUTF8 local parts: many mail servers refuse them, and the volunteer would wait
        # for a confirmation that never comes.
        result = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAccountData("email", str(exc)) from exc
    return result.normalized.lower()


def check_password_rule(password: str) -> None:
    """Length, and not a common password: long passphrases beat composition rules (NIST
    SP 800-63B, OWASP ASVS 6.2), and the passwords everyone tries first beat any length."""
    if not isinstance(password, str) or not (
        PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH
    ):
        raise InvalidAccountData(
            "password",
            f"use between {PASSWORD_MIN_LENGTH} and {PASSWORD_MAX_LENGTH} characters",
        )
    if is_common_password(password):
        raise InvalidAccountData("password", "one of the most common passwords")


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from leaked lists, lower-cased, as the zxcvbn package
    ships them (a maintained list; pinned in pyproject.toml). Loaded once, on first use."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """Whether a password is on the common list, in any letter case or with outer spaces."""
    return password.strip().lower() in _common_passwords()


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    return name in _zones()


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise InvalidAccountData("name", f"give a name of at most {NAME_MAX_LENGTH} characters")
    return name


def _clean_phone(phone: str | None) -> str | None:
    phone = (phone or "").strip()
    if len(phone) > PHONE_MAX_LENGTH:
        raise InvalidAccountData("phone", "too long")
    return phone or None


def _clean_locale(locale: str | None) -> str | None:
    if locale in (None, ""):
        return None
    if locale not in current_app.config["LANGUAGES"]:
        raise InvalidAccountData("locale", "unknown language")
    return locale


def _clean_timezone(timezone: str | None) -> str | None:
    timezone = (timezone or "").strip()
    if not timezone:
        return None
    if not is_valid_timezone(timezone):
        raise InvalidAccountData("timezone", "unknown time zone")
    return timezone


# ---- users ---------------------------------------------------------------------------------


def find_user_by_email(address: str) -> User | None:
    try:
        email = normalize_email(address)
    except InvalidAccountData:
        return None
    return db.session.scalar(select(User).where(func.lower(User.email) == email))


def create_user(
    email: str,
    password: str,
    name: str,
    *,
    confirmed: bool = False,
    locale: str | None = None,
    timezone: str | None = None,
    phone: str | None = None,
    now: datetime | None = None,
) -> User:
    """Create and commit an account; EmailTaken if the address is used in any letter case."""
    address = normalize_email(email)
    check_password_rule(password)
    user = User(
        email=address,
        name=_clean_name(name),
        phone=_clean_phone(phone),
        locale=_clean_locale(locale),
        timezone=_clean_timezone(timezone),
        password_hash=generate_password_hash(password),
        is_admin=False,
        session_token=new_session_token(),
    )
    if confirmed:
        user.email_confirmed_at = now or utcnow()
    if db.session.scalar(select(User.id).where(func.lower(User.email) == address)) is not None:
        raise EmailTaken(address)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:  # a concurrent registration won the unique index
        db.session.rollback()
        raise EmailTaken(address) from exc
    return user


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not a real password, only here to spend the same time")


def authenticate(email: str, password: str) -> User | None:
    """The user whose address (any case) and password match, else None.

    A missing account still costs one hash check, so response time does not reveal
    which addresses have accounts.
    """
    user = find_user_by_email(email) if isinstance(email, str) else None
    if not isinstance(password, str) or len(password) > PASSWORD_MAX_LENGTH:
        password = ""
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def _set_password(user: User, password: str) -> None:
    check_password_rule(password)
    user.password_hash = generate_password_hash(password)
    user.session_token = new_session_token()


def end_all_sessions(user: User) -> None:
    """Log the user out everywhere: the session token is part of every login and
    remember-me cookie, so a new one voids them all (used when logging out)."""
    user.session_token = new_session_token()
    db.session.commit()


def change_password(user: User, old: str, new: str) -> None:
    """Set a new password after checking the current one; signs out every other session."""
    if not check_password_hash(user.password_hash, old or ""):
        raise WrongPassword()
    _set_password(user, new)
    db.session.commit()


def update_profile(
    user: User, name: str, phone: str | None, locale: str | None, timezone: str | None
) -> User:
    """Validate everything before touching the user, so a bad value writes nothing."""
    values = {
        "name": _clean_name(name),
        "phone": _clean_phone(phone),
        "locale": _clean_locale(locale),
        "timezone": _clean_timezone(timezone),
    }
    for key, value in values.items():
        setattr(user, key, value)
    db.session.commit()
    return user


# ---- email confirmation ----------------------------------------------------------------


def confirmation_token(user: User) -> str:
    """Bound to the address too, so a link for an old address cannot confirm a new one."""
    return make_token(CONFIRM_PURPOSE, {"u": user.id, "e": user.email.lower()})


def user_for_confirmation_token(token: str, max_age: int | None) -> User:
    """The user a confirmation link is for; InvalidToken if forged, expired or stale.

    max_age=None accepts an expired but genuine link (used to send a fresh one).
    """
    payload = read_token(CONFIRM_PURPOSE, token, max_age=max_age)
    user = _user_from_payload(payload)
    if user is None or user.email.lower() != payload.get("e"):
        raise InvalidToken()
    return user


def confirm_email(user_id: int, now: datetime) -> User:
    """Mark the address confirmed; confirming again keeps the first time."""
    user = db.session.get(User, user_id)
    if user is None:
        raise InvalidToken()
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
        db.session.commit()
    return user


# ---- password reset -------------------------------------------------------------------


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:24]


def reset_token(user: User) -> str:
    return make_token(RESET_PURPOSE, {"u": user.id, "p": _password_fingerprint(user)})


def user_for_reset_token(token: str, max_age: int) -> User:
    """The user a reset link is for; InvalidToken if forged, expired or already used."""
    payload = read_token(RESET_PURPOSE, token, max_age=max_age)
    user = _user_from_payload(payload)
    if user is None or not hmac.compare_digest(
        str(payload.get("p", "")), _password_fingerprint(user)
    ):
        raise InvalidToken()
    return user


def reset_password(token: str, new_password: str, now: datetime, max_age: int) -> User:
    """Set a new password from an emailed link; the link stops working and other sessions end.

    The link reached the inbox, so it also proves the address.
    """
    user = user_for_reset_token(token, max_age)
    _set_password(user, new_password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now
    db.session.commit()
    return user


def _user_from_payload(payload: object) -> User | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise InvalidToken()
    return db.session.get(User, payload["u"])
