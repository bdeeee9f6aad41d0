"""/orgs/<slug>/audit: the organization's audit log, for its owners (and site administrators)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from ..i18n import bdi, select_timezone, zone_city_label
from ..models import AuditEntry
from ..models import audit as au
from ..models.organization import ROLE_OWNER
from ..services import audit, orgs

bp = Blueprint("audit", __name__)


def _role(role: str) -> str:
    return _("Owner") if role == ROLE_OWNER else pgettext("role", "Organizer")


def describe(entry: AuditEntry) -> Markup:
    """What happened, as a sentence in the reader's language. Titles, names and subjects are
    people's text: each is escaped and isolated in <bdi> (an English title in an Arabic
    sentence keeps its direction), so the sentence itself can be trusted as HTML."""
    return Markup(_sentence(entry))  # noqa: S704 - every outside value went through bdi()


def _sentence(entry: AuditEntry) -> str:
    d = audit.details_of(entry)
    title = bdi(entry.target_label)
    action = entry.action
    if action == au.ROSTER_VIEWED:
        return _("Viewed the roster of “%(title)s”.", title=title)
    if action == au.ROSTER_EXPORTED:
        return ngettext(
            "Exported the roster of “%(title)s” (%(num)d row) as a CSV file.",
            "Exported the roster of “%(title)s” (%(num)d rows) as a CSV file.",
            int(d.get("rows", 0)),
            title=title,
        )
    if action == au.VOLUNTEERS_MESSAGED:
        return ngettext(
            "Emailed %(num)d volunteer of “%(title)s”: “%(subject)s”.",
            "Emailed %(num)d volunteers of “%(title)s”: “%(subject)s”.",
            int(d.get("sent", 0)),
            title=title,
            subject=bdi(d.get("subject", "")),
        )
    if action == au.EVENT_CANCELLED:
        return ngettext(
            "Cancelled “%(title)s” (%(num)d volunteer was signed up).",
            "Cancelled “%(title)s” (%(num)d volunteers were signed up).",
            int(d.get("volunteers", 0)),
            title=title,
        )
    if action == au.MEMBER_ROLE_CHANGED:
        return _(
            "Changed the role of %(name)s from %(old)s to %(new)s.",
            name=title,
            old=_role(d.get("from", "")),
            new=_role(d.get("to", "")),
        )
    if action == au.MEMBER_REMOVED:
        if entry.actor_id is not None and entry.actor_id == entry.target_id:
            return _("Left the organization.")
        return _("Removed %(name)s from the organization.", name=title)
    if action == au.INVITATION_ACCEPTED:
        return _("Accepted the invitation and joined as %(role)s.", role=_role(d.get("role", "")))
    if action == au.API_TOKEN_CREATED:
        return _("Created the API token “%(name)s”.", name=title)
    if action == au.API_TOKEN_REVOKED:
        return _("Revoked the API token “%(name)s”.", name=title)
    if action == au.WEBHOOK_ADDED:
        return _("Added a webhook to %(host)s.", host=title)
    if action == au.WEBHOOK_DELETED:
        return _("Deleted the webhook to %(host)s.", host=title)
    return escape(action)


@bp.get("/<slug>/audit")
@login_required
def index(slug: str):
    org = orgs.organization_for(current_user, slug, owner=True)
    log = audit.entries_of(org, request.args.get("page", 1, type=int) or 1)
    timezone = select_timezone()
    return render_template(
        "audit/index.html",
        org=org,
        log=log,
        describe=describe,
        timezone=timezone,
        zone_label=zone_city_label(timezone),
    )
