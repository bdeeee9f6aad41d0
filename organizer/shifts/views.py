"""The organizers' page for an action's shifts or roles: add, edit, reorder, delete."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..forms import show_errors
from ..i18n import format_in_zone
from ..models import Event, Shift
from ..services import notifications
from ..services import shifts as service
from ..services.errors import InvalidInput, InvalidTransition
from ..services.events import managed_event
from ..web import now_utc
from .forms import DeleteShiftForm, MoveForm, ShiftForm, form_data_for

bp = Blueprint("shifts", __name__)


@bp.app_template_global()
def shift_when(shift: Shift) -> str:
    """'08:00–12:00' on the action's clock, with the day when it is not the action's first."""
    if shift.starts_at is None or shift.ends_at is None:
        return ""
    event = shift.event
    zone = event.tz
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    tz = event.timezone
    if start.date() == end.date():
        until = format_in_zone(end, tz, "HH:mm")
        if start.date() == event.local_start.date():
            return f"{format_in_zone(start, tz, 'HH:mm')}–{until}"
        return f"{format_in_zone(start, tz, 'short')}–{until}"
    return f"{format_in_zone(start, tz, 'short')} – {format_in_zone(end, tz, 'short')}"


def _page(event: Event, form: ShiftForm, status: int = 200):
    return render_template(
        "shifts/index.html",
        event=event,
        locked=service.locked_reason(event, now_utc()),
        shifts=service.shift_counts(event.id),
        form=form,
        move_form=MoveForm(),
        delete_form=DeleteShiftForm(),
    ), status


def _back(event: Event, anchor: str | None = None):
    return redirect(url_for("shifts.index", event_id=event.id, _anchor=anchor))


def _refused(event: Event, reason: str):
    """Back to the list, saying why nothing changed: the action is cancelled or over."""
    if reason == service.PAST:
        flash(_("This action is over: its shifts can no longer be changed."), "error")
    else:
        flash(_("A cancelled action can no longer be changed."), "error")
    return _back(event)


def _counts(event: Event, shift: Shift) -> service.ShiftCount:
    """The shift's counts; 404 if it was deleted meanwhile."""
    counts = next((c for c in service.shift_counts(event.id) if c.shift.id == shift.id), None)
    if counts is None:
        abort(404)
    return counts


@bp.get("/events/<int:event_id>/shifts")
@login_required
def index(event_id: int):
    event = managed_event(event_id, current_user)
    return _page(event, ShiftForm(event=event, formdata=None))


@bp.post("/events/<int:event_id>/shifts")
@login_required
def add(event_id: int):
    event = managed_event(event_id, current_user)
    form = ShiftForm(event=event)
    if not form.validate():
        return _page(event, form, 400)
    try:
        shift = service.add_shift(event, form.to_data(), now_utc())
    except InvalidTransition as refused:
        return _refused(event, refused.state)
    except InvalidInput as error:
        show_errors(form, error)
        return _page(event, form, 400)
    flash(_("The shift “%(name)s” is added.", name=shift.name), "success")
    return _back(event, f"shift-{shift.id}")


@bp.route("/events/<int:event_id>/shifts/<int:shift_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int, shift_id: int):
    event = managed_event(event_id, current_user)
    shift = service.shift_on(event, shift_id)
    if reason := service.locked_reason(event, now_utc()):
        return _refused(event, reason)
    form = ShiftForm(event=event, data=form_data_for(shift) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            promoted = service.update_shift(event, shift.id, form.to_data(), now_utc())
        except InvalidTransition as refused:
            return _refused(event, refused.state)
        except InvalidInput as error:
            show_errors(form, error)
        else:
            notifications.notify_promoted(promoted)
            flash(_edit_message(len(promoted)), "success")
            return _back(event, f"shift-{shift.id}")
    status = 400 if form.is_submitted() else 200
    return render_template("shifts/edit.html", event=event, shift=shift, form=form), status


def _edit_message(promoted: int) -> str:
    message = _("Your changes are saved.")
    if promoted:
        message += " " + ngettext(
            "%(num)d volunteer moved up from the waitlist.",
            "%(num)d volunteers moved up from the waitlist.",
            promoted,
        )
    return message


@bp.post("/events/<int:event_id>/shifts/<int:shift_id>/move")
@login_required
def move(event_id: int, shift_id: int):
    event = managed_event(event_id, current_user)
    form = MoveForm()
    if not form.validate():
        abort(400)
    try:
        service.move_shift(event, shift_id, -1 if form.direction.data == "up" else 1, now_utc())
    except InvalidTransition as refused:
        return _refused(event, refused.state)
    return _back(event, f"shift-{shift_id}")


@bp.route("/events/<int:event_id>/shifts/<int:shift_id>/delete", methods=["GET", "POST"])
@login_required
def delete(event_id: int, shift_id: int):
    event = managed_event(event_id, current_user)
    shift = service.shift_on(event, shift_id)
    if reason := service.locked_reason(event, now_utc()):
        return _refused(event, reason)
    form = DeleteShiftForm()
    counts = _counts(event, shift)
    if form.validate_on_submit():
        try:
            deleted = service.delete_shift(
                event, shift.id, now_utc(), cancel_signups=bool(form.cancel_signups.data)
            )
        except service.ShiftInUse:
            # Someone signed up since the page was shown, or the box was left unticked.
            form.cancel_signups.errors = [
                _("Volunteers are signed up for this shift: tick the box to cancel their sign-ups.")
            ]
            counts = _counts(event, shift)
        except InvalidTransition as refused:
            return _refused(event, refused.state)
        else:
            flash(_deleted_message(deleted), "success")
            return _back(event)
    status = 409 if form.is_submitted() else 200
    return render_template(
        "shifts/delete.html", event=event, shift=shift, form=form, counts=counts
    ), status


def _deleted_message(deleted: service.DeletedShift) -> str:
    message = _("The shift “%(name)s” is deleted.", name=deleted.name)
    if deleted.cancelled:
        message += " " + ngettext(
            "%(num)d sign-up was cancelled and the volunteer emailed.",
            "%(num)d sign-ups were cancelled and the volunteers emailed.",
            deleted.cancelled,
        )
    return message
