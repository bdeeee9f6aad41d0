"""The dashboard page: organizers only, accessible SVG charts with tables, mirrored in Hebrew
and Arabic, no inline styles or scripts, and a fixed number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from organizer.models.organization import ROLE_ORGANIZER

from .factories import (
    make_event,
    make_org,
    make_signup,
    make_subscription,
    make_user,
    now,
)
from .helpers import count_queries


@pytest.fixture()
def organizer(app):
    user = make_user()
    org = make_org(owner=user, name="Standing Together Demo")
    return user, org


def _history(org, weeks: int, per_week: int) -> None:
    """Past actions with attended sign-ups, one a week, and coming ones with waiting people."""
    for week in range(weeks):
        event = make_event(
            org,
            kind="rally" if week % 2 else "training",
            starts_at=now() - timedelta(weeks=week, days=1),
        )
        for i in range(per_week):
            make_signup(
                event,
                email=f"v{(week * 3 + i) % (per_week * 4)}@example.org",
                attendance="attended" if i % 3 else "no_show",
                created_at=now() - timedelta(weeks=week, days=3),
            )
        make_subscription(organizations=(org,), confirmed_at=now() - timedelta(weeks=week))
    coming = make_event(org, approval_required=True, starts_at=now() + timedelta(days=8))
    make_signup(coming, status="pending")


def test_organizers_only(client, auth, organizer):
    user, org = organizer
    url = f"/orgs/{org.slug}/dashboard"
    response = client.get(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    stranger = make_user()
    auth.login(stranger)
    assert client.get(url).status_code == 403
    auth.logout()
    co_lead = make_user()
    from organizer.extensions import db
    from organizer.models import Membership

    db.session.add(Membership(organization=org, user=co_lead, role=ROLE_ORGANIZER))
    db.session.commit()
    auth.login(co_lead)
    assert client.get(url).status_code == 200
    assert client.get("/orgs/no-such-org/dashboard").status_code == 404


def test_linked_from_the_manage_page(client, auth, organizer):
    user, org = organizer
    auth.login(user)
    html = client.get(f"/orgs/{org.slug}/manage").get_data(as_text=True)
    assert f'href="/orgs/{org.slug}/dashboard"' in html


def test_charts_are_accessible_svg_with_a_table_each(client, auth, organizer):
    user, org = organizer
    _history(org, weeks=4, per_week=3)
    auth.login(user)
    response = client.get(f"/orgs/{org.slug}/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    svgs = re.findall(r"<svg class=\"chart-svg\".*?</svg>", html, re.S)
    assert len(svgs) == 3  # sign-ups, attendance, subscribers
    for svg in svgs:
        assert 'role="img"' in svg
        ids = re.search(r'aria-labelledby="([^"]+)"', svg).group(1).split()
        assert re.search(rf'<title id="{ids[0]}">[^<]+</title>', svg)
        assert re.search(rf'<desc id="{ids[1]}">[^<]+</desc>', svg)
        assert "style=" not in svg and "<style" not in svg and "<script" not in svg
        assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # Each chart is followed by its figures in a table.
    assert html.count('<details class="chart-data">') == 3
    tables = re.findall(r'<details class="chart-data">.*?</details>', html, re.S)
    assert "Week starting" in tables[0] and tables[0].count("<tr>") == 12 + 1
    assert "Kind of action" in tables[1] and "Training" in tables[1] and "%" in tables[1]
    assert "Subscribers" in tables[2]
    assert "Needs attention" in html and "1 to approve" in html
    assert " style=" not in html  # the CSP forbids inline styles


def _bar_xs(html: str) -> list[float]:
    chart = re.search(r'id="signups-chart".*?</svg>', html, re.S).group(0)
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+"\s+text-anchor="middle"', chart)
    return [float(x) for x in labels]


def test_time_runs_right_to_left_in_hebrew_and_arabic(client, auth, organizer):
    user, org = organizer
    _history(org, weeks=3, per_week=2)
    auth.login(user)
    english = client.get(f"/orgs/{org.slug}/dashboard?lang=en").get_data(as_text=True)
    xs = _bar_xs(english)
    assert xs == sorted(xs)  # oldest on the left
    for lang in ("he", "ar"):
        page = client.get(f"/orgs/{org.slug}/dashboard?lang={lang}").get_data(as_text=True)
        assert 'dir="rtl"' in page
        mirrored = _bar_xs(page)
        assert mirrored == sorted(mirrored, reverse=True)  # oldest on the right
        assert len(mirrored) == len(xs)
        # The value axis moves to the right as well: its labels start past the plot.
        tick = re.search(
            r'class="chart-grid">\s*<line x1="(\d+)" x2="(\d+)".*?<text x="(\d+)"', page, re.S
        )
        assert int(tick.group(3)) > int(tick.group(2))


def test_empty_organization_says_so(client, auth, organizer):
    user, org = organizer
    auth.login(user)
    html = client.get(f"/orgs/{org.slug}/dashboard").get_data(as_text=True)
    assert "Nothing needs your attention right now." in html
    assert "No attendance taken" in html
    assert html.count('<svg class="chart-svg"') == 2  # no attendance chart without figures


def test_query_count_does_not_grow_with_history(client, auth, organizer):
    user, org = organizer
    auth.login(user)
    url = f"/orgs/{org.slug}/dashboard"
    _history(org, weeks=2, per_week=2)
    client.get(url)
    with count_queries() as small:
        assert client.get(url).status_code == 200
    _history(org, weeks=30, per_week=6)
    client.get(url)
    with count_queries() as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small)
    assert len(small) <= 12


def _network(owner):
    from organizer.extensions import db
    from organizer.models import NetworkMembership

    network = make_org(owner=owner, name="Umbrella network", is_network=True)
    members = [make_org(name=f"Member {i}") for i in range(2)]
    outsider = make_org(name="Invited, not yet in")
    for member in members:
        db.session.add(NetworkMembership(network=network, member=member, status="active"))
    db.session.add(NetworkMembership(network=network, member=outsider, status="invited"))
    db.session.commit()
    return network, members, outsider


def test_network_dashboard_shows_counts_only(client, auth, app):
    owner = make_user()
    network, members, outsider = _network(owner)
    event = make_event(members[0], title="Member action", starts_at=now() + timedelta(days=1))
    make_signup(event, name="Secret Volunteer Name", email="secret@example.org", status="pending")
    make_signup(make_event(outsider), email="outsider@example.org")
    url = f"/orgs/{network.slug}/network/dashboard"

    auth.login(make_user())
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login(owner)
    html = client.get(url).get_data(as_text=True)
    assert "2 active member organizations" in html
    assert html.count('<svg class="chart-svg"') == 2  # sign-ups and subscribers
    assert "Secret Volunteer Name" not in html and "secret@example.org" not in html
    assert "Member action" not in html  # no list of actions either
    table = re.search(r'<details class="chart-data">.*?</details>', html, re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", table)[-3:] == ["1", "0", "1"]  # this week: 1 new
    own = client.get(f"/orgs/{network.slug}/dashboard").get_data(as_text=True)
    assert url in own


def test_network_dashboard_of_an_ordinary_organization_is_not_found(client, auth, organizer):
    user, org = organizer
    auth.login(user)
    assert client.get(f"/orgs/{org.slug}/network/dashboard").status_code == 404
    assert "/network/dashboard" not in client.get(f"/orgs/{org.slug}/dashboard").get_data(
        as_text=True
    )


def test_network_dashboard_query_count_is_fixed(client, auth, app):
    owner = make_user()
    network, members, _outsider = _network(owner)
    auth.login(owner)
    url = f"/orgs/{network.slug}/network/dashboard"
    _history(members[0], weeks=2, per_week=2)
    client.get(url)
    with count_queries() as small:
        client.get(url)
    _history(members[1], weeks=20, per_week=5)
    client.get(url)
    with count_queries() as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small)
