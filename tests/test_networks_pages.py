"""A network's public page and calendar: its members and all their public upcoming actions, with
the filters of /events/, never a hidden place, never an unlisted action."""

from __future__ import annotations

from datetime import timedelta

import pytest

from organizer.extensions import db
from organizer.services import networks

from .calendar_checks import check_ics
from .factories import make_event, make_org, make_user, now
from .helpers import count_queries

HIDDEN_ADDRESS = "Secret Courtyard 7"


def join(network, network_owner, member, member_owner):
    row = networks.invite(network, member.slug, network_owner, now()).membership
    networks.accept(member, row.id, member_owner, now())
    return row


@pytest.fixture()
def network_with_members(app):
    network_owner = make_user()
    network = make_org(slug="peace-network", name="Peace Network", owner=network_owner)
    network.is_network = True
    db.session.commit()
    members = []
    for slug, name in (("alpha", "Alpha Group"), ("beta", "Beta Forum"), ("gamma", "Gamma Circle")):
        owner = make_user()
        member = make_org(slug=slug, name=name, owner=owner)
        join(network, network_owner, member, owner)
        members.append(member)
    invited_owner = make_user()
    invited = make_org(slug="invited-only", name="Invited Only", owner=invited_owner)
    networks.invite(network, invited.slug, network_owner, now())
    outsider = make_org(slug="outsider", name="Outsider Org")
    alpha, beta, gamma = members
    events = {
        "own": make_event(network, title="Network assembly", region="galilee"),
        "alpha": make_event(alpha, title="Alpha rally", region="jerusalem", causes=("peace",)),
        "beta": make_event(
            beta,
            title="Beta vigil",
            region="negev",
            causes=("women",),
            location_visibility="confirmed",
            address=HIDDEN_ADDRESS,
        ),
        "cohosted": make_event(outsider, title="Outsider march with gamma", cohosts=(gamma,)),
        "unlisted": make_event(alpha, title="Alpha unlisted meeting", visibility="unlisted"),
        "draft": make_event(alpha, title="Alpha draft", status="draft"),
        "cancelled": make_event(beta, title="Beta cancelled", status="cancelled"),
        "past": make_event(
            gamma, title="Gamma past", starts_in=timedelta(days=-3), duration=timedelta(hours=1)
        ),
        "invited": make_event(invited, title="Invited-only action"),
        "outsider": make_event(outsider, title="Outsider alone"),
    }
    return {"network": network, "members": members, "events": events, "owner": network_owner}


def test_the_network_page_lists_members_and_their_public_upcoming_actions(
    client, network_with_members
):
    html = client.get("/orgs/peace-network").get_data(as_text=True)
    for name in ("Alpha Group", "Beta Forum", "Gamma Circle"):
        assert name in html
    assert "Invited Only" not in html  # not a member until it accepts
    for title in ("Network assembly", "Alpha rally", "Beta vigil", "Outsider march with gamma"):
        assert title in html
    for title in (
        "Alpha unlisted meeting",
        "Alpha draft",
        "Beta cancelled",
        "Gamma past",
        "Invited-only action",
        "Outsider alone",
    ):
        assert title not in html
    assert HIDDEN_ADDRESS not in html
    assert "4 upcoming actions" in html


def test_a_member_page_names_its_networks(client, network_with_members):
    html = client.get("/orgs/alpha").get_data(as_text=True)
    assert "Member of:" in html and "Peace Network" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=vigil", {"Beta vigil"}),
        ("org=alpha", {"Alpha rally"}),
        ("cause=women", {"Beta vigil"}),
        ("region=galilee", {"Network assembly"}),
        # Outsider's march is co-hosted by gamma, a member; outsider's other action stays out.
        ("org=outsider", {"Outsider march with gamma"}),
    ],
)
def test_the_filters_of_events_apply(client, network_with_members, query, expected):
    html = client.get(f"/orgs/peace-network?{query}").get_data(as_text=True)
    titles = {
        "Network assembly",
        "Alpha rally",
        "Beta vigil",
        "Outsider march with gamma",
        "Outsider alone",
    }
    assert {t for t in titles if t in html} == expected


def test_bad_filter_values_are_a_note_not_an_error(client, network_with_members):
    response = client.get("/orgs/peace-network?from=not-a-date&cause=nope&org=zz-unknown&page=x")
    assert response.status_code == 200
    assert "not a date we understand" in response.get_data(as_text=True)


def test_an_ended_membership_takes_the_members_actions_off(client, network_with_members):
    network, alpha = network_with_members["network"], network_with_members["members"][0]
    (row,) = networks.overview(alpha).networks
    networks.end(network, row.id, network_with_members["owner"], now())
    html = client.get("/orgs/peace-network").get_data(as_text=True)
    assert "Alpha rally" not in html and "Alpha Group" not in html


def test_the_page_is_paginated_in_a_fixed_number_of_queries(app, client, network_with_members):
    alpha, beta, _gamma = network_with_members["members"]
    client.get("/orgs/peace-network")  # warm up
    with count_queries() as few:
        assert client.get("/orgs/peace-network").status_code == 200
    for i in range(30):
        make_event(
            alpha if i % 2 else beta, title=f"Extra {i}", starts_in=timedelta(days=5, hours=i)
        )
    with count_queries() as many:
        first = client.get("/orgs/peace-network").get_data(as_text=True)
    assert len(many) == len(few)
    per_page = app.config["EVENTS_PER_PAGE"]
    assert first.count('class="card event-card') == per_page
    second = client.get("/orgs/peace-network?page=2").get_data(as_text=True)
    assert second.count('class="card event-card') == 34 - per_page
    assert 'rel="prev"' in second


def test_the_network_feed_carries_members_actions_and_no_hidden_place(client, network_with_members):
    response = client.get("/orgs/peace-network/events.ics")
    assert response.status_code == 200
    calendar = check_ics(response.data)
    summaries = {str(v["SUMMARY"]) for v in calendar.walk("VEVENT")}
    assert {"Network assembly", "Alpha rally", "Beta vigil", "Outsider march with gamma"} <= (
        summaries
    )
    assert "Alpha unlisted meeting" not in summaries
    assert "Invited-only action" not in summaries
    assert "Outsider alone" not in summaries
    assert HIDDEN_ADDRESS.encode() not in response.data


def test_the_feed_takes_a_fixed_number_of_queries(client, network_with_members):
    alpha = network_with_members["members"][0]
    client.get("/orgs/peace-network/events.ics")
    with count_queries() as few:
        client.get("/orgs/peace-network/events.ics")
    for i in range(10):
        make_event(alpha, title=f"More {i}")
    with count_queries() as many:
        client.get("/orgs/peace-network/events.ics")
    assert len(many) == len(few)


def test_a_network_hosts_actions_itself(client, auth, network_with_members):
    auth.login(network_with_members["owner"])
    assert client.get("/events/new?org=peace-network").status_code == 200
    assert client.get("/orgs/peace-network/manage").status_code == 200
