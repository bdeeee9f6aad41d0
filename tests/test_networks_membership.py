"""Network memberships need both sides: invite then accept, or request then accept; either side
ends it; one live membership per pair, also when two owners click at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Membership, NetworkMembership, Organization, User
from organizer.models import network as nw
from organizer.models.organization import ROLE_ORGANIZER
from organizer.services import networks
from organizer.services.errors import InvalidInput, InvalidTransition, NotAllowed, NotFound

from .factories import make_org, make_user, now
from .helpers import html_part, text_part


@pytest.fixture()
def sides(app):
    """A network and an organization, each with an owner and an organizer."""
    network_owner = make_user(name="Lina Network", locale="ar")
    member_owner = make_user(name="Noa Member", locale="he")
    network = make_org(slug="peace-network", owner=network_owner, is_network=True)
    member = make_org(slug="common-road", owner=member_owner)
    network_organizer, member_organizer = make_user(), make_user()
    db.session.add_all(
        [
            Membership(organization=network, user=network_organizer, role=ROLE_ORGANIZER),
            Membership(organization=member, user=member_organizer, role=ROLE_ORGANIZER),
        ]
    )
    db.session.commit()
    return {
        "network": network,
        "member": member,
        "network_owner": network_owner,
        "member_owner": member_owner,
        "network_organizer": network_organizer,
        "member_organizer": member_organizer,
    }


def live_rows() -> list[NetworkMembership]:
    return list(
        db.session.scalars(
            select(NetworkMembership).where(NetworkMembership.status.in_(nw.LIVE_STATUSES))
        )
    )


def test_invite_then_accept(sides):
    asked = networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    row = asked.membership
    assert (row.status, row.invited_by_id) == (nw.NETWORK_INVITED, sides["network_owner"].id)
    assert not asked.accepted
    assert networks.active_members(sides["network"]) == []
    # The side that asked can't accept for the other.
    with pytest.raises(NotAllowed):
        networks.accept(sides["network"], row.id, sides["network_owner"], now())
    assert networks.accept(sides["member"], row.id, sides["member_owner"], now()) is True
    db.session.refresh(row)
    assert (row.status, row.accepted_by_id) == (nw.NETWORK_ACTIVE, sides["member_owner"].id)
    assert row.accepted_at is not None
    assert networks.active_members(sides["network"]) == [sides["member"]]
    assert networks.networks_of(sides["member"]) == [sides["network"]]
    # Accepting again changes nothing.
    assert networks.accept(sides["member"], row.id, sides["member_owner"], now()) is False


def test_request_then_accept(sides):
    asked = networks.request_to_join(sides["member"], "peace-network", sides["member_owner"], now())
    row = asked.membership
    assert (row.status, row.requested_by_id) == (nw.NETWORK_REQUESTED, sides["member_owner"].id)
    with pytest.raises(NotAllowed):
        networks.accept(sides["member"], row.id, sides["member_owner"], now())
    assert networks.accept(sides["network"], row.id, sides["network_owner"], now())
    assert networks.active_members(sides["network"]) == [sides["member"]]


def test_asking_when_the_other_side_asked_already_is_consent_from_both(sides):
    networks.request_to_join(sides["member"], "peace-network", sides["member_owner"], now())
    asked = networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    assert asked.accepted
    assert asked.membership.status == nw.NETWORK_ACTIVE
    assert len(live_rows()) == 1


@pytest.mark.parametrize("answering", ["member", "network"])
def test_decline_ends_the_pending_row_and_allows_asking_again(sides, answering):
    if answering == "member":
        row = networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    else:
        row = networks.request_to_join(
            sides["member"], "peace-network", sides["member_owner"], now()
        )
    row = row.membership
    assert networks.end(sides[answering], row.id, sides[f"{answering}_owner"], now())
    db.session.refresh(row)
    assert (row.status, row.ended_by_id) == (nw.NETWORK_ENDED, sides[f"{answering}_owner"].id)
    with pytest.raises(InvalidTransition):
        networks.accept(sides["member"], row.id, sides["member_owner"], now())
    # A declined invitation doesn't block a new one; the old row stays as the record.
    again = networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    assert again.membership.id != row.id
    assert db.session.scalar(select(func.count()).select_from(NetworkMembership)) == 2


@pytest.mark.parametrize("ending", ["member", "network"])
def test_either_side_ends_an_active_membership(sides, ending):
    row = networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    networks.accept(sides["member"], row.membership.id, sides["member_owner"], now())
    assert networks.end(sides[ending], row.membership.id, sides[f"{ending}_owner"], now())
    assert networks.active_members(sides["network"]) == []
    assert networks.networks_of(sides["member"]) == []
    assert networks.end(sides[ending], row.membership.id, sides[f"{ending}_owner"], now()) is False


def test_no_double_membership(sides):
    networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    with pytest.raises(networks.AlreadyInNetwork) as invited:
        networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    assert invited.value.status == nw.NETWORK_INVITED
    row = live_rows()[0]
    networks.accept(sides["member"], row.id, sides["member_owner"], now())
    with pytest.raises(networks.AlreadyInNetwork):
        networks.request_to_join(sides["member"], "peace-network", sides["member_owner"], now())
    with pytest.raises(networks.AlreadyInNetwork):
        networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    assert len(live_rows()) == 1


def test_an_organization_may_belong_to_several_networks(sides):
    other_owner = make_user()
    other = make_org(slug="women-network", owner=other_owner, is_network=True)
    for network, owner in ((sides["network"], sides["network_owner"]), (other, other_owner)):
        row = networks.invite(network, "common-road", owner, now()).membership
        networks.accept(sides["member"], row.id, sides["member_owner"], now())
    assert {n.slug for n in networks.networks_of(sides["member"])} == {
        "peace-network",
        "women-network",
    }


def test_only_owners_take_each_step(sides):
    with pytest.raises(NotAllowed):
        networks.invite(sides["network"], "common-road", sides["network_organizer"], now())
    with pytest.raises(NotAllowed):
        networks.invite(sides["network"], "common-road", sides["member_owner"], now())
    row = networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    row = row.membership
    with pytest.raises(NotAllowed):
        networks.accept(sides["member"], row.id, sides["member_organizer"], now())
    with pytest.raises(NotAllowed):  # an owner of the network is no owner of the member
        networks.accept(sides["member"], row.id, sides["network_owner"], now())
    with pytest.raises(NotAllowed):
        networks.end(sides["member"], row.id, sides["member_organizer"], now())
    with pytest.raises(NotAllowed):
        networks.request_to_join(sides["member"], "peace-network", sides["member_organizer"], now())
    with pytest.raises(NotAllowed):
        networks.set_network(sides["member"], sides["member_organizer"], True)
    # A third organization's owner can't touch a row it is no side of.
    stranger_owner = make_user()
    stranger = make_org(owner=stranger_owner)
    with pytest.raises(NotFound):
        networks.end(stranger, row.id, stranger_owner, now())
    assert live_rows()[0].status == nw.NETWORK_INVITED


def test_bad_targets_are_refused_with_a_message(sides):
    with pytest.raises(InvalidInput) as unknown:
        networks.invite(sides["network"], "no-such-org", sides["network_owner"], now())
    assert "slug" in unknown.value.errors
    with pytest.raises(InvalidInput):
        networks.invite(sides["network"], "peace-network", sides["network_owner"], now())
    with pytest.raises(InvalidInput):  # not a network
        networks.request_to_join(sides["network"], "common-road", sides["network_owner"], now())
    with pytest.raises(networks.NotANetwork):
        networks.invite(sides["member"], "peace-network", sides["member_owner"], now())
    assert live_rows() == []


def test_a_network_with_members_cant_stop_being_one(sides):
    networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    with pytest.raises(networks.NetworkHasMembers):
        networks.set_network(sides["network"], sides["network_owner"], False)
    networks.end(sides["network"], live_rows()[0].id, sides["network_owner"], now())
    networks.set_network(sides["network"], sides["network_owner"], False)
    assert not sides["network"].is_network


# --- pages and emails ---------------------------------------------------------------------------


def test_invite_and_accept_through_the_pages_email_the_other_side(
    sides, client, auth, post_form, mailbox
):
    auth.login(sides["network_owner"])
    page = "/orgs/peace-network/network"
    assert client.get(page).status_code == 200
    response = post_form(f"{page}/invite", {"invite-slug": " Common-Road "}, page=page)
    assert response.status_code == 302
    (message,) = mailbox.wait_for(1)
    assert message["To"] == sides["member_owner"].email
    assert "peace-network" not in message["Subject"]  # names, not addresses
    assert "/orgs/common-road/network" in text_part(message)
    assert 'lang="he"' in html_part(message)  # the member owner's language
    row = live_rows()[0]

    mailbox.clear()
    auth.logout()
    auth.login(sides["member_owner"])
    html = client.get("/orgs/common-road/network").get_data(as_text=True)
    assert "הזמנות להצטרף לרשת" in html  # "Invitations to join a network", in their Hebrew
    response = post_form(
        f"/orgs/common-road/network/{row.id}/accept", {}, page="/orgs/common-road/network"
    )
    assert response.status_code == 302
    (done,) = mailbox.wait_for(1)
    assert done["To"] == sides["network_owner"].email
    db.session.refresh(row)
    assert row.status == nw.NETWORK_ACTIVE


def test_request_through_the_page_emails_the_networks_owners(
    sides, client, auth, post_form, mailbox
):
    auth.login(sides["member_owner"])
    page = "/orgs/common-road/network"
    response = post_form(f"{page}/join", {"join-slug": "peace-network"}, page=page)
    assert response.status_code == 302
    (message,) = mailbox.wait_for(1)
    assert message["To"] == sides["network_owner"].email
    assert 'lang="ar"' in html_part(message)  # the network owner's language
    assert live_rows()[0].status == nw.NETWORK_REQUESTED


def test_bad_input_on_the_pages_is_a_400_with_a_message_and_writes_nothing(
    sides, client, auth, post_form
):
    auth.login(sides["network_owner"])
    page = "/orgs/peace-network/network"
    response = post_form(f"{page}/invite", {"invite-slug": "nobody-here"}, page=page)
    assert response.status_code == 400
    # The network's owner reads Arabic: "No organization has this address."
    assert "لا توجد منظمة بهذا العنوان." in response.get_data(as_text=True)
    response = post_form(f"{page}/invite", {"invite-slug": ""}, page=page)
    assert response.status_code == 400
    networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    response = post_form(f"{page}/invite", {"invite-slug": "common-road"}, page=page)
    assert response.status_code == 400
    assert "مدعوّة إلى الشبكة من قبل" in response.get_data(as_text=True)  # already invited
    assert len(live_rows()) == 1
    # No CSRF token: refused.
    row = live_rows()[0]
    assert client.post(f"{page}/{row.id}/end").status_code == 400
    assert live_rows()[0].status == nw.NETWORK_INVITED


def test_organizers_see_the_page_but_only_owners_post(sides, client, auth, post_form):
    row = networks.invite(sides["network"], "common-road", sides["network_owner"], now())
    auth.login(sides["member_organizer"])
    page = "/orgs/common-road/network"
    html = client.get(page).get_data(as_text=True)
    assert "Only the organization's owners" in html
    response = post_form(f"{page}/{row.membership.id}/accept", {}, page=page)
    assert response.status_code == 403
    response = post_form(f"{page}/join", {"join-slug": "peace-network"}, page=page)
    assert response.status_code == 403
    assert live_rows()[0].status == nw.NETWORK_INVITED
    auth.logout()
    outsider = make_user()
    auth.login(outsider)
    assert client.get(page).status_code == 403


def test_an_owner_makes_the_organization_a_network(sides, client, auth, post_form):
    auth.login(sides["member_owner"])
    page = "/orgs/common-road/network"
    assert post_form(f"{page}/enable", {}, page=page).status_code == 302
    assert db.session.get(Organization, sides["member"].id).is_network
    assert post_form(f"{page}/disable", {}, page=page).status_code == 302
    db.session.expire_all()
    assert not db.session.get(Organization, sides["member"].id).is_network


# --- two owners at once -------------------------------------------------------------------------


@pytest.fixture()
def racing_app(app, tmp_path):
    """The app under test on PostgreSQL; else an app on a SQLite file threads can share."""
    if db.engine.dialect.name != "sqlite":
        yield app
        return

    class FileConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'race.db'}"

    file_app = create_app(FileConfig)
    with file_app.app_context():
        db.create_all()
        yield file_app
        db.session.remove()
        db.engine.dispose()


def _race(racing_app, count: int, step) -> list[str]:
    barrier = threading.Barrier(count)

    def one(i: int) -> str:
        with racing_app.app_context():
            try:
                barrier.wait(timeout=10)
                return step(i)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_two_owners_accepting_at_once_make_one_active_membership(racing_app):
    network_owner, owner_a, owner_b = make_user(), make_user(), make_user()
    network = make_org(owner=network_owner, is_network=True)
    member = make_org(owner=owner_a)
    db.session.add(Membership(organization=member, user=owner_b, role="owner"))
    db.session.commit()
    row_id = networks.invite(network, member.slug, network_owner, now()).membership.id
    owner_ids = [owner_a.id, owner_b.id]
    member_id = member.id

    def accept(i: int) -> str:
        org = db.session.get(Organization, member_id)
        user = db.session.get(User, owner_ids[i])
        return "changed" if networks.accept(org, row_id, user, now()) else "unchanged"

    results = _race(racing_app, 2, accept)
    assert sorted(results) == ["changed", "unchanged"]
    row = db.session.get(NetworkMembership, row_id)
    db.session.refresh(row)
    assert row.status == nw.NETWORK_ACTIVE
    assert row.accepted_by_id in owner_ids


def test_two_invitations_at_once_make_one_row(racing_app):
    owner_a, owner_b, member_owner = make_user(), make_user(), make_user()
    network = make_org(owner=owner_a, is_network=True)
    db.session.add(Membership(organization=network, user=owner_b, role="owner"))
    make_org(slug="joiner", owner=member_owner)
    db.session.commit()
    network_id, owner_ids = network.id, [owner_a.id, owner_b.id]

    def invite(i: int) -> str:
        org = db.session.get(Organization, network_id)
        user = db.session.get(User, owner_ids[i])
        try:
            networks.invite(org, "joiner", user, now())
        except networks.AlreadyInNetwork:
            return "already"
        return "invited"

    results = _race(racing_app, 2, invite)
    assert sorted(results) == ["already", "invited"]
    assert db.session.scalar(select(func.count()).select_from(NetworkMembership)) == 1
