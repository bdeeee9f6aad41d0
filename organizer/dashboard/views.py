"""Organizers' dashboard: how an organization is doing, week by week (organizers only)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from flask import Blueprint, render_template
from flask_babel import format_date
from flask_login import current_user, login_required

from .. import charts
from ..choices import EVENT_KINDS
from ..i18n import ENGLISH_DATES, current_locale
from ..services import dashboard, orgs
from ..web import now_utc

bp = Blueprint("dashboard", __name__)
bp.record_once(lambda state: charts.init_app(state.app))


@bp.app_template_filter("week_day")
def week_day(day: date) -> str:
    """'23 Nov', '23 בנוב׳', '23 نوفمبر': the Monday a week starts on, short."""
    locale = current_locale()
    if locale == "en":
        return format_date(day, ENGLISH_DATES["short"])
    return format_skeleton("MMMd", day, locale=locale)


@bp.app_template_filter("kind_name")
def kind_name(kind: str) -> str:
    """An action kind's label in the reader's language."""
    return str(EVENT_KINDS.get(kind, kind))


@bp.get("/orgs/<slug>/dashboard")
@login_required
def organization(slug: str):
    org = orgs.organization_for(current_user, slug)
    return render_template(
        "dashboard/organization.html",
        org=org,
        board=dashboard.organization_dashboard(org, now_utc()),
        soon_days=dashboard.SOON.days,
        few_share=dashboard.FEW_SHARE,
        few_minimum=dashboard.FEW_MINIMUM,
    )


@bp.get("/orgs/<slug>/network/dashboard")
@login_required
def network(slug: str):
    org = orgs.organization_for(current_user, slug)
    return render_template(
        "dashboard/network.html",
        org=org,
        board=dashboard.network_dashboard_of(org, now_utc()),
    )
