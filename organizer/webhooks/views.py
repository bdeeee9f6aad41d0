"""The owners' webhook pages under /orgs/<slug>/webhooks: register, see the secret and the
delivery log, rotate, pause, resume, test, delete. Owners only: the payloads carry volunteers'
names and contacts, and the endpoints decide where those go."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..forms import ConfirmForm, show_errors
from ..services import orgs
from ..services import webhooks as service
from ..services.errors import InvalidInput
from ..web import now_utc
from .forms import EVENT_LABELS, EndpointForm

bp = Blueprint("webhooks", __name__, cli_group=None)


@bp.record_once
def _listen(_state) -> None:
    service.listen()


bp.after_app_request(service.deliver_after_response)


def _org(slug: str):
    return orgs.organization_for(current_user, slug, owner=True)


def _endpoint(slug: str, endpoint_id: int):
    """The organization and its endpoint, for an owner's button press (CSRF checked first)."""
    org = _org(slug)
    _confirmed()
    return org, service.endpoint_of(org, endpoint_id)


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _index_page(org, form: EndpointForm, status: int = 200):
    return render_template(
        "webhooks/index.html",
        org=org,
        endpoints=service.endpoints_of(org),
        form=form,
        event_labels=EVENT_LABELS,
    ), status


@bp.get("/<slug>/webhooks")
@login_required
def index(slug: str):
    return _index_page(_org(slug), EndpointForm(formdata=None))


@bp.post("/<slug>/webhooks")
@login_required
def create(slug: str):
    org = _org(slug)
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            endpoint = service.create_endpoint(
                org, current_user, form.url.data, form.events.data, now_utc()
            )
        except InvalidInput as error:
            show_errors(form, error)
        else:
            flash(_("Webhook added. Copy its secret into the receiving system."), "success")
            return redirect(url_for(".detail", slug=org.slug, endpoint_id=endpoint.id))
    return _index_page(org, form, status=400)


@bp.get("/<slug>/webhooks/<int:endpoint_id>")
@login_required
def detail(slug: str, endpoint_id: int):
    org = _org(slug)
    endpoint = service.endpoint_of(org, endpoint_id)
    page = request.args.get("page", 1, type=int) or 1
    return render_template(
        "webhooks/detail.html",
        org=org,
        endpoint=endpoint,
        log=service.delivery_log(endpoint, page),
        event_labels=EVENT_LABELS,
    )


@bp.post("/<slug>/webhooks/<int:endpoint_id>/rotate")
@login_required
def rotate(slug: str, endpoint_id: int):
    org, endpoint = _endpoint(slug, endpoint_id)
    service.rotate_secret(endpoint, now_utc())
    flash(_("New secret made. Calls from now on are signed with it."), "success")
    return redirect(url_for(".detail", slug=org.slug, endpoint_id=endpoint_id))


@bp.post("/<slug>/webhooks/<int:endpoint_id>/pause")
@login_required
def pause(slug: str, endpoint_id: int):
    org, endpoint = _endpoint(slug, endpoint_id)
    service.pause(endpoint)
    flash(_("Webhook paused. Nothing is sent until you resume it."), "success")
    return redirect(url_for(".detail", slug=org.slug, endpoint_id=endpoint_id))


@bp.post("/<slug>/webhooks/<int:endpoint_id>/resume")
@login_required
def resume(slug: str, endpoint_id: int):
    org, endpoint = _endpoint(slug, endpoint_id)
    service.resume(endpoint, now_utc())
    flash(_("Webhook resumed."), "success")
    return redirect(url_for(".detail", slug=org.slug, endpoint_id=endpoint_id))


@bp.post("/<slug>/webhooks/<int:endpoint_id>/ping")
@login_required
def ping(slug: str, endpoint_id: int):
    org, endpoint = _endpoint(slug, endpoint_id)
    if not endpoint.active:
        flash(_("Resume the webhook first: a paused webhook sends nothing."), "error")
    else:
        service.send_ping(endpoint, now_utc())
        flash(_("Test call sent. Reload the page in a moment to see how it went."), "success")
    return redirect(url_for(".detail", slug=org.slug, endpoint_id=endpoint_id))


@bp.post("/<slug>/webhooks/<int:endpoint_id>/delete")
@login_required
def delete(slug: str, endpoint_id: int):
    org, endpoint = _endpoint(slug, endpoint_id)
    service.delete_endpoint(endpoint, current_user, now_utc())
    flash(_("Webhook deleted."), "success")
    return redirect(url_for(".index", slug=org.slug))
