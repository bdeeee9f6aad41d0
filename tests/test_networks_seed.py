"""`flask seed` adds a coalition of three demo organizations with a quarterly members' meeting,
once however often it runs."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from organizer import seed as demo
from organizer.extensions import db
from organizer.models import Event, EventSeries, NetworkMembership, Organization
from organizer.models import network as nw
from organizer.services import networks

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_the_demo_network_has_members_an_invitation_and_a_quarterly_meeting(app, client):
    demo.seed(now=datetime.now(UTC))  # the page lists what is still to come
    network = db.session.scalar(select(Organization).where(Organization.slug == demo.NETWORK.slug))
    assert network is not None and network.is_network
    assert "קואליציית" in network.name and "ائتلاف" in network.name
    members = {m.slug for m in networks.active_members(network)}
    assert members == set(demo.NETWORK_MEMBERS) and len(members) >= 3
    invited = db.session.scalars(
        select(NetworkMembership).where(NetworkMembership.status == nw.NETWORK_INVITED)
    ).all()
    assert [row.member.slug for row in invited] == list(demo.NETWORK_INVITED)

    (series,) = db.session.scalars(
        select(EventSeries).where(EventSeries.organization_id == network.id)
    ).all()
    assert series.rule.startswith("FREQ=MONTHLY;INTERVAL=3;BYDAY=")
    meeting = db.session.scalar(select(Event).where(Event.series_id == series.id))
    assert meeting.title == demo.NETWORK_MEETING.title
    assert {t.locale for t in meeting.translations} == {"ar", "en"}

    html = client.get(f"/orgs/{demo.NETWORK.slug}?lang=ar&kind=meeting").get_data(as_text=True)
    assert "Common Road" in html and "الاجتماع الفصلي لأعضاء الائتلاف" in html


def test_seeding_twice_adds_no_network_rows(app):
    demo.seed(now=NOW)
    count = db.session.scalar(select(func.count()).select_from(NetworkMembership))
    events = db.session.scalar(select(func.count()).select_from(Event))
    assert demo.seed(now=NOW).endswith("(created 0 new rows)")
    assert db.session.scalar(select(func.count()).select_from(NetworkMembership)) == count
    assert db.session.scalar(select(func.count()).select_from(Event)) == events
