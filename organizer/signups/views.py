"""Signing up, managing one's own sign-up by an emailed link, and the organizers' roster."""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import case, or_, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..i18n import current_locale, format_in_zone, zone_label
from ..models import Event, EventHost, Signup
from ..models import signup as st
from ..models.event import STATUS_DRAFT
from ..services import notifications
from ..services import signups as service
from ..services.errors import AlreadySignedUp, InvalidTransition, SignupClosed
from ..services.permissions import can_manage_event
from ..tokens import InvalidToken, read_token
from ..web import now_utc, render_error
from .forms import PHONE_RE, AttendanceForm, ButtonForm, MessageForm, SignupForm

bp = Blueprint("signups", __name__)

STATUS_ORDER = (st.CONFIRMED, st.PENDING, st.WAITLISTED, st.DECLINED, st.CANCELLED)


def status_label(status: str) -> str:
    return {
        st.CONFIRMED: _("Confirmed"),
        st.WAITLISTED: _("Waitlisted"),
        st.PENDING: _("Waiting for approval"),
        st.DECLINED: _("Declined"),
        st.CANCELLED: _("Cancelled"),
    }.get(status, status)


def attendance_label(attendance: str | None) -> str:
    return {st.ATTENDED: _("Attended"), st.NO_SHOW: _("No-show")}.get(attendance or "", "")


@bp.app_template_global()
def signup_manage_url(signup: Signup) -> str:
    """Relative link to a volunteer's own sign-up page (for the sign-up box)."""
    return url_for("signups.manage", token=notifications.manage_token(signup))


bp.add_app_template_global(status_label, "signup_status_label")
bp.add_app_template_global(attendance_label, "attendance_label")


def signup_box_context(event: Event, form: SignupForm | None = None) -> dict:
    """Everything templates/signups/_signup_box.html needs; the action page includes it."""
    now = now_utc()
    confirmed = service.confirmed_count(event.id)
    return {
        "event": event,
        "signup_form": form or _prefilled_form(),
        "my_signup": service.find_signup_for_user(event.id, current_user),
        "places_left": service.places_left(event, confirmed),
        "closed_reason": service.closed_reason(event, now, confirmed),
        "can_manage": can_manage_event(current_user, event),
        "confirmed_count": confirmed,
    }


def _profile_data() -> dict:
    phone = (current_user.phone or "").strip()
    return {
        "name": current_user.name,
        "email": current_user.email,
        "phone": phone if PHONE_RE.match(phone) else "",
    }


def _prefilled_form() -> SignupForm:
    if current_user.is_authenticated:
        return SignupForm(formdata=None, data=_profile_data())
    return SignupForm(formdata=None)


def _submitted_form() -> SignupForm:
    """A logged-in volunteer's one-click button sends no fields: their profile fills them in."""
    if current_user.is_authenticated and "email" not in request.form:
        data = MultiDict(request.form)
        for key, value in _profile_data().items():
            data[key] = value
        return SignupForm(formdata=data)
    return SignupForm()


def _open_event_or_404(event_id: int) -> Event:
    event = db.get_or_404(Event, event_id)
    if event.status == STATUS_DRAFT:
        abort(404)
    return event


CLOSED_MESSAGES = {
    service.CLOSED_FULL: lambda: _("Sorry, this action is full and has no waitlist."),
    service.CLOSED_PAST: lambda: _("This action is over, so sign-ups are closed."),
    service.CLOSED_CANCELLED: lambda: _("This action was cancelled, so sign-ups are closed."),
}


@bp.route("/events/<int:event_id>/signup", methods=["GET", "POST"])
def signup(event_id: int):
    event = _open_event_or_404(event_id)
    if request.method == "GET":
        return render_template("signups/signup.html", **signup_box_context(event))
    form = _submitted_form()
    if not form.validate():
        return render_template("signups/signup.html", **signup_box_context(event, form)), 400
    email = service.normalize_email(form.email.data)
    user = current_user if current_user.is_authenticated else None
    if user is not None and email != user.email.strip().lower():
        user = None  # signing someone else up: not linked to this account
    try:
        signup = service.sign_up(
            event.id,
            name=form.name.data,
            email=email,
            phone=form.phone.data or "",
            now=now_utc(),
            locale=current_locale(),
            user=user,
        )
    except AlreadySignedUp as exc:
        notifications.notify_signup(exc.signup)  # the manage link again, to that inbox only
        return render_template("signups/done.html", event=event, outcome="already", email=email)
    except SignupClosed as exc:
        if exc.reason == service.CLOSED_NOT_PUBLISHED:
            abort(404)
        message = CLOSED_MESSAGES[exc.reason]()
        return render_template("signups/closed.html", event=event, message=message), 409
    notifications.notify_signup(signup)
    return render_template(
        "signups/done.html",
        event=event,
        outcome=signup.status,
        email=email,
        position=service.waitlist_position(signup),
        place_in_email=service.can_see_location(event, signup, now_utc()),
    )


# --- the volunteer's own page, reached by the signed link in their emails ---------------------


def _signup_from_token(token: str) -> Signup:
    try:
        signup_id = read_token(notifications.MANAGE_PURPOSE, token)
    except InvalidToken:
        signup_id = None
    signup = db.session.get(Signup, signup_id) if isinstance(signup_id, int) else None
    if signup is None:
        abort(
            make_response(
                *render_error(
                    404,
                    _(
                        "This sign-up link is not valid. Please use the link from your latest "
                        "email, or sign up again from the action's page."
                    ),
                )
            )
        )
    return signup


def _private(response):
    """Pages with personal data or a secret link: never cached, never sent on as a referrer."""
    response = Response(response) if isinstance(response, str) else response
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/signups/<token>")
def manage(token: str):
    signup = _signup_from_token(token)
    event = signup.event
    now = now_utc()
    html = render_template(
        "signups/manage.html",
        signup=signup,
        event=event,
        token=token,
        form=ButtonForm(),
        show_place=service.can_see_location(event, signup, now),
        reveal_at=event.reveal_at(),
        position=service.waitlist_position(signup),
    )
    return _private(html)


@bp.post("/signups/<token>/cancel")
def cancel(token: str):
    signup = _signup_from_token(token)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if signup.status == st.CANCELLED:
        flash(_("Your sign-up was already cancelled."), "info")
        return redirect(url_for("signups.manage", token=token))
    try:
        change = service.cancel(signup.id, now_utc())
    except InvalidTransition:
        flash(_("This sign-up can no longer be cancelled."), "error")
        return redirect(url_for("signups.manage", token=token))
    notifications.notify_promoted(change.promoted)
    flash(_("Your sign-up is cancelled. Thank you for letting the organizers know."), "success")
    return redirect(url_for("signups.manage", token=token))


# --- organizer tools ---------------------------------------------------------------------------


def _managed_event(event_id: int) -> Event:
    event = db.session.scalar(
        select(Event)
        .where(Event.id == event_id)
        .options(
            joinedload(Event.organization),
            selectinload(Event.cohosts).selectinload(EventHost.organization),
        )
    )
    if event is None:
        abort(404)
    if not can_manage_event(current_user, event):
        abort(403)
    return event


def _event_signup(event: Event, signup_id: int) -> Signup:
    signup = db.session.get(Signup, signup_id)
    if signup is None or signup.event_id != event.id:
        abort(404)
    return signup


def _back_to_roster(event: Event, signup: Signup | None = None):
    q = (request.form.get("q") or "").strip()[:100]
    anchor = f"signup-{signup.id}" if signup is not None else None
    return redirect(url_for("signups.roster", event_id=event.id, q=q or None, _anchor=anchor))


def _roster_signups(event: Event, q: str = "") -> list[Signup]:
    """Everyone on the roster in one query: confirmed first, each group in waitlist order."""
    order = case({status: i for i, status in enumerate(STATUS_ORDER)}, value=Signup.status)
    query = select(Signup).where(Signup.event_id == event.id)
    if q:
        query = query.where(
            or_(
                Signup.name.icontains(q, autoescape=True),
                Signup.email.icontains(q, autoescape=True),
            )
        )
    return list(db.session.scalars(query.order_by(order, Signup.queued_at, Signup.id)))


@bp.get("/events/<int:event_id>/roster")
@login_required
def roster(event_id: int):
    event = _managed_event(event_id)
    q = (request.args.get("q") or "").strip()[:100]
    signups = _roster_signups(event, q)
    counts = service.counts_by_event([event.id])[event.id]
    html = render_template(
        "signups/roster.html",
        event=event,
        signups=signups,
        counts=counts,
        statuses=STATUS_ORDER,
        q=q,
        form=ButtonForm(),
        zone=zone_label(event.timezone, event.starts_at),
    )
    return _private(html)


@bp.post("/events/<int:event_id>/signups/<int:signup_id>/approve")
@login_required
def approve(event_id: int, signup_id: int):
    event = _managed_event(event_id)
    signup = _event_signup(event, signup_id)
    try:
        change = service.approve(signup.id, now_utc())
    except InvalidTransition:
        flash(_("Only a pending or declined request can be approved."), "error")
        return _back_to_roster(event, signup)
    except SignupClosed:
        flash(_("The action is full and has no waitlist. Raise the capacity first."), "error")
        return _back_to_roster(event, signup)
    notifications.notify_approved(change.signup)
    if change.signup.status == st.WAITLISTED:
        flash(_("Approved. The action is full, so they are on the waitlist."), "success")
    else:
        flash(_("Approved. We emailed the volunteer."), "success")
    return _back_to_roster(event, signup)


@bp.post("/events/<int:event_id>/signups/<int:signup_id>/decline")
@login_required
def decline(event_id: int, signup_id: int):
    event = _managed_event(event_id)
    signup = _event_signup(event, signup_id)
    try:
        change = service.decline(signup.id, now_utc())
    except InvalidTransition:
        flash(_("This sign-up is already declined or cancelled."), "error")
        return _back_to_roster(event, signup)
    notifications.notify_declined(change.signup)
    notifications.notify_promoted(change.promoted)
    flash(_("Declined. We emailed the volunteer."), "success")
    return _back_to_roster(event, signup)


@bp.post("/events/<int:event_id>/signups/<int:signup_id>/attendance")
@login_required
def attendance(event_id: int, signup_id: int):
    event = _managed_event(event_id)
    signup = _event_signup(event, signup_id)
    form = AttendanceForm()
    if not form.validate_on_submit():
        abort(400)
    value = None if form.value.data == "clear" else form.value.data
    try:
        service.set_attendance(signup, value, now_utc())
    except InvalidTransition:
        flash(_("Only confirmed volunteers can be checked in."), "error")
    return _back_to_roster(event, signup)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    """Spreadsheets run cells that start like a formula; a leading quote makes them text."""
    value = value or ""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


@bp.get("/events/<int:event_id>/roster.csv")
@login_required
def export_csv(event_id: int):
    event = _managed_event(event_id)
    signups = _roster_signups(event)
    out = io.StringIO()
    writer = csv.writer(out)
    zone = zone_label(event.timezone, event.starts_at)
    writer.writerow(
        [
            _("Name"),
            _("Email"),
            _("Phone"),
            _("Status"),
            _("Signed up at (%(zone)s)", zone=zone),
            _("Attendance"),
        ]
    )
    for signup in signups:
        row = [
            signup.name,
            signup.email,
            signup.phone,
            status_label(signup.status),
            format_in_zone(signup.created_at, event.timezone, "yyyy-MM-dd HH:mm"),
            attendance_label(signup.attendance),
        ]
        writer.writerow([_csv_cell(cell) for cell in row])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="action-{event.id}-roster.csv"'
    return _private(response)


@bp.route("/events/<int:event_id>/message", methods=["GET", "POST"])
@login_required
def message(event_id: int):
    event = _managed_event(event_id)
    form = MessageForm()
    recipients = service.counts_by_event([event.id])[event.id].get(st.CONFIRMED, 0)
    if form.validate_on_submit():
        if recipients == 0:
            flash(_("Nobody is confirmed yet, so there is nobody to write to."), "error")
            return redirect(url_for("signups.message", event_id=event.id))
        sent = notifications.message_volunteers(event, form.subject.data, form.body.data)
        if sent < recipients:
            flash(
                _(
                    "Sent %(sent)d of %(total)d emails. The mail server refused the rest; "
                    "please try again later.",
                    sent=sent,
                    total=recipients,
                ),
                "error",
            )
        else:
            flash(
                ngettext(
                    "Sent to %(num)d confirmed volunteer.",
                    "Sent to %(num)d confirmed volunteers.",
                    sent,
                ),
                "success",
            )
        return redirect(url_for("signups.roster", event_id=event.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "signups/message.html", event=event, form=form, recipients=recipients
    ), status
