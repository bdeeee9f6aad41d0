"""Actions: the public listing and page, the calendar file, and the organizers' editing pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.routing import BuildError

from ..extensions import db
from ..i18n import select_timezone
from ..ics import calendar_for
from ..models import Event, Membership, Organization
from ..models import signup as st
from ..services import events as service
from ..services import permissions
from ..services import signups as signup_service
from ..services.errors import InvalidInput, InvalidTransition
from ..signups.views import signup_box_context
from ..web import now_utc
from . import display
from .forms import (
    CancelForm,
    ConfirmForm,
    EventForm,
    filter_args,
    form_data_for,
    one_line,
    page_number,
    parse_filters,
)

bp = Blueprint("events", __name__)

bp.add_app_template_global(display.when_text, "event_when")
bp.add_app_template_global(display.short_when, "event_short_when")
bp.add_app_template_global(display.availability, "event_availability")
bp.add_app_template_global(display.zone_city_label, "zone_city_label")
bp.add_app_template_global(display.when_between, "when_between")
bp.add_app_template_global(display.place_text, "place_text")
bp.add_app_template_global(display.public_place_html, "public_place_html")


@bp.app_template_global()
def url_or_none(endpoint: str, **values) -> str | None:
    """A link to a page another area provides, or None while it does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


# --- public ----------------------------------------------------------------------------------


@bp.get("/")
def index():
    filters, notes = parse_filters(request.args, select_timezone())
    per_page = current_app.config["EVENTS_PER_PAGE"]
    page = service.search_events(filters, now_utc(), page_number(request.args), per_page)
    organizations = db.session.execute(
        select(Organization.slug, Organization.name).order_by(Organization.name)
    ).all()
    return render_template(
        "events/index.html",
        page=page,
        filters=filters,
        notes=notes,
        args=filter_args(request.args),
        organizations=organizations,
    )


def _visible_event(event_id: int) -> tuple[Event, bool]:
    """The action and whether the viewer manages it; drafts are invisible to everyone else."""
    event = service.load_event(event_id)
    if event is None:
        abort(404)
    can_manage = permissions.can_manage_event(current_user, event)
    if event.status == "draft" and not can_manage:
        abort(404)
    return event, can_manage


@bp.get("/<int:event_id>")
def detail(event_id: int):
    event, can_manage = _visible_event(event_id)
    now = now_utc()
    box = signup_box_context(event)
    # The hidden place itself is only in the volunteer's email and on their own sign-up page;
    # here a confirmed volunteer gets a link there, so this page stays the same for everyone.
    show_location = can_manage or not event.location_hidden
    place_on_my_page = not can_manage and signup_service.can_see_location(
        event, box["my_signup"], now
    )
    counts = signup_service.counts_by_event([event.id])[event.id]
    share_url = current_app.config["PUBLIC_URL"] + url_for(".detail", event_id=event.id)
    return render_template(
        "events/detail.html",
        **box,
        counts=counts,
        show_location=show_location,
        place_on_my_page=place_on_my_page,
        share_url=share_url,
        action_form=ConfirmForm(),
        roster_url=url_or_none("signups.roster", event_id=event.id),
    )


@bp.get("/<int:event_id>.ics")
def ics(event_id: int):
    event = service.load_event(event_id)
    if event is None or event.status == "draft":
        abort(404)
    # The public file never carries a hidden place: volunteers get theirs by email.
    body = calendar_for([event], now_utc(), reveal_location=False)
    return calendar_response(body, f"action-{event.id}.ics")


def calendar_response(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- organizers ------------------------------------------------------------------------------


def _managed_event(event_id: int) -> Event:
    event = service.load_event(event_id)
    if event is None:
        abort(404)
    if not permissions.can_manage_event(current_user, event):
        abort(404 if event.status == "draft" else 403)
    return event


def _my_organizations() -> list[Organization]:
    query = select(Organization).order_by(Organization.name)
    if not current_user.is_admin:
        query = query.join(Membership).where(Membership.user_id == current_user.id)
    return list(db.session.scalars(query))


def _show_errors(form: EventForm, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        target = getattr(form, name, None) or form.title
        target.errors = [*target.errors, message]


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    slug = (one_line(request.args.get("org")) or "")[:64]
    if not slug:
        organizations = _my_organizations()
        if len(organizations) == 1:
            return redirect(url_for(".new", org=organizations[0].slug))
        return render_template("events/choose_org.html", organizations=organizations)
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        abort(404)
    if not permissions.is_organizer_of(current_user, org):
        abort(403)
    now = now_utc()
    form = EventForm(organization=org, timezone=org.timezone, now=now)
    if form.validate_on_submit():
        try:
            author = current_user._get_current_object()
            event = service.create_event(org, author, form.to_data(), now)
        except InvalidInput as exc:
            _show_errors(form, exc.errors)
        else:
            flash(_("Saved as a draft. Check it, then publish it when you're ready."), "success")
            return redirect(url_for(".detail", event_id=event.id))
    status = 400 if form.is_submitted() else 200
    return render_template("events/form.html", form=form, org=org, event=None), status


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int):
    event = _managed_event(event_id)
    if event.is_cancelled:
        flash(_("A cancelled action can no longer be edited."), "error")
        return redirect(url_for(".detail", event_id=event.id))
    now = now_utc()
    form = EventForm(
        data=form_data_for(event) if request.method == "GET" else None,
        organization=event.organization,
        timezone=event.timezone,
        now=now,
        original_start=event.starts_at,
    )
    if form.validate_on_submit():
        try:
            changes = service.update_event(event, form.to_data(), now)
        except InvalidInput as exc:
            _show_errors(form, exc.errors)
        except InvalidTransition:
            flash(_("A cancelled action can no longer be edited."), "error")
            return redirect(url_for(".detail", event_id=event.id))
        else:
            flash(_edit_message(changes), "success")
            return redirect(url_for(".detail", event_id=event.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "events/form.html", form=form, org=event.organization, event=event
    ), status


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
    event = _managed_event(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.publish_event(event, now_utc())
    except InvalidTransition as exc:
        if str(exc) == "past":
            flash(_("This action is already over, so it can't be published."), "error")
        else:
            flash(_("Only a draft can be published."), "error")
    else:
        flash(_("Published. Share the link so volunteers can find it!"), "success")
    return redirect(url_for(".detail", event_id=event.id))


@bp.route("/<int:event_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(event_id: int):
    event = _managed_event(event_id)
    if event.status != "published":
        flash(_("Only a published action can be cancelled; a draft can be deleted."), "error")
        return redirect(url_for(".detail", event_id=event.id))
    form = CancelForm()
    if form.validate_on_submit():
        try:
            emailed = service.cancel_event(event, now_utc(), form.message.data or "")
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
    counts = signup_service.counts_by_event([event.id])[event.id]
    active = sum(counts.get(s, 0) for s in st.ACTIVE_STATUSES)
    status = 400 if form.is_submitted() else 200
    return render_template("events/cancel.html", event=event, form=form, active=active), status


@bp.post("/<int:event_id>/delete")
@login_required
def delete(event_id: int):
    event = _managed_event(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.delete_draft(event)
    except InvalidTransition:
        flash(_("A published action can't be deleted; cancel it so volunteers are told."), "error")
        return redirect(url_for(".detail", event_id=event.id))
    flash(_("The draft is deleted."), "success")
    return redirect(url_for("orgs.mine"))
