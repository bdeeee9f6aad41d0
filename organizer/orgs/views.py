"""Organization pages: public page and calendar, management, members and invitations."""

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
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select

from ..extensions import db
from ..i18n import current_locale
from ..ics import calendar_for
from ..markdown import render_markdown
from ..models import Invitation, Organization
from ..services import orgs, permissions
from ..services.errors import (
    AlreadyMember,
    InvalidInput,
    InvalidTransition,
    InvitationUnavailable,
    LastOwnerError,
    NotAllowed,
)
from ..services.signups import counts_by_event
from ..tokens import InvalidToken, read_token
from ..web import now_utc
from .forms import ConfirmForm, InviteForm, OrganizationDetailsForm, OrganizationForm, RoleForm

bp = Blueprint("orgs", __name__)


@bp.app_template_global("org_summary")
def org_summary(description: str, length: int = 200) -> str:
    """An organization's Markdown description as one line of plain text, for lists and meta tags."""
    text = Markup(render_markdown(description)).striptags()  # noqa: S704 - sanitized HTML
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"


DETAIL_FIELDS = ("name", "description", "timezone", "default_locale")


def _org(slug: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        abort(404)
    return org


def _organizer_org(slug: str) -> Organization:
    org = _org(slug)
    if not permissions.is_organizer_of(current_user, org):
        abort(403)
    return org


def _owner_org(slug: str) -> Organization:
    org = _org(slug)
    if not permissions.is_owner_of(current_user, org):
        abort(403)
    return org


def _add_errors(form: FlaskForm, error: InvalidInput) -> None:
    for name, message in error.errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, str(message)]


def _status(form: FlaskForm) -> int:
    return 400 if any(f.errors for f in form) else 200


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
            _add_errors(form, error)
        else:
            flash(_("Your organization is ready. Post its first action!"), "success")
            return redirect(url_for(".manage", slug=org.slug))
    return render_template("orgs/new.html", form=form), _status(form)


@bp.get("/<slug>")
def public(slug: str):
    org = _org(slug)
    upcoming = orgs.upcoming_public_events(org, now_utc())
    return render_template(
        "orgs/public.html",
        org=org,
        events=upcoming.events,
        event_counts=upcoming.counts,
        description_html=render_markdown(org.description),
        can_manage=permissions.is_organizer_of(current_user, org),
    )


@bp.get("/<slug>/events.ics")
def feed(slug: str):
    org = _org(slug)
    now = now_utc()
    events = orgs.upcoming_public_events(org, now).events
    body = calendar_for(events, now, reveal_location=False, name=org.name)
    return Response(
        body,
        content_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{org.slug}.ics"'},
    )


@bp.get("/<slug>/manage")
@login_required
def manage(slug: str):
    org = _organizer_org(slug)
    upcoming, past = orgs.managed_events(org, now_utc())
    return render_template(
        "orgs/manage.html",
        org=org,
        upcoming=upcoming,
        past=past,
        counts=counts_by_event([e.id for e in upcoming + past]),
        is_owner=permissions.is_owner_of(current_user, org),
    )


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    org = _owner_org(slug)
    form = OrganizationDetailsForm(obj=org)
    if form.validate_on_submit():
        try:
            orgs.update_organization(org, current_user, **{f: form[f].data for f in DETAIL_FIELDS})
        except InvalidInput as error:
            _add_errors(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for(".manage", slug=org.slug))
    return render_template("orgs/edit.html", org=org, form=form), _status(form)


def _members_page(org: Organization, invite_form: InviteForm | None = None, status: int = 200):
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
    return _members_page(_organizer_org(slug))


@bp.post("/<slug>/members/invite")
@login_required
def invite(slug: str):
    org = _owner_org(slug)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = orgs.invite(org, form.email.data, form.role.data, current_user, now_utc())
        except AlreadyMember:
            form.email.errors = [_("This person is already a member of the organization.")]
        except InvalidInput as error:
            _add_errors(form, error)
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
    org = _owner_org(slug)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        orgs.change_role(org, membership_id, form.role.data, current_user)
    except LastOwnerError:
        flash(_last_owner_message(), "error")
    except LookupError:
        abort(404)
    except NotAllowed:
        abort(403)
    else:
        flash(_("Role changed."), "success")
    return redirect(url_for(".members", slug=org.slug))


@bp.post("/<slug>/members/<int:membership_id>/remove")
@login_required
def remove_member(slug: str, membership_id: int):
    org = _owner_org(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        orgs.remove_member(org, membership_id, current_user)
    except LastOwnerError:
        flash(_last_owner_message(), "error")
    except LookupError:
        abort(404)
    except NotAllowed:
        abort(403)
    else:
        flash(_("Member removed."), "success")
        if not permissions.is_organizer_of(current_user, org):
            return redirect(url_for(".mine"))
    return redirect(url_for(".members", slug=org.slug))


@bp.post("/<slug>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke_invitation(slug: str, invitation_id: int):
    org = _owner_org(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        orgs.revoke_invitation(org, invitation_id, current_user, now_utc())
    except LookupError:
        abort(404)
    except InvalidTransition:
        flash(_("This invitation was already accepted."), "error")
    else:
        flash(_("Invitation withdrawn."), "success")
    return redirect(url_for(".members", slug=org.slug))


def _last_owner_message() -> str:
    return _("An organization needs at least one owner. Make someone else owner first.")


INVITATION_PROBLEMS = {
    # reason: (status, message)
    "invalid": (
        400,
        lambda: _("This invitation link is not valid. Check that you copied the whole link."),
    ),
    "expired": (
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


def _invitation_problem(reason: str, invitation: Invitation | None = None):
    status, message = INVITATION_PROBLEMS[reason]
    return render_template("orgs/invitation.html", invitation=invitation, problem=message()), status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    max_age = current_app.config["INVITATION_MAX_AGE"]
    try:
        invitation_id = read_token("invitation", token, max_age=max_age)
    except InvalidToken as error:
        return _invitation_problem("expired" if error.expired else "invalid")
    invitation = (
        db.session.get(Invitation, invitation_id) if isinstance(invitation_id, int) else None
    )
    if invitation is None:
        abort(404)
    if invitation.revoked_at is not None:
        return _invitation_problem(orgs.INVITATION_REVOKED, invitation)
    if not current_user.is_authenticated:
        return render_template("orgs/invitation.html", invitation=invitation, problem=None)
    form = ConfirmForm()
    try:
        if form.validate_on_submit():
            orgs.accept_invitation(invitation.id, current_user, now_utc())
            flash(_("Welcome to %(name)s!", name=invitation.organization.name), "success")
            return redirect(url_for(".manage", slug=invitation.organization.slug))
        member = orgs.check_invitation(invitation, current_user)
    except InvitationUnavailable as error:
        return _invitation_problem(error.reason, invitation)
    return render_template(
        "orgs/invitation.html", invitation=invitation, problem=None, member=member, form=form
    )
