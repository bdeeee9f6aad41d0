"""Networks: organizations that other organizations belong to, by consent of both sides.

An organization becomes a network when one of its owners says so. A membership needs both
sides: the network's owners invite and the member organization's owners accept, or the member's
owners ask to join and the network's owners accept. Either side ends it at any time (which also
withdraws or declines a pending invitation or request). An organization may belong to several
networks; at most one live (invited, requested or active) row exists per pair, enforced by a
partial unique index, so two clicks at once make one row.

A network sees only what its members publish: membership gives the network's organizers no
right on a member's actions, rosters or volunteers (permissions.py knows nothing of networks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..choices import LANGUAGE_NAMES
from ..email import build_email, send_many
from ..extensions import db
from ..models import Membership, NetworkMembership, Organization, User
from ..models import network as nw
from ..models.organization import ROLE_OWNER
from ..web import absolute_url, url_context
from . import permissions
from .errors import DomainError, InvalidInput, InvalidTransition, NotAllowed, NotFound


class AlreadyInNetwork(DomainError):
    """A live membership (invited, requested or active) already joins the two organizations."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class NotANetwork(DomainError):
    """Only an organization that is a network can have members."""


class NetworkHasMembers(DomainError):
    """A network with live memberships can't stop being one: end them first."""


# --- being a network ------------------------------------------------------------------------


def set_network(org: Organization, acting_user: User, is_network: bool) -> Organization:
    """Owners make their organization a network, or stop it being one once nobody is in it."""
    if not permissions.is_owner_of(acting_user, org):
        raise NotAllowed()
    if not is_network and org.is_network:
        live = db.session.scalar(
            select(func.count())
            .select_from(NetworkMembership)
            .where(
                NetworkMembership.network_id == org.id,
                NetworkMembership.status.in_(nw.LIVE_STATUSES),
            )
        )
        if live:
            raise NetworkHasMembers()
    org.is_network = is_network
    db.session.commit()
    return org


# --- asking and answering ---------------------------------------------------------------------


def _organization_by_slug(slug: str, field_name: str) -> Organization:
    slug = (slug or "").strip().lower()[:64]
    org = db.session.scalar(select(Organization).where(Organization.slug == slug)) if slug else None
    if org is None:
        raise InvalidInput({field_name: _l("No organization has this address.")})
    return org


def _live(network_id: int, member_id: int) -> NetworkMembership | None:
    return db.session.scalar(
        select(NetworkMembership).where(
            NetworkMembership.network_id == network_id,
            NetworkMembership.member_id == member_id,
            NetworkMembership.status.in_(nw.LIVE_STATUSES),
        )
    )


def _activate(row: NetworkMembership, expected: str, acting_user: User, now: datetime) -> bool:
    """Accept a pending row if it is still `expected`: one conditional UPDATE, so of two
    accepts at once exactly one changes it. True if this call did."""
    result = db.session.execute(
        update(NetworkMembership)
        .where(NetworkMembership.id == row.id, NetworkMembership.status == expected)
        .values(status=nw.NETWORK_ACTIVE, accepted_by_id=acting_user.id, accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(row)
    return bool(result.rowcount)


@dataclass
class Asked:
    """What invite or request_to_join did: a new pending row, or an accepted one when the
    other side had already asked."""

    membership: NetworkMembership
    accepted: bool = False


def _ask(
    network: Organization,
    member: Organization,
    acting_user: User,
    now: datetime,
    *,
    status: str,
    field_name: str,
) -> Asked:
    if not network.is_network:
        raise InvalidInput({field_name: _l("This organization is not a network.")})
    if network.id == member.id:
        raise InvalidInput({field_name: _l("An organization can't be a member of itself.")})
    other_side = nw.NETWORK_REQUESTED if status == nw.NETWORK_INVITED else nw.NETWORK_INVITED
    existing = _live(network.id, member.id)
    if existing is not None:
        if existing.status == other_side:  # both sides asked: that is consent from both
            _activate(existing, other_side, acting_user, now)
            return Asked(existing, accepted=existing.status == nw.NETWORK_ACTIVE)
        raise AlreadyInNetwork(existing.status)
    row = NetworkMembership(
        network_id=network.id, member_id=member.id, status=status, created_at=now
    )
    if status == nw.NETWORK_INVITED:
        row.invited_by_id, row.invited_at = acting_user.id, now
    else:
        row.requested_by_id, row.requested_at = acting_user.id, now
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # the same pair asked a moment ago by someone else
        db.session.rollback()
        existing = _live(network.id, member.id)
        if existing is None:
            raise
        raise AlreadyInNetwork(existing.status) from None
    return Asked(row)


def invite(network: Organization, member_slug: str, acting_user: User, now: datetime) -> Asked:
    """The network's owners invite an organization; its owners are then asked to accept."""
    if not permissions.is_owner_of(acting_user, network):
        raise NotAllowed()
    if not network.is_network:
        raise NotANetwork()
    member = _organization_by_slug(member_slug, "slug")
    return _ask(network, member, acting_user, now, status=nw.NETWORK_INVITED, field_name="slug")


def request_to_join(
    member: Organization, network_slug: str, acting_user: User, now: datetime
) -> Asked:
    """The member organization's owners ask to join a network; its owners are asked to accept."""
    if not permissions.is_owner_of(acting_user, member):
        raise NotAllowed()
    network = _organization_by_slug(network_slug, "slug")
    return _ask(network, member, acting_user, now, status=nw.NETWORK_REQUESTED, field_name="slug")


def _row_of(org: Organization, membership_id: int) -> NetworkMembership:
    """A membership `org` is one side of (NotFound otherwise: nothing said of others' rows)."""
    row = db.session.get(NetworkMembership, membership_id)
    if row is None or org.id not in (row.network_id, row.member_id):
        raise NotFound(membership_id)
    return row


def accept(org: Organization, membership_id: int, acting_user: User, now: datetime) -> bool:
    """`org`'s owners accept what the other side asked: an invitation (as the member) or a
    request (as the network). Accepting twice changes nothing; returns True if this call did."""
    if not permissions.is_owner_of(acting_user, org):
        raise NotAllowed()
    row = _row_of(org, membership_id)
    answering = {nw.NETWORK_INVITED: row.member_id, nw.NETWORK_REQUESTED: row.network_id}
    if row.status == nw.NETWORK_ACTIVE:
        return False
    if row.status not in answering:
        raise InvalidTransition(row.status)
    if answering[row.status] != org.id:
        raise NotAllowed()  # the side that asked can't accept for the other
    if _activate(row, row.status, acting_user, now):
        return True
    if row.status == nw.NETWORK_ACTIVE:  # accepted at the same moment by someone else
        return False
    raise InvalidTransition(row.status)  # ended meanwhile


def end(org: Organization, membership_id: int, acting_user: User, now: datetime) -> bool:
    """Either side's owners end a membership, or withdraw or decline a pending one. Ending
    twice changes nothing; returns True if this call did."""
    if not permissions.is_owner_of(acting_user, org):
        raise NotAllowed()
    row = _row_of(org, membership_id)
    result = db.session.execute(
        update(NetworkMembership)
        .where(
            NetworkMembership.id == row.id,
            NetworkMembership.status.in_(nw.LIVE_STATUSES),
        )
        .values(status=nw.NETWORK_ENDED, ended_by_id=acting_user.id, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(row)
    return bool(result.rowcount)


# --- emails -----------------------------------------------------------------------------------


def notify_asked(asked: Asked, acting_user: User) -> int:
    """Email the owners of the side that must answer; when the ask accepted what the other side
    had asked already, tell that side it is done instead."""
    row = asked.membership
    if asked.accepted:
        return notify_accepted(row, acting_user)
    if row.status == nw.NETWORK_INVITED:
        return _email_owners(row.member, "network_invitation", row, acting_user)
    return _email_owners(row.network, "network_request", row, acting_user)


def notify_accepted(row: NetworkMembership, acting_user: User) -> int:
    """Tell the owners of the side that asked that the other side accepted."""
    asker = row.member if row.requested_at is not None else row.network
    return _email_owners(asker, "network_accepted", row, acting_user)


def _email_owners(
    to_org: Organization, template: str, row: NetworkMembership, acting_user: User
) -> int:
    """One email per owner of `to_org`, each in their own language; how many were sent."""
    owners = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == to_org.id, Membership.role == ROLE_OWNER)
        .order_by(User.id)
    )
    messages = []
    with url_context():
        manage_url = absolute_url("networks.manage", slug=to_org.slug)
        for owner in owners:
            if owner.id == acting_user.id:
                continue  # an owner of both sides: they know
            locale = owner.locale if owner.locale in LANGUAGE_NAMES else to_org.default_locale
            with force_locale(locale):
                subject = _subject(template, row)
            messages.append(
                build_email(
                    owner.email,
                    template,
                    locale,
                    subject=subject,
                    network=row.network,
                    member=row.member,
                    org=to_org,
                    acting_user=acting_user,
                    manage_url=manage_url,
                )
            )
    return send_many(messages)


def _subject(template: str, row: NetworkMembership) -> str:
    """Built here, unescaped: a name like "A & B" stays as typed."""
    names = {"network": row.network.name, "member": row.member.name}
    if template == "network_invitation":
        return gettext("%(network)s invites %(member)s to join the network", **names)
    if template == "network_request":
        return gettext("%(member)s asks to join %(network)s", **names)
    return gettext("%(member)s is now a member of %(network)s", **names)


# --- reading ----------------------------------------------------------------------------------


def active_member_ids(network_id: int):
    """A subquery: the ids of the network's active members."""
    return select(NetworkMembership.member_id).where(
        NetworkMembership.network_id == network_id,
        NetworkMembership.status == nw.NETWORK_ACTIVE,
    )


def active_members(network: Organization) -> list[Organization]:
    """The network's active member organizations, by name (one query)."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.id.in_(active_member_ids(network.id)))
            .order_by(func.lower(Organization.name), Organization.id)
        )
    )


def networks_of(org: Organization) -> list[Organization]:
    """The networks `org` is an active member of, by name (one query)."""
    return list(
        db.session.scalars(
            select(Organization)
            .join(NetworkMembership, NetworkMembership.network_id == Organization.id)
            .where(
                NetworkMembership.member_id == org.id,
                NetworkMembership.status == nw.NETWORK_ACTIVE,
            )
            .order_by(func.lower(Organization.name), Organization.id)
        )
    )


@dataclass
class NetworkOverview:
    """Everything the organization's network page shows, from one query."""

    members: list[NetworkMembership] = field(default_factory=list)  # as the network: active
    invitations_sent: list[NetworkMembership] = field(default_factory=list)
    requests_received: list[NetworkMembership] = field(default_factory=list)
    networks: list[NetworkMembership] = field(default_factory=list)  # as a member: active
    invitations_received: list[NetworkMembership] = field(default_factory=list)
    requests_sent: list[NetworkMembership] = field(default_factory=list)


def overview(org: Organization) -> NetworkOverview:
    """The organization's live memberships on both sides, sorted into what the page lists."""
    rows = db.session.scalars(
        select(NetworkMembership)
        .where(
            or_(NetworkMembership.network_id == org.id, NetworkMembership.member_id == org.id),
            NetworkMembership.status.in_(nw.LIVE_STATUSES),
        )
        .options(
            joinedload(NetworkMembership.network),
            joinedload(NetworkMembership.member),
            joinedload(NetworkMembership.invited_by),
            joinedload(NetworkMembership.requested_by),
        )
        .order_by(NetworkMembership.created_at, NetworkMembership.id)
    )
    result = NetworkOverview()
    places = {
        (True, nw.NETWORK_ACTIVE): result.members,
        (True, nw.NETWORK_INVITED): result.invitations_sent,
        (True, nw.NETWORK_REQUESTED): result.requests_received,
        (False, nw.NETWORK_ACTIVE): result.networks,
        (False, nw.NETWORK_INVITED): result.invitations_received,
        (False, nw.NETWORK_REQUESTED): result.requests_sent,
    }
    for row in rows:
        places[(row.network_id == org.id, row.status)].append(row)
    result.members.sort(key=lambda r: (r.member.name.lower(), r.id))
    result.networks.sort(key=lambda r: (r.network.name.lower(), r.id))
    return result


def network_organizations(network: Organization) -> list[Organization]:
    """For the filter on the network's page: the network itself, then its members by name."""
    return [network, *active_members(network)]


def membership(membership_id: int) -> NetworkMembership:
    row = db.session.get(NetworkMembership, membership_id)
    if row is None:
        raise NotFound(membership_id)
    return row
