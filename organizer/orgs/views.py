"""Organization pages: public page and calendar, management, members and invitations."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ..forms import show_errors
from ..i18n import current_locale
from ..ics import calendar_response
from ..markdown import render_markdown
from ..networks.views import public_page as network_page
from ..services import attendance, calendars, events, networks, orgs, permissions
from ..services.errors import (
    AlreadyMember,
    InvalidInput,
    InvalidTransition,
    InvitationUnavailable,
    LastOwnerError,
)
from ..services.series import group_by_series
from ..services.signups import counts_by_event
from ..web import now_utc
from .forms import (
    CohostAnswerForm,
    InviteForm,
    OrganizationDetailsForm,
    OrganizationForm,
    RoleForm,
)

bp = Blueprint("orgs", __name__)


@bp.app_template_global("org_summary")
def org_summary(description: str, length: int = 200) -> str:
    """An organization's Markdown description as one line of plain text, for lists and meta tags."""
    text = Markup(render_markdown(description)).striptags()  # noqa: S704 - sanitized HTML
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"


DETAIL_FIELDS = ("name", "description", "timezone", "default_locale")


@bp.get("/")
def index():
    return render_template("orgs/index.html", organizations=orgs.all_organizations())


@bp.get("/mine")
@login_required
def mine():
    return render_template("orgs/mine.html", memberships=orgs.organizations_of(current_user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = OrganizationForm()
    if request.method == "GET":
        form.timezone.data = current_user.timezone or current_app.config["DEFAULT_TIMEZONE"]
        form.default_locale.data = current_locale()
    if form.validate_on_submit():
        try:
            org = orgs.create_organization(
                current_user, form.slug.data, **{f: form[f].data for f in DETAIL_FIELDS}
            )
        except InvalidInput as error:
            show_errors(form, error)
        else:
            flash(_("Your organization is ready. Post its first action!"), "success")
            return redirect(url_for(".manage", slug=org.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("orgs/new.html", form=form), status


@bp.get("/<slug>")
def public(slug: str):
    org = orgs.get_organization(slug)
    if org.is_network:  # its members and all their actions, with filters
        return network_page(org)
    upcoming = orgs.upcoming_public_events(org, now_utc())
    return render_template(
        "orgs/public.html",
        org=org,
        events=upcoming.events,
        event_counts=upcoming.counts,
        description_html=render_markdown(org.description),
        can_manage=permissions.is_organizer_of(current_user, org),
        networks=networks.networks_of(org),
    )


@bp.get("/<slug>/events.ics")
def feed(slug: str):
    org = orgs.get_organization(slug)
    body = calendars.organization_feed(org, now_utc())  # never a hidden place
    return calendar_response(body, f"{org.slug}.ics")


@bp.get("/<slug>/manage")
@login_required
def manage(slug: str):
    org = orgs.organization_for(current_user, slug)
    now = now_utc()
    upcoming, past = orgs.managed_events(org, now)
    singles, series_groups = group_by_series(upcoming)  # each series' coming dates together
    return render_template(
        "orgs/manage.html",
        org=org,
        upcoming=singles,
        series_groups=series_groups,
        past=past,
        counts=counts_by_event([e.id for e in upcoming + past]),
        attendance=attendance.attendance_counts(upcoming + past, now),
        is_owner=permissions.is_owner_of(current_user, org),
        cohost_requests=events.cohost_requests(org, now),
    )


@bp.post("/<slug>/cohosting/<int:event_id>/accept")
@login_required
def accept_cohost(slug: str, event_id: int):
    org = orgs.organization_for(current_user, slug)
    if not CohostAnswerForm().validate_on_submit():
        abort(400)
    event = events.accept_cohost(event_id, org, current_user, now_utc())
    flash(_("%(name)s now co-hosts “%(title)s”.", name=org.name, title=event.title), "success")
    return redirect(url_for(".manage", slug=org.slug))


@bp.post("/<slug>/cohosting/<int:event_id>/decline")
@login_required
def decline_cohost(slug: str, event_id: int):
    org = orgs.organization_for(current_user, slug)
    if not CohostAnswerForm().validate_on_submit():
        abort(400)
    event = events.decline_cohost(event_id, org, current_user, now_utc())
    flash(_("%(name)s does not co-host “%(title)s”.", name=org.name, title=event.title), "success")
    return redirect(url_for(".manage", slug=org.slug, _anchor="cohosting"))


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    org = orgs.organization_for(current_user, slug, owner=True)
    form = OrganizationDetailsForm(obj=org)
    if form.validate_on_submit():
        try:
            orgs.update_organization(org, current_user, **{f: form[f].data for f in DETAIL_FIELDS})
        except InvalidInput as error:
            show_errors(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".manage", slug=org.slug))
    status = 400 if form.is_submitted() else 200
    return render_template("orgs/edit.html", org=org, form=form), status


def _members_page(org, invite_form: InviteForm | None = None, status: int = 200):
    return render_template(
        "orgs/members.html",
        org=org,
        members=orgs.members_of(org),
        invitations=orgs.pending_invitations(org),
        is_owner=permissions.is_owner_of(current_user, org),
        invite_form=invite_form or InviteForm(formdata=None),
        role_form=RoleForm(formdata=None),
    ), status


@bp.get("/<slug>/members")
@login_required
def members(slug: str):
    return _members_page(orgs.organization_for(current_user, slug))


@bp.post("/<slug>/members/invite")
@login_required
def invite(slug: str):
    org = orgs.organization_for(current_user, slug, owner=True)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = orgs.invite(org, form.email.data, form.role.data, current_user, now_utc())
        except AlreadyMember:
            form.email.errors = [_("This person is already a member of the organization.")]
        except InvalidInput as error:
            show_errors(form, error)
        else:
            if orgs.send_invitation(invitation):
                flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
            else:
                flash(_("The invitation is saved, but the email could not be sent."), "error")
            return redirect(url_for(".members", slug=org.slug))
    return _members_page(org, invite_form=form, status=400)


@bp.post("/<slug>/members/<int:membership_id>/role")
@login_required
def change_role(slug: str, membership_id: int):
    org = orgs.organization_for(current_user, slug, owner=True)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        orgs.change_role(org, membership_id, form.role.data, current_user, now_utc())
    except LastOwnerError:
        flash(_last_owner_message(), "error")
    else:
        flash(_("Role changed."), "success")
    return redirect(url_for(".members", slug=org.slug))


@bp.post("/<slug>/members/<int:membership_id>/remove")
@login_required
def remove_member(slug: str, membership_id: int):
    org = orgs.organization_for(current_user, slug, owner=True)
    try:
        orgs.remove_member(org, membership_id, current_user, now_utc())
    except LastOwnerError:
        flash(_last_owner_message(), "error")
        return redirect(url_for(".members", slug=org.slug))
    flash(_("Member removed."), "success")
    if not permissions.is_organizer_of(current_user, org):  # they left
        return redirect(url_for(".mine"))
    return redirect(url_for(".members", slug=org.slug))


@bp.post("/<slug>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke_invitation(slug: str, invitation_id: int):
    org = orgs.organization_for(current_user, slug, owner=True)
    try:
        orgs.revoke_invitation(org, invitation_id, current_user, now_utc())
    except InvalidTransition:
        flash(_("This invitation was already accepted."), "error")
    else:
        flash(_("Invitation withdrawn."), "success")
    return redirect(url_for(".members", slug=org.slug))


def _last_owner_message() -> str:
    return _("An organization needs at least one owner. Make someone else owner first.")


INVITATION_PROBLEMS = {
    # reason: (status, message)
    orgs.INVITATION_INVALID: (
        400,
        lambda: _("This invitation link is not valid. Check that you copied the whole link."),
    ),
    orgs.INVITATION_EXPIRED: (
        410,
        lambda: _("This invitation link has expired. Ask the organization to invite you again."),
    ),
    orgs.INVITATION_REVOKED: (410, lambda: _("This invitation was withdrawn.")),
    orgs.INVITATION_USED: (
        410,
        lambda: _("This invitation was already used. Ask the organization to invite you again."),
    ),
    orgs.INVITATION_WRONG_USER: (
        403,
        lambda: _(
            "This invitation was sent to another email address. Log out, then log in "
            "with the address the invitation was sent to."
        ),
    ),
}


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = orgs.invitation_from_token(token)
        if not current_user.is_authenticated:
            return render_template("orgs/invitation.html", invitation=invitation, problem=None)
        if request.method == "POST":
            orgs.accept_invitation(invitation.id, current_user, now_utc())
            flash(_("Welcome to %(name)s!", name=invitation.organization.name), "success")
            return redirect(url_for(".manage", slug=invitation.organization.slug))
        member = orgs.check_invitation(invitation, current_user)
    except InvitationUnavailable as error:
        status, message = INVITATION_PROBLEMS[error.reason]
        return render_template("orgs/invitation.html", problem=message()), status
    return render_template(
        "orgs/invitation.html", invitation=invitation, problem=None, member=member
    )
