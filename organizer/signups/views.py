"""Signing up, managing one's own sign-up by an emailed link, and the organizers' roster."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

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
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..forms import show_errors
from ..i18n import current_locale, format_in_zone, zone_city_label
from ..models import Event, Signup, User
from ..models import audit as au
from ..models import signup as st
from ..models.event import STATUS_DRAFT
from ..ratelimits import signup_limit
from ..series import views as series_views
from ..services import attendance as attendance_service
from ..services import audit, notifications
from ..services import shifts as shift_service
from ..services import signups as service
from ..services.errors import AlreadySignedUp, InvalidInput, InvalidTransition, SignupClosed
from ..services.events import managed_event
from ..services.permissions import can_manage_event
from ..web import now_utc, render_error
from .forms import PHONE_RE, AttendanceForm, MessageForm, ShiftSignupForm, SignupForm

bp = Blueprint("signups", __name__)


@bp.app_template_global("signup_status_label")
def status_label(status: str) -> str:
    return {
        st.CONFIRMED: _("Confirmed"),
        st.WAITLISTED: _("Waitlisted"),
        st.PENDING: _("Waiting for approval"),
        st.DECLINED: _("Declined"),
        st.CANCELLED: _("Cancelled"),
    }.get(status, status)


@bp.app_template_global()
def attendance_label(attendance: str | None) -> str:
    return {st.ATTENDED: _("Attended"), st.NO_SHOW: _("No-show")}.get(attendance or "", "")


@bp.app_template_global()
def signup_manage_url(signup: Signup) -> str:
    """Relative link to a volunteer's own sign-up page (for the sign-up box)."""
    return url_for("signups.manage", token=notifications.manage_token(signup))


@dataclass(frozen=True)
class SignupPages:
    """Where a sign-up answers: the site's own pages, or the embed's compact ones.

    `embedded`: the page may sit in another site's frame, where the browser sends no session
    cookie. There the form is always a guest's (no one-click sign-up as a logged-in account: a
    framed button must never act for whoever is logged in), and the view checks the embed's
    own signed token instead of the session's CSRF token. `context` adds what the templates
    need besides the sign-up box (the embed's token and the form's address).
    """

    form: str
    done: str = "signups/done.html"
    shifts_done: str = "signups/shifts_done.html"
    closed: str = "signups/closed.html"
    embedded: bool = False
    context: Callable[[Event], dict] = lambda event: {}

    def volunteer(self) -> User | None:
        """The logged-in volunteer signing up; None for a guest, and always in the embed."""
        if self.embedded or not current_user.is_authenticated:
            return None
        return current_user._get_current_object()

    def render(self, template: str, event: Event, status: int = 200, /, **values):
        return render_template(template, **(values | self.context(event))), status


SITE_PAGES = SignupPages(form="signups/signup.html")


def signup_box_context(
    event: Event, form: SignupForm | None = None, pages: SignupPages = SITE_PAGES
) -> dict:
    """Everything templates/signups/_signup_box.html needs; the action page includes it.

    An action with shifts also gets `shift_counts` (each shift with its counts) and
    `my_shift_signups` (the logged-in volunteer's rows, by shift id).
    """
    volunteer = pages.volunteer()
    counts = service.counts_by_event([event.id])[event.id]
    confirmed = counts.get(st.CONFIRMED, 0)
    shifted = service.has_shifts(counts)
    reason = service.closed_reason(event, now_utc())
    if reason is None and service.full_without_waitlist(event, counts):
        reason = service.CLOSED_FULL
    mine = service.find_shift_signups_for_user(event.id, volunteer) if shifted else []
    form_class = ShiftSignupForm if shifted else SignupForm
    return {
        "event": event,
        "signup_form": form or _prefilled_form(form_class, volunteer, pages),
        "signup_action": url_for("signups.signup", event_id=event.id),
        "signed_in": volunteer is not None,
        "my_signup": service.find_signup_for_user(event.id, volunteer),
        "counts": counts,
        # People, not rows, once someone can hold places in several shifts.
        "confirmed_count": service.confirmed_count(event.id) if shifted else confirmed,
        "places_left": service.places_left_in(event, counts),
        "closed_reason": reason,
        "can_manage": can_manage_event(volunteer, event),
        "shift_counts": shift_service.shift_counts(event.id) if shifted else [],
        "my_shift_signups": {s.shift_id: s for s in mine if s.status != st.CANCELLED},
        # A date of a series also offers "every week" (not with shifts: a shift is chosen).
        "standing_offer": None if shifted else series_views.standing_offer(event),
    }


def _profile_data(user: User) -> dict:
    phone = (user.phone or "").strip()
    return {
        "name": user.name,
        "email": user.email,
        "phone": phone if PHONE_RE.match(phone) else "",
    }


def _form_options(pages: SignupPages) -> dict:
    # The embed's token is checked by its view: the frame has no session to hold WTForms' own.
    return {"meta": {"csrf": False}} if pages.embedded else {}


def _prefilled_form(
    form_class: type[SignupForm], volunteer: User | None, pages: SignupPages
) -> SignupForm:
    data = _profile_data(volunteer) if volunteer is not None else None
    return form_class(formdata=None, data=data, **_form_options(pages))


def _submitted_form(
    form_class: type[SignupForm], volunteer: User | None, pages: SignupPages
) -> SignupForm:
    """A logged-in volunteer's one-click button sends no fields: their profile fills them in."""
    if volunteer is not None and "email" not in request.form:
        data = MultiDict(request.form)
        for key, value in _profile_data(volunteer).items():
            data[key] = value
        return form_class(formdata=data, **_form_options(pages))
    return form_class(**_form_options(pages))


CLOSED_MESSAGES = {
    service.CLOSED_FULL: lambda: _("Sorry, this action is full and has no waitlist."),
    service.CLOSED_PAST: lambda: _("This action is over, so sign-ups are closed."),
    service.CLOSED_CANCELLED: lambda: _("This action was cancelled, so sign-ups are closed."),
}


def render_signup_form(
    event: Event,
    pages: SignupPages,
    form: SignupForm | None = None,
    status: int = 200,
    notice: str | None = None,
):
    """The sign-up form again (or for the first time), with what was typed and its errors."""
    box = signup_box_context(event, form, pages)
    return pages.render(pages.form, event, status, notice=notice, **box)


def refuse_signup(event: Event, pages: SignupPages, notice: str, status: int = 400):
    """The form again with what was typed and why it was refused; nothing is written."""
    form_class = ShiftSignupForm if event.shifts else SignupForm
    form = _submitted_form(form_class, pages.volunteer(), pages)
    return render_signup_form(event, pages, form, status, notice)


@bp.route("/events/<int:event_id>/signup", methods=["GET", "POST"])
@signup_limit
def signup(event_id: int):
    event = db.get_or_404(Event, event_id)
    if event.status == STATUS_DRAFT:
        abort(404)
    if request.method in ("GET", "HEAD"):
        return render_signup_form(event, SITE_PAGES)
    return submit_signup(event, SITE_PAGES)


def submit_signup(event: Event, pages: SignupPages):
    """Sign up with the posted form (the action page's or the embed's) through the sign-ups
    service, email the volunteer, and answer with `pages`."""
    if event.shifts:
        return _signup_for_shifts(event, pages)
    volunteer = pages.volunteer()
    form = _submitted_form(SignupForm, volunteer, pages)
    if not form.validate():
        return render_signup_form(event, pages, form, 400)
    try:
        signup = service.sign_up(
            event.id,
            name=form.name.data,
            email=form.email.data,
            phone=form.phone.data or "",
            now=now_utc(),
            locale=current_locale(),
            user=volunteer,
        )
    except InvalidInput:
        # The organizers added shifts since the page was shown: it now offers them.
        notice = _("This action now has shifts: please choose one or more.")
        return render_signup_form(event, pages, status=409, notice=notice)
    except AlreadySignedUp as exc:
        notifications.notify_signup(exc.signup, repeated=True)  # told to that inbox only
        standing = series_views.start_standing_if_asked(exc.signup, volunteer)
        if service.belongs_to(exc.signup, volunteer):
            return _done_page(exc.signup, pages, outcome="already", standing=standing)
        outcome = service.outcome_shown_to_guest(exc.signup)
        return _done_page(exc.signup, pages, outcome=outcome, standing=standing)
    except SignupClosed as exc:
        return _closed_page(event, pages, exc)
    notifications.notify_signup(signup)
    standing = series_views.start_standing_if_asked(signup, volunteer)
    return _done_page(signup, pages, outcome=signup.status, standing=standing)


def _closed_page(event: Event, pages: SignupPages, closed: SignupClosed):
    if closed.reason == service.CLOSED_NOT_PUBLISHED:
        abort(404)
    message = CLOSED_MESSAGES[closed.reason]()
    return pages.render(pages.closed, event, 409, event=event, message=message)


def _signup_for_shifts(event: Event, pages: SignupPages):
    """The same for an action with shifts: a row per chosen shift, one email listing them."""
    volunteer = pages.volunteer()
    form = _submitted_form(ShiftSignupForm, volunteer, pages)
    if not form.validate():
        return render_signup_form(event, pages, form, 400)
    try:
        result = service.sign_up_for_shifts(
            event.id,
            form.shifts.data,
            name=form.name.data,
            email=form.email.data,
            phone=form.phone.data or "",
            now=now_utc(),
            locale=current_locale(),
            user=volunteer,
        )
    except InvalidInput as error:
        show_errors(form, error)
        return render_signup_form(event, pages, form, 400)
    except service.ShiftFull as full:
        message = _("Sorry, “%(name)s” is full and there is no waitlist.", name=full.shift.name)
        form.shifts.errors = [message]
        return render_signup_form(event, pages, form, 409)
    except SignupClosed as exc:
        return _closed_page(event, pages, exc)
    repeated = not result.new
    notifications.notify_shift_signup(result.signups, repeated=repeated)  # to that inbox only
    # As for one sign-up, a guest's page never tells whether the address was already in.
    known = service.belongs_to(result.signups[0], volunteer)
    new = {s.id for s in result.new}
    rows = [
        (s, s.status if known or s.id in new else service.outcome_shown_to_guest(s))
        for s in result.signups
    ]
    return pages.render(
        pages.shifts_done,
        event,
        event=event,
        rows=[(s, outcome, service.waitlist_position(s)) for s, outcome in rows],
        already=repeated and known,
        email=result.signups[0].email,
        place_in_email=any(service.can_see_location(event, s, now_utc()) for s in result.signups),
    )


def _done_page(signup: Signup, pages: SignupPages, outcome: str, standing: str | None = None):
    return pages.render(
        pages.done,
        signup.event,
        event=signup.event,
        outcome=outcome,
        standing=standing,
        email=signup.email,
        position=service.waitlist_position(signup),
        place_in_email=service.can_see_location(signup.event, signup, now_utc()),
    )


# --- the volunteer's own page, reached by the signed link in their emails ---------------------


def _signup_from_token(token: str) -> Signup:
    signup = notifications.signup_from_token(token)
    if signup is None:
        message = _(
            "This sign-up link is not valid. Please use the link from your latest "
            "email, or sign up again from the action's page."
        )
        abort(make_response(*render_error(404, message)))
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
    # A sign-up to shifts shows all of this address's shifts: one inbox holds all their links.
    shift_signups = service.shift_signups_like(signup)
    html = render_template(
        "signups/manage.html",
        signup=signup,
        event=event,
        token=token,
        show_place=any(service.can_see_location(event, s, now) for s in shift_signups or [signup]),
        reveal_at=event.reveal_at(),
        position=service.waitlist_position(signup),
        shift_signups=[(s, service.waitlist_position(s)) for s in shift_signups],
    )
    return _private(html)


def _chosen_shift_signup(signup: Signup) -> Signup:
    """The sign-up a cancel button names (`signup`: another shift of the same address for
    the same action), or the link's own; 404 for anything else."""
    chosen = request.form.get("signup")
    if chosen is None or chosen == str(signup.id):
        return signup
    for other in service.shift_signups_like(signup):
        if str(other.id) == chosen:
            return other
    abort(404)


@bp.post("/signups/<token>/cancel")
def cancel(token: str):
    signup = _chosen_shift_signup(_signup_from_token(token))
    try:
        change = service.cancel(signup.id, now_utc())
    except InvalidTransition as error:
        if error.state == st.CANCELLED:
            flash(_("Your sign-up was already cancelled."), "info")
        else:
            flash(_("This sign-up can no longer be cancelled."), "error")
    else:
        notifications.notify_promoted(change.promoted)
        flash(_("Your sign-up is cancelled. Thank you for letting the organizers know."), "success")
    return redirect(url_for("signups.manage", token=token))


# --- organizer tools ---------------------------------------------------------------------------


def _roster_signup(event_id: int, signup_id: int) -> tuple[Event, Signup]:
    event = managed_event(event_id, current_user)
    return event, service.signup_on(event, signup_id)


def _back_to_roster(signup: Signup):
    """The roster again, at the row just changed, with the search that found it."""
    q = (request.form.get("q") or "").strip()[:100] or None
    anchor = f"signup-{signup.id}"
    return redirect(url_for("signups.roster", event_id=signup.event_id, q=q, _anchor=anchor))


@bp.get("/events/<int:event_id>/roster")
@login_required
def roster(event_id: int):
    event = managed_event(event_id, current_user)
    q = (request.args.get("q") or "").strip()[:100]
    counts = service.counts_by_event([event.id])[event.id]
    html = render_template(
        "signups/roster.html",
        event=event,
        signups=service.roster(event.id, q),
        counts=counts,
        shift_counts={
            c.shift.id: c
            for c in (shift_service.shift_counts(event.id) if service.has_shifts(counts) else [])
        },
        statuses=st.STATUSES,
        q=q,
        attendance=attendance_service.attendance_counts([event], now_utc())[event.id],
    )
    audit.record_access(event, current_user, au.ROSTER_VIEWED, now_utc())  # once rendered
    return _private(html)


@bp.post("/events/<int:event_id>/signups/<int:signup_id>/approve")
@login_required
def approve(event_id: int, signup_id: int):
    _event, signup = _roster_signup(event_id, signup_id)
    try:
        change = service.approve(signup.id, now_utc())
    except InvalidTransition:
        flash(_("Only a pending or declined request can be approved."), "error")
    except SignupClosed as closed:
        if isinstance(closed, service.ShiftFull):
            message = _(
                "This shift is full and the action has no waitlist. Give it more places first."
            )
            flash(message, "error")
        elif closed.reason == service.CLOSED_FULL:
            flash(_("The action is full and has no waitlist. Raise the capacity first."), "error")
        else:
            flash(_("This action is cancelled, over or unpublished: nobody can join it."), "error")
    else:
        notifications.notify_approved(change.signup)
        if change.signup.status == st.WAITLISTED:
            flash(_("Approved. The action is full, so they are on the waitlist."), "success")
        else:
            flash(_("Approved. We emailed the volunteer."), "success")
    return _back_to_roster(signup)


@bp.post("/events/<int:event_id>/signups/<int:signup_id>/decline")
@login_required
def decline(event_id: int, signup_id: int):
    _event, signup = _roster_signup(event_id, signup_id)
    try:
        change = service.decline(signup.id, now_utc())
    except InvalidTransition:
        flash(_("This sign-up is already declined or cancelled."), "error")
    else:
        notifications.notify_declined(change.signup)
        notifications.notify_promoted(change.promoted)
        flash(_("Declined. We emailed the volunteer."), "success")
    return _back_to_roster(signup)


@bp.post("/events/<int:event_id>/signups/<int:signup_id>/attendance")
@login_required
def attendance(event_id: int, signup_id: int):
    _event, signup = _roster_signup(event_id, signup_id)
    form = AttendanceForm()
    if not form.validate_on_submit():
        abort(400)
    value = None if form.value.data == "clear" else form.value.data
    try:
        service.set_attendance(signup, value, now_utc())
    except InvalidTransition:
        flash(_("Only confirmed volunteers can be checked in."), "error")
    return _back_to_roster(signup)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    """Spreadsheets run cells that start like a formula; a leading quote makes them text."""
    value = value or ""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _roster_csv(event: Event, signups: list[Signup]) -> str:
    """The roster as a spreadsheet, times on the action's clock; a BOM so Excel reads UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    shifted = bool(event.shifts) or any(s.shift_id for s in signups)
    writer.writerow(
        [
            _("Name"),
            _("Email"),
            _("Phone"),
            *([_("Shift")] if shifted else []),
            _("Status"),
            _("Signed up at (%(zone)s)", zone=zone_city_label(event.timezone)),
            _("Attendance"),
        ]
    )
    for signup in signups:
        row = [
            signup.name,
            "" if signup.anonymized else signup.email,
            signup.phone,
            *([signup.shift.name if signup.shift else ""] if shifted else []),
            status_label(signup.status),
            format_in_zone(signup.created_at, event.timezone, "yyyy-MM-dd HH:mm"),
            attendance_label(signup.attendance),
        ]
        writer.writerow([_csv_cell(cell) for cell in row])
    return "\ufeff" + out.getvalue()


@bp.get("/events/<int:event_id>/roster.csv")
@login_required
def export_csv(event_id: int):
    event = managed_event(event_id, current_user)
    signups = service.roster(event.id)
    body = _roster_csv(event, signups)
    audit.record_access(event, current_user, au.ROSTER_EXPORTED, now_utc(), {"rows": len(signups)})
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="action-{event_id}-roster.csv"'
    return _private(response)


@bp.route("/events/<int:event_id>/message", methods=["GET", "POST"])
@login_required
def message(event_id: int):
    event = managed_event(event_id, current_user)
    form = MessageForm()
    recipients = service.confirmed_count(event.id)
    if form.validate_on_submit():
        if recipients == 0:
            flash(_("Nobody is confirmed yet, so there is nobody to write to."), "error")
            return redirect(url_for("signups.message", event_id=event.id))
        sent = notifications.message_volunteers(event, form.subject.data, form.body.data)
        audit.record_message(event, current_user, form.subject.data, recipients, sent, now_utc())
        flash(*_sent_message(sent, recipients))
        return redirect(url_for("signups.roster", event_id=event.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "signups/message.html", event=event, form=form, recipients=recipients
    ), status


def _sent_message(sent: int, recipients: int) -> tuple[str, str]:
    if sent < recipients:
        message = _(
            "Sent %(sent)d of %(total)d emails. The mail server refused the rest; "
            "please try again later.",
            sent=sent,
            total=recipients,
        )
        return message, "error"
    message = ngettext(
        "Sent to %(num)d confirmed volunteer.", "Sent to %(num)d confirmed volunteers.", sent
    )
    return message, "success"
