"""Actions: the public listing and page, the calendar file, and the organizers' editing pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..forms import one_line, show_errors
from ..i18n import select_timezone
from ..ics import calendar_for, calendar_response
from ..models.event import STATUS_DRAFT
from ..series.views import series_context
from ..services import events as service
from ..services import orgs, permissions
from ..services import series as series_service
from ..services import signups as signup_service
from ..services.errors import InvalidInput, InvalidTransition
from ..signups.embed import embed_snippet
from ..signups.views import signup_box_context
from ..web import absolute_url, now_utc
from . import display
from .forms import CancelForm, EventForm, filter_args, form_data_for, page_number, parse_filters
from .repeat_form import repeat_data

bp = Blueprint("events", __name__)

bp.add_app_template_global(display.availability, "event_availability")
bp.add_app_template_global(display.place_text, "place_text")
bp.add_app_template_global(display.public_place_html, "public_place_html")


# --- public ----------------------------------------------------------------------------------


@bp.get("/")
def index():
    filters, notes = parse_filters(request.args, select_timezone())
    per_page = current_app.config["EVENTS_PER_PAGE"]
    page = service.search_events(filters, now_utc(), page_number(request.args), per_page)
    return render_template(
        "events/index.html",
        page=page,
        filters=filters,
        notes=notes,
        args=filter_args(request.args),
        organizations=orgs.organization_choices(),
    )


@bp.get("/<int:event_id>")
def detail(event_id: int):
    event = service.visible_event(event_id, current_user)
    box = signup_box_context(event)
    # The hidden place itself is only in the volunteer's email and on their own sign-up page;
    # here a confirmed volunteer gets a link there, so this page stays the same for everyone.
    can_manage = box["can_manage"]
    place_on_my_page = not can_manage and signup_service.can_see_location(
        event, box["my_signup"], now_utc()
    )
    return render_template(
        "events/detail.html",
        **box,
        **series_context(event, now_utc()),
        show_location=can_manage or not event.location_hidden,
        place_on_my_page=place_on_my_page,
        share_url=absolute_url(".detail", event_id=event.id),
        embed_snippet=embed_snippet(event),
    )


@bp.get("/<int:event_id>.ics")
def ics(event_id: int):
    event = service.load_event(event_id)
    if event is None or event.status == STATUS_DRAFT:
        abort(404)
    # The public file never carries a hidden place: volunteers get theirs by email.
    body = calendar_for([event], now_utc(), reveal_location=False)
    return calendar_response(body, f"action-{event.id}.ics")


# --- organizers ------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    slug = (one_line(request.args.get("org")) or "")[:64]
    if not slug:
        organizations = orgs.hosts_for(current_user)
        if len(organizations) == 1:
            return redirect(url_for(".new", org=organizations[0].slug))
        return render_template("events/choose_org.html", organizations=organizations)
    org = orgs.organization_for(current_user, slug)
    now = now_utc()
    form = EventForm(organization=org, timezone=org.timezone, now=now)
    if form.validate_on_submit():
        try:
            author = current_user._get_current_object()
            rule = form.repeat_rule()
            event = service.create_event(org, author, form.to_data(), now)
            hosts = service.set_cohosts(event, form.cohost_slugs(), author, now)
            if rule is not None:
                series_service.create_series(event, rule, now)
        except InvalidInput as error:
            show_errors(form, error)
        else:
            flash(_("Saved as a draft. Check it, then publish it when you're ready."), "success")
            if rule is not None:
                flash(_("It repeats: its coming dates are drafts too, published with it."), "info")
            _flash_cohosts(hosts)
            return redirect(url_for(".detail", event_id=event.id))
    status = 400 if form.is_submitted() else 200
    return render_template("events/form.html", form=form, org=org, event=None), status


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int):
    event = service.managed_event(event_id, current_user)
    if event.is_cancelled:
        flash(_("A cancelled action can no longer be edited."), "error")
        return redirect(url_for(".detail", event_id=event.id))
    now = now_utc()
    form = EventForm(
        data=form_data_for(event) | repeat_data(event.series) if request.method == "GET" else None,
        organization=event.organization,
        timezone=event.timezone,
        now=now,
        original_start=event.starts_at,
        can_choose_cohosts=permissions.can_change_cohosts(current_user, event),
    )
    form.use_series(event.series)
    if form.validate_on_submit():
        try:
            any_change, message = _save_edit(event, form, now)
            user = current_user._get_current_object()
            hosts = service.set_cohosts(event, form.cohost_slugs(), user, now)
        except InvalidInput as error:
            show_errors(form, error)
        except InvalidTransition:
            flash(_("This series has ended: edit its dates one by one."), "error")
            return redirect(url_for(".detail", event_id=event.id))
        else:
            if any_change or not hosts.any:
                flash(message, "success")
            _flash_cohosts(hosts)
            return redirect(url_for(".detail", event_id=event.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "events/form.html", form=form, org=event.organization, event=event
    ), status


def _save_edit(event, form: EventForm, now) -> tuple[bool, str]:
    """Save the form (services.series.save_edit decides what it applies to). Returns whether
    anything changed, and what to tell the organizer."""
    saved = series_service.save_edit(event, form.to_data(), form.repeat_spec(), form.scope, now)
    if saved.series_edit is not None:
        return saved.any, _series_edit_message(saved.series_edit)
    message = _edit_message(saved.changes)
    if saved.started is not None:
        started = _("It repeats now: its coming dates are saved.")
        message = f"{message} {started}" if saved.changes.any else started
    return saved.any, message


def _series_edit_message(edit: series_service.SeriesEdit) -> str:
    if not edit.any:
        return _("Nothing changed.")
    message = ngettext(
        "Saved for this date and %(num)d following date.",
        "Saved for this date and %(num)d following dates.",
        edit.updated,
    )
    if edit.cancelled:
        message += " " + ngettext(
            "%(num)d date no longer in the new rule was cancelled.",
            "%(num)d dates no longer in the new rule were cancelled.",
            edit.cancelled,
        )
    if edit.added:
        message += " " + ngettext(
            "%(num)d date of the new rule was added.",
            "%(num)d dates of the new rule were added.",
            edit.added,
        )
    if edit.notified:
        message += " " + ngettext(
            "%(num)d volunteer was emailed.", "%(num)d volunteers were emailed.", edit.notified
        )
    if edit.skipped:
        message += " " + ngettext(
            "%(num)d date kept its old capacity: more volunteers are confirmed there.",
            "%(num)d dates kept their old capacity: more volunteers are confirmed there.",
            len(edit.skipped),
        )
    return message


def _flash_cohosts(hosts: service.CohostChanges) -> None:
    for org in hosts.requested:
        flash(
            _(
                "We asked %(name)s to co-host. It shows as a host, and its organizers can "
                "manage the action, once one of them accepts.",
                name=org.name,
            ),
            "success",
        )
    for org in hosts.removed:
        flash(_("%(name)s no longer co-hosts this action.", name=org.name), "success")


def _edit_message(changes: service.EventChanges) -> str:
    if not changes.any:
        return _("Nothing changed.")
    message = _("Your changes are saved.")
    if changes.notified:
        message += " " + ngettext(
            "%(num)d volunteer was emailed about the new time or place.",
            "%(num)d volunteers were emailed about the new time or place.",
            changes.notified,
        )
    if changes.promoted:
        message += " " + ngettext(
            "%(num)d volunteer moved up from the waitlist.",
            "%(num)d volunteers moved up from the waitlist.",
            len(changes.promoted),
        )
    return message


@bp.post("/<int:event_id>/publish")
@login_required
def publish(event_id: int):
    event = service.managed_event(event_id, current_user)
    try:
        series_service.publish(event, now_utc())
    except InvalidTransition as error:
        if error.state == "past":
            flash(_("This action is already over, so it can't be published."), "error")
        else:
            flash(_("Only a draft can be published."), "error")
    else:
        flash(_("Published. Share the link so volunteers can find it!"), "success")
    return redirect(url_for(".detail", event_id=event.id))


@bp.route("/<int:event_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(event_id: int):
    event = service.managed_event(event_id, current_user)
    if not event.is_published:
        flash(_("Only a published action can be cancelled; a draft can be deleted."), "error")
        return redirect(url_for(".detail", event_id=event.id))
    form = CancelForm()
    if form.validate_on_submit():
        try:
            emailed = service.cancel_event(
                event, now_utc(), form.message.data or "", actor=current_user._get_current_object()
            )
        except InvalidTransition:
            flash(_("This action is already over or cancelled."), "error")
        else:
            flash(
                ngettext(
                    "The action is cancelled. %(num)d volunteer was emailed.",
                    "The action is cancelled. %(num)d volunteers were emailed.",
                    emailed,
                ),
                "success",
            )
        return redirect(url_for(".detail", event_id=event.id))
    active = signup_service.active_count(event.id)
    status = 400 if form.is_submitted() else 200
    return render_template("events/cancel.html", event=event, form=form, active=active), status


@bp.post("/<int:event_id>/delete")
@login_required
def delete(event_id: int):
    event = service.managed_event(event_id, current_user)
    try:
        service.delete_draft(event)
    except InvalidTransition:
        flash(_("A published action can't be deleted; cancel it so volunteers are told."), "error")
        return redirect(url_for(".detail", event_id=event.id))
    flash(_("The draft is deleted."), "success")
    return redirect(url_for("orgs.mine"))
