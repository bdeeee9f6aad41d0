"""Networks: an organization's network page (members, invitations, requests) and the public
page of a network, which lists its members and all their public upcoming actions."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..events.forms import filter_args, page_number, parse_filters
from ..forms import show_errors
from ..i18n import select_timezone
from ..markdown import render_markdown
from ..models import Organization
from ..services import events, networks, orgs, permissions
from ..services.errors import InvalidInput, InvalidTransition
from ..web import now_utc
from .forms import AnswerForm, OrganizationSlugForm

bp = Blueprint("networks", __name__)

ALREADY = {
    "invited": lambda: _("This organization is already invited to the network."),
    "requested": lambda: _("This organization already asked to join the network."),
    "active": lambda: _("This organization is already a member of the network."),
}


def public_page(network: Organization):
    """The public page of a network (/orgs/<slug>): its members and all their public upcoming
    actions, with the filters of /events/ (a fixed number of queries per page)."""
    filters, notes = parse_filters(request.args, select_timezone())
    filters.network = network
    per_page = current_app.config["EVENTS_PER_PAGE"]
    page = events.search_events(filters, now_utc(), page_number(request.args), per_page)
    return render_template(
        "networks/public.html",
        org=network,
        members=networks.active_members(network),
        page=page,
        filters=filters,
        notes=notes,
        args=filter_args(request.args),
        description_html=render_markdown(network.description),
        can_manage=permissions.is_organizer_of(current_user, network),
    )


def _manage_page(org: Organization, invite_form=None, join_form=None, status: int = 200):
    return render_template(
        "networks/manage.html",
        org=org,
        overview=networks.overview(org),
        is_owner=permissions.is_owner_of(current_user, org),
        invite_form=invite_form or OrganizationSlugForm(formdata=None, prefix="invite"),
        join_form=join_form or OrganizationSlugForm(formdata=None, prefix="join"),
    ), status


@bp.get("/<slug>/network")
@login_required
def manage(slug: str):
    return _manage_page(orgs.organization_for(current_user, slug))


def _answered(slug: str) -> Organization:
    """The organization, if the user owns it and the form carries a valid CSRF token."""
    org = orgs.organization_for(current_user, slug, owner=True)
    if not AnswerForm().validate_on_submit():
        abort(400)
    return org


@bp.post("/<slug>/network/enable")
@login_required
def enable(slug: str):
    org = _answered(slug)
    networks.set_network(org, current_user, True)
    flash(
        _("%(name)s is now a network: invite its member organizations.", name=org.name), "success"
    )
    return redirect(url_for(".manage", slug=org.slug))


@bp.post("/<slug>/network/disable")
@login_required
def disable(slug: str):
    org = _answered(slug)
    try:
        networks.set_network(org, current_user, False)
    except networks.NetworkHasMembers:
        flash(_("End every membership, invitation and request first."), "error")
        return _manage_page(org, status=409)
    flash(_("%(name)s is no longer a network.", name=org.name), "success")
    return redirect(url_for(".manage", slug=org.slug))


def _ask(slug: str, prefix: str, ask):
    org = orgs.organization_for(current_user, slug, owner=True)
    form = OrganizationSlugForm(prefix=prefix)
    if form.validate_on_submit():
        try:
            asked = ask(org, form.slug.data, current_user, now_utc())
        except networks.AlreadyInNetwork as error:
            form.slug.errors = [ALREADY[error.status]()]
        except networks.NotANetwork:
            abort(409)
        except InvalidInput as error:
            show_errors(form, error)
        else:
            networks.notify_asked(asked, current_user)
            if asked.accepted:
                flash(_("Both sides agreed: the membership is active."), "success")
            else:
                flash(_("Sent. The other organization's owners decide."), "success")
            return redirect(url_for(".manage", slug=org.slug))
    forms = {f"{prefix}_form": form}
    return _manage_page(org, **forms, status=400)


@bp.post("/<slug>/network/invite")
@login_required
def invite(slug: str):
    return _ask(slug, "invite", networks.invite)


@bp.post("/<slug>/network/join")
@login_required
def join(slug: str):
    return _ask(slug, "join", networks.request_to_join)


@bp.post("/<slug>/network/<int:membership_id>/accept")
@login_required
def accept(slug: str, membership_id: int):
    org = _answered(slug)
    try:
        changed = networks.accept(org, membership_id, current_user, now_utc())
    except InvalidTransition:
        flash(_("This invitation or request was withdrawn."), "error")
        return _manage_page(org, status=409)
    if changed:
        row = networks.membership(membership_id)
        networks.notify_accepted(row, current_user)
    flash(_("Accepted: the membership is active."), "success")
    return redirect(url_for(".manage", slug=org.slug))


@bp.post("/<slug>/network/<int:membership_id>/end")
@login_required
def end(slug: str, membership_id: int):
    org = _answered(slug)
    networks.end(org, membership_id, current_user, now_utc())
    flash(_("Done: the organizations are not linked any more."), "success")
    return redirect(url_for(".manage", slug=org.slug))
