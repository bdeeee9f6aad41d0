"""How an action reads on a page: how many places are left, and where it happens."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from ..choices import REGIONS
from ..models import Event
from ..models.event import place_name
from ..services.events import PLACE_FIELDS
from ..services.signups import places_left_in


def availability(event: Event, counts: Mapping[str, int]) -> list[tuple[str, str]]:
    """Badges for a card or the detail page: (label, css class). Counts only, never names.

    An action with shifts counts the places of all its shifts: full only when every one is.
    """
    if event.is_cancelled:
        return [(_("Cancelled"), "danger")]
    badges: list[tuple[str, str]] = []
    left = places_left_in(event, counts)
    if left is None:
        badges.append((_("Open to all"), "ok"))
    elif left > 0:
        badges.append((ngettext("%(num)d place left", "%(num)d places left", left), "ok"))
    elif event.waitlist_enabled:
        badges.append((_("Waitlist open"), "warn"))
    else:
        badges.append((_("Full"), "danger"))
    if event.approval_required:
        badges.append((_("Approval needed"), "warn"))
    return badges


def place_text(event: Event, reveal: bool, before: Mapping[str, object] | None = None) -> str:
    """Where, as plain text (as it was `before` an edit, if given); the address or link only
    when `reveal` (the reader may see it)."""
    place = {name: getattr(event, name) for name in PLACE_FIELDS} | dict(before or {})
    if place["is_online"]:
        link = place["online_url"] if reveal else ""
        return f"{_('Online')}: {link}" if link else _("Online")
    public = place_name(place["city"], place["region"])
    return f"{place['address']}, {public}" if reveal and place["address"] else public


def public_place_html(event: Event) -> Markup:
    """City and region, each isolated so an Arabic city beside an English region reads right."""
    region = str(REGIONS.get(event.region, event.region))
    if not event.city:
        return Markup("<bdi>{}</bdi>").format(region)
    return Markup("<bdi>{}</bdi>, <bdi>{}</bdi>").format(event.city, region)
