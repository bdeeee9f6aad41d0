"""Register, confirm the address, log in and out, reset or change the password, edit the profile."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..choices import COMMON_TIMEZONES
from ..email import send_email
from ..i18n import current_locale
from ..models import User
from ..ratelimits import auth_limit, email_limit, login_limit
from ..services import accounts
from ..services.errors import EmailTaken, InvalidAccountData, WrongPassword
from ..tokens import InvalidToken
from ..web import absolute_url, now_utc
from .forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResendConfirmationForm,
    ResetPasswordForm,
)

bp = Blueprint("auth", __name__)

# Session keys that survive logging in and out (everything else is dropped).
_KEPT_SESSION_KEYS = ("lang",)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: no other host, scheme or backslash."""
    if not target or len(target) > 2000:
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _next_url(form=None) -> str | None:
    candidate = request.args.get("next")
    if form is not None and form.next.data:
        candidate = form.next.data
    return safe_next(candidate)


def _start_session(user: User, remember: bool = False) -> None:
    """A fresh session for the new login, so nothing set before it (fixation) carries over."""
    kept = {key: session[key] for key in _KEPT_SESSION_KEYS if key in session}
    session.clear()
    session.update(kept)
    login_user(user, remember=remember)


def _send_confirmation(user: User) -> None:
    send_email(
        user.email,
        "confirm_email",
        user.locale or current_locale(),
        user=user,
        link=absolute_url("auth.confirm_email", token=accounts.confirmation_token(user)),
        max_age_days=current_app.config["CONFIRM_EMAIL_MAX_AGE"] // 86400,
    )


def _send_reset(user: User) -> None:
    send_email(
        user.email,
        "reset_password",
        user.locale or current_locale(),
        user=user,
        link=absolute_url("auth.reset_password", token=accounts.reset_token(user)),
        max_age_hours=current_app.config["RESET_PASSWORD_MAX_AGE"] // 3600,
    )


@bp.route("/register", methods=["GET", "POST"])
@auth_limit
def register():
    form = RegisterForm(next=request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                form.email.data, form.password.data, form.name.data, locale=current_locale()
            )
        except EmailTaken:
            form.email.errors.append(
                _("An account with this email already exists. Log in or reset your password.")
            )
        except InvalidAccountData:
            form.email.errors.append(_("Please check what you entered."))
        else:
            _send_confirmation(user)
            _start_session(user)
            flash(_("Welcome! Open the link we emailed you to confirm your address."), "success")
            return redirect(_next_url(form) or url_for("auth.profile"))
    return render_template("auth/register.html", form=form), 400 if form.errors else 200


@bp.get("/confirm/<token>")
def confirm_email(token: str):
    try:
        user = accounts.user_for_confirmation_token(
            token, current_app.config["CONFIRM_EMAIL_MAX_AGE"]
        )
    except InvalidToken as exc:
        return _link_problem(expired=exc.expired, token=token)
    accounts.confirm_email(user.id, now_utc())
    flash(_("Thank you, your email address is confirmed."), "success")
    if current_user.is_authenticated:
        return redirect(url_for("auth.profile"))
    return redirect(url_for("auth.login"))


def _link_problem(expired: bool, token: str):
    form = ResendConfirmationForm(token=token) if expired else None
    return render_template("auth/confirm_problem.html", expired=expired, form=form), 400


@bp.post("/confirm/resend")
@auth_limit
def resend_confirmation():
    form = ResendConfirmationForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.login"))
    user = current_user if current_user.is_authenticated else None
    if user is None and form.token.data:
        try:
            user = accounts.user_for_confirmation_token(form.token.data, max_age=None)
        except InvalidToken:
            user = None
    if user is None:
        flash(_("Please log in to get a new confirmation link."), "info")
        return redirect(url_for("auth.login"))
    if user.email_confirmed:
        flash(_("Your email address is already confirmed."), "info")
    else:
        _send_confirmation(user)
        flash(_("We sent you a new confirmation link. It may take a minute to arrive."), "success")
    return redirect(url_for("auth.profile" if current_user.is_authenticated else "auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_next_url() or url_for("main.home"))
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            _start_session(user, remember=form.remember.data)
            flash(_("You are logged in."), "success")
            return redirect(_next_url(form) or url_for("main.home"))
        flash(_("That email and password do not match an account."), "error")
        return render_template("auth/login.html", form=form), 400
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # A new session token: this login's cookies, and every other device's, stop working.
        accounts.end_all_sessions(current_user._get_current_object())
    kept = {key: session[key] for key in _KEPT_SESSION_KEYS if key in session}
    session.clear()
    session.update(kept)
    logout_user()  # after clear(): it leaves the flag that deletes the remember-me cookie
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/reset", methods=["GET", "POST"])
@email_limit
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = accounts.find_user_by_email(form.email.data)
        if user is not None:
            _send_reset(user)
        # The same answer either way, so this form cannot tell who has an account.
        flash(
            _(
                "If an account uses that address, we sent it a link to choose a new password. "
                "Check your inbox."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form), 400 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    max_age = current_app.config["RESET_PASSWORD_MAX_AGE"]
    try:
        accounts.user_for_reset_token(token, max_age)
    except InvalidToken as exc:
        return render_template("auth/reset_problem.html", expired=exc.expired), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data, now_utc(), max_age)
        except InvalidToken as exc:
            return render_template("auth/reset_problem.html", expired=exc.expired), 400
        except InvalidAccountData:
            form.password.errors.append(_("Use between 8 and 128 characters."))
        else:
            flash(_("Your new password is set. Please log in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form), 400 if form.errors else 200


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.locale.data = current_user.locale or current_locale()
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user, form.name.data, form.phone.data, form.locale.data, form.timezone.data
            )
        except InvalidAccountData as exc:
            getattr(form, exc.field).errors.append(_("Please check this value."))
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html",
        form=form,
        timezones=COMMON_TIMEZONES,
    ), 400 if form.errors else 200


@bp.route("/password", methods=["GET", "POST"])
@login_required
@auth_limit
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.password.data)
        except WrongPassword:
            form.current_password.errors.append(_("That is not your current password."))
        except InvalidAccountData:
            form.password.errors.append(_("Use between 8 and 128 characters."))
        else:
            # The session token changed: re-issue this browser's cookies, the others are now void.
            cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            _start_session(current_user._get_current_object(), remember=cookie in request.cookies)
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/change_password.html", form=form), 400 if form.errors else 200
