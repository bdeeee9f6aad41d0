"""Privacy pages: a volunteer's data to download or delete, with an account or as a guest."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from ..forms import ConfirmForm
from ..i18n import current_locale
from ..ratelimits import email_limit
from ..services import privacy
from ..services.errors import WrongPassword
from ..tokens import InvalidToken
from ..web import now_utc, render_error
from .forms import DeleteAccountForm, GuestDataForm
from .views import bp as me_bp

bp = Blueprint("privacy", __name__, cli_group=None)


def private(response) -> Response:
    """Personal data or a secret link: never cached, never sent on as a referrer."""
    response = make_response(response)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def json_download(data: dict) -> Response:
    response = Response(privacy.to_json(data), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="organizer-my-data.json"'
    return private(response)


# --- with an account (under /me) ---------------------------------------------------------------


def data_page(form: DeleteAccountForm | None = None, status: int = 200, owned=()):
    return private(
        (
            render_template(
                "me/data.html",
                form=form or DeleteAccountForm(),
                last_owned=owned or privacy.last_owned(current_user),
            ),
            status,
        )
    )


@me_bp.get("/data")
@login_required
def my_data():
    return data_page()


@me_bp.get("/data.json")
@login_required
def my_data_json():
    return json_download(privacy.export_user(current_user, now_utc()))


@me_bp.post("/delete")
@login_required
def delete_account():
    form = DeleteAccountForm()
    if not form.validate():
        return data_page(form, 400)
    user = current_user._get_current_object()
    try:
        erased = privacy.delete_account(user, form.password.data, now_utc())
    except WrongPassword:
        form.password.errors = [_("That password is not right.")]
        return data_page(form, 400)
    except privacy.LastOwner as exc:
        return data_page(form, 409, exc.organizations)
    logout_user()
    flash(_("Your account and your personal data were deleted. Goodbye, and thank you."), "success")
    if erased.cancelled:
        flash(_("Your coming sign-ups were cancelled, so others can take your places."), "info")
    return redirect(url_for("main.home"))


# --- a guest, by a link sent to their address (under /privacy) ----------------------------------


@bp.route("/guest", methods=["GET", "POST"])
@email_limit
def guest():
    """Ask for the link to one's data: the same answer, in the same time, whether or not the
    address is known (the email goes out after the page, so its sending can't be timed)."""
    form = GuestDataForm()
    if not form.is_submitted():
        return render_template("privacy/request.html", form=form)
    if not form.validate():
        return render_template("privacy/request.html", form=form), 400
    response = private(render_template("privacy/sent.html", email=form.email.data))
    address, locale = form.email.data, current_locale()
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def send_link() -> None:
        with app.app_context():
            privacy.send_guest_link(address, locale)

    response.call_on_close(send_link)
    return response


def _address(token: str) -> str:
    try:
        return privacy.address_from_token(token)
    except InvalidToken as exc:
        if exc.expired:
            message = _("This link has expired. Please ask for a new one.")
        else:
            message = _("This link is not valid. Please use the link from your latest email.")
        abort(private(render_error(404, message)))


@bp.get("/guest/<token>")
def guest_data(token: str):
    address = _address(token)
    return private(
        render_template(
            "privacy/guest.html",
            token=token,
            email=address,
            holds_data=privacy.holds_data(address),
            form=ConfirmForm(),
        )
    )


@bp.get("/guest/<token>/data.json")
def guest_data_json(token: str):
    return json_download(privacy.export_guest(_address(token), now_utc()))


@bp.post("/guest/<token>/delete")
def guest_delete(token: str):
    address = _address(token)
    form = ConfirmForm()
    if not form.validate():
        abort(400)
    privacy.delete_guest_data(address, now_utc())
    flash(_("Your personal data was deleted."), "success")
    return private(redirect(url_for("privacy.guest_data", token=token)))
