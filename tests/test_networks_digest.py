"""A network highlights up to three of its members' public actions a week, and following a
network in the digest is following all its active members, the network's highlights first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from organizer.extensions import db
from organizer.models import Highlight
from organizer.services import digest_sender, networks
from organizer.services import highlights as hl
from organizer.services.digest_selection import SubscriberProfile, load_candidates, pick

from .factories import make_event, make_org, make_subscription, make_user, now
from .helpers import count_queries, text_part

DAY = timedelta(days=1)


def join(network, network_owner, member, member_owner):
    row = networks.request_to_join(member, network.slug, member_owner, now()).membership
    networks.accept(network, row.id, network_owner, now())
    return row


@pytest.fixture()
def net(app):
    coordinator = make_user()
    network = make_org(slug="net", name="The Network", owner=coordinator, is_network=True)
    a_owner, b_owner = make_user(), make_user()
    a = make_org(slug="member-a", name="Member A", owner=a_owner)
    b = make_org(slug="member-b", name="Member B", owner=b_owner)
    join(network, coordinator, a, a_owner)
    join(network, coordinator, b, b_owner)
    outsider = make_org(slug="outsider", name="Outsider")
    return {
        "network": network,
        "coordinator": coordinator,
        "a": a,
        "b": b,
        "a_owner": a_owner,
        "b_owner": b_owner,
        "outsider": outsider,
    }


# --- highlights -----------------------------------------------------------------------------------


def test_a_network_highlights_its_members_public_actions_up_to_three_a_week(net):
    network, coordinator = net["network"], net["coordinator"]
    actions = [
        make_event(net["a" if i % 2 else "b"], title=f"Member action {i}", starts_in=DAY * (i + 1))
        for i in range(4)
    ]
    for event in actions[:3]:
        hl.highlight(network, event, coordinator, now())
    with pytest.raises(hl.HighlightLimitReached):
        hl.highlight(network, actions[3], coordinator, now())
    # The member's own highlights are its own: three more for member A is fine.
    hl.highlight(net["a"], actions[1], net["a_owner"], now())
    assert db.session.query(Highlight).filter_by(organization_id=network.id).count() == 3


def test_only_active_members_public_upcoming_actions(net):
    network, coordinator = net["network"], net["coordinator"]
    outsider_action = make_event(net["outsider"], title="Not ours")
    unlisted = make_event(net["a"], visibility="unlisted")
    draft = make_event(net["a"], status="draft")
    with pytest.raises(hl.NotInNetwork):
        hl.highlight(network, outsider_action, coordinator, now())
    for event in (unlisted, draft):
        with pytest.raises(hl.NotEligible):
            hl.highlight(network, event, coordinator, now())
    # Once a member leaves, its actions can't be highlighted by the network.
    (row,) = [r for r in networks.overview(network).members if r.member_id == net["b"].id]
    b_action = make_event(net["b"])
    networks.end(network, row.id, coordinator, now())
    with pytest.raises(hl.NotInNetwork):
        hl.highlight(network, b_action, coordinator, now())
    # A member's organizers can't highlight for the network.
    with pytest.raises(hl.NotAllowed):
        hl.highlight(network, make_event(net["a"]), net["a_owner"], now())


def test_the_highlights_page_lists_members_actions(net, client, auth, post_form):
    event = make_event(net["a"], title="Member A march")
    auth.login(net["coordinator"])
    page = "/digest/orgs/net/highlights"
    assert "Member A march" in client.get(page).get_data(as_text=True)
    week = hl.weeks(net["network"], now())[0]
    response = post_form(f"{page}/add", {"event_id": event.id, "week": week}, page=page)
    assert response.status_code == 302
    outsider = make_event(net["outsider"])
    response = post_form(f"{page}/add", {"event_id": outsider.id, "week": week}, page=page)
    assert response.status_code == 400
    assert "network or one of its active members" in response.get_data(as_text=True)


# --- the digest ---------------------------------------------------------------------------------


def profile(*orgs, max_actions=10) -> SubscriberProfile:
    return SubscriberProfile(
        organization_ids=frozenset(o.id for o in orgs), max_actions=max_actions
    )


def test_following_a_network_follows_its_active_members_network_highlights_first(net):
    network, coordinator = net["network"], net["coordinator"]
    a_soon = make_event(net["a"], title="A soon", starts_in=DAY)
    own = make_event(network, title="Network own", starts_in=DAY * 2)
    b_later = make_event(net["b"], title="B later", starts_in=DAY * 3)
    make_event(net["outsider"], title="Outsider", starts_in=DAY)
    a_highlight = make_event(net["a"], title="A highlights", starts_in=DAY * 4)
    hl.highlight(net["a"], a_highlight, net["a_owner"], now())
    hl.highlight(network, b_later, coordinator, now())
    picked = [e.title for e in pick(profile(network), load_candidates(now()), set())]
    # The network's pick first, then its members' own highlights, then the rest soonest first.
    assert picked == ["B later", "A highlights", "A soon", "Network own"]
    assert own.id and a_soon.id
    # Following only member A: the network's highlight of B is no concern of theirs.
    only_a = [e.title for e in pick(profile(net["a"]), load_candidates(now()), set())]
    assert only_a == ["A highlights", "A soon"]


def test_an_ended_membership_stops_the_follow_and_the_networks_highlight(net):
    network, coordinator = net["network"], net["coordinator"]
    b_action = make_event(net["b"], title="B action", starts_in=DAY)
    hl.highlight(network, b_action, coordinator, now())
    (row,) = [r for r in networks.overview(network).members if r.member_id == net["b"].id]
    networks.end(net["b"], row.id, net["b_owner"], now())
    candidates = load_candidates(now())
    assert candidates.highlighted_by.get(b_action.id, frozenset()) == frozenset()
    assert pick(profile(network), candidates, set()) == []


def test_load_candidates_queries_do_not_grow_with_networks(net):
    with count_queries() as few:
        load_candidates(now())
    for i in range(5):
        owner = make_user()
        network = make_org(owner=owner, is_network=True)
        member_owner = make_user()
        member = make_org(owner=member_owner)
        join(network, owner, member, member_owner)
        make_event(member, title=f"Member {i}")
    with count_queries() as many:
        loaded = load_candidates(now())
    assert len(many) == len(few) <= 7
    assert len(loaded.network_members) == 6


# Tuesday 10 November 2026, 10:00 in Jerusalem: Tuesday-09:00 subscribers there are due.
NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)


def test_the_sent_digest_of_a_network_follower_lists_members_actions(net, mailbox):
    make_event(net["a"], title="Member A's rally", starts_at=NOW + DAY)
    make_event(net["outsider"], title="Somebody else's", starts_at=NOW + DAY)
    make_subscription("follower@example.org", organizations=(net["network"],))
    assert digest_sender.send_due(NOW, use_queue=False).sent == 1
    (message,) = mailbox.wait_for(1)
    body = text_part(message)
    assert "Member A's rally" in body
    assert "Somebody else's" not in body


def test_the_subscribe_form_offers_networks(net, client):
    html = client.get("/digest/subscribe").get_data(as_text=True)
    assert "The Network (network: also its member organizations&#39; actions)" in html
    assert "Member A (network" not in html
