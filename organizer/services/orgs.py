"""Organizations and their co-leads: creation, invitations, roles, and the one-owner rule.

Member changes that could leave an organization without an owner lock its owner
memberships first and then count them, in one transaction. On PostgreSQL that is
SELECT ... FOR UPDATE of the owner rows; on SQLite, where FOR UPDATE does nothing, a
no-op write to those rows comes first, so the database's write lock serialises the
change and the count read after it is the truth.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import available_timezones

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..choices import LANGUAGE_NAMES
from ..database import is_sqlite, transaction
from ..email import send_email
from ..extensions import db
from ..models import Event, Invitation, Membership, Organization, User
from ..models import audit as au
from ..models.base import utcnow
from ..models.organization import ROLE_OWNER, ROLES
from ..tokens import InvalidToken, make_token, read_token
from ..web import absolute_url
from . import audit, events, permissions
from .accounts import find_user_by_email, normalize_email
from .errors import (
    AlreadyMember,
    InvalidInput,
    InvalidTransition,
    InvitationUnavailable,
    LastOwnerError,
    NotAllowed,
    NotFound,
)
from .events import EventFilters, EventPage

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])$")  # 2 to 64 characters
# Path segments under /orgs/ and names people would mistake for the site itself.
RESERVED_SLUGS = frozenset(
    {
        "new", "mine", "admin", "administrator", "invitations", "invite", "manage", "edit",
        "members", "api", "auth", "static", "events", "orgs", "calendar", "digest", "login",
        "logout", "register", "settings", "help", "about", "www", "mail", "root", "system",
        "organizer", "healthz",
    }
)  # fmt: skip
NAME_MAX = 120
DESCRIPTION_MAX = 5000
PUBLIC_EVENTS_LIMIT = 100

INVITATION_INVALID = "invalid"
INVITATION_EXPIRED = "expired"
INVITATION_REVOKED = "revoked"
INVITATION_USED = "used"
INVITATION_WRONG_USER = "wrong_user"


# --- organizations --------------------------------------------------------------------------


def _validated_details(
    name: str, description: str, timezone: str, default_locale: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Clean values and, per field, what is wrong with them."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    description = (description or "").strip()
    if not name:
        errors["name"] = _l("Enter the organization's name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _l("Use at most %(n)d characters.", n=NAME_MAX)
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _l("Use at most %(n)d characters.", n=DESCRIPTION_MAX)
    if timezone not in available_timezones():
        errors["timezone"] = _l("Choose a time zone from the list.")
    if default_locale not in LANGUAGE_NAMES:
        errors["default_locale"] = _l("Choose a language from the list.")
    values = {
        "name": name,
        "description": description,
        "timezone": timezone,
        "default_locale": default_locale,
    }
    return values, errors


def slug_problem(slug: str) -> str | None:
    """Why a slug can't be used (format or reserved), or None; uniqueness is checked on write."""
    if not SLUG_RE.match(slug):
        return _l(
            "Use between 2 and 64 lower-case letters (a–z), digits and hyphens, "
            "starting and ending with a letter or digit."
        )
    if slug in RESERVED_SLUGS:
        return _l("This address is reserved. Please choose another.")
    return None


def _slug_taken_error() -> InvalidInput:
    return InvalidInput({"slug": _l("Another organization already uses this address.")})


def create_organization(
    creator: User,
    slug: str,
    name: str,
    description: str,
    timezone: str,
    default_locale: str,
) -> Organization:
    """A new organization with its creator as owner; commits, or raises InvalidInput."""
    slug = (slug or "").strip()
    values, errors = _validated_details(name, description, timezone, default_locale)
    problem = slug_problem(slug)
    if problem is not None:
        errors["slug"] = problem
    elif db.session.scalar(select(Organization.id).where(Organization.slug == slug)):
        errors["slug"] = _slug_taken_error().errors["slug"]
    if errors:
        raise InvalidInput(errors)
    org = Organization(slug=slug, **values)
    db.session.add(org)
    db.session.add(Membership(organization=org, user_id=creator.id, role=ROLE_OWNER))
    try:
        db.session.commit()
    except IntegrityError as exc:  # the same slug taken a moment ago by someone else
        db.session.rollback()
        raise _slug_taken_error() from exc
    return org


def update_organization(
    org: Organization,
    acting_user: User,
    *,
    name: str,
    description: str,
    timezone: str,
    default_locale: str,
) -> Organization:
    """Change the details (not the slug: links to the page must keep working); owners only."""
    if not permissions.is_owner_of(acting_user, org):
        raise NotAllowed()
    values, errors = _validated_details(name, description, timezone, default_locale)
    if errors:
        raise InvalidInput(errors)
    for key, value in values.items():
        setattr(org, key, value)
    db.session.commit()
    return org


def get_organization(slug: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise NotFound(slug)
    return org


def organization_for(user: User, slug: str, *, owner: bool = False) -> Organization:
    """The organization if `user` is one of its organizers (its owners, with `owner`)."""
    org = get_organization(slug)
    allowed = permissions.is_owner_of if owner else permissions.is_organizer_of
    if not allowed(user, org):
        raise NotAllowed()
    return org


def organizations_of(user: User) -> list[tuple[Organization, str]]:
    """The user's organizations with their role, by name."""
    rows = db.session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(func.lower(Organization.name), Organization.id)
    )
    return [(org, role) for org, role in rows]


def all_organizations() -> list[Organization]:
    return list(
        db.session.scalars(
            select(Organization).order_by(func.lower(Organization.name), Organization.id)
        )
    )


def organization_choices() -> list[Row]:
    """Every organization's slug and name, in all_organizations' order: the listing's filter
    menu needs no more, and plain rows cost a page a third of loading the models."""
    return list(
        db.session.execute(
            select(Organization.slug, Organization.name).order_by(
                func.lower(Organization.name), Organization.id
            )
        )
    )


def hosts_for(user: User) -> list[Organization]:
    """The organizations `user` may post actions for: theirs, or every one for an admin."""
    if user.is_admin:
        return all_organizations()
    return [org for org, _role in organizations_of(user)]


def upcoming_public_events(
    org: Organization, now: datetime, limit: int = PUBLIC_EVENTS_LIMIT
) -> EventPage:
    """Published public actions the organization hosts or co-hosts, not over yet, soonest first,
    with their sign-up counts: the same few queries whatever the number."""
    return events.search_events(EventFilters(org=org), now, page=1, per_page=limit)


def managed_events(org: Organization, now: datetime) -> tuple[list[Event], list[Event]]:
    """Every action the organization hosts or co-hosts, any status: those not over yet, soonest
    first, and past ones, latest first (two queries plus the eager loads)."""
    query = select(Event).where(events.hosted_by(org.id)).options(*events.card_options())
    upcoming = query.where(Event.ends_at > now).order_by(Event.starts_at, Event.id)
    past = query.where(Event.ends_at <= now).order_by(Event.starts_at.desc(), Event.id.desc())
    return (
        list(db.session.scalars(upcoming).unique()),
        list(db.session.scalars(past).unique()),
    )


# --- members --------------------------------------------------------------------------------


def members_of(org: Organization) -> list[Membership]:
    """Owners first, then organizers, each by name."""
    return list(
        db.session.scalars(
            select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == org.id)
            .options(selectinload(Membership.user))
            .order_by(Membership.role != ROLE_OWNER, func.lower(User.name), Membership.id)
        )
    )


def pending_invitations(org: Organization) -> list[Invitation]:
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at, Invitation.id)
        )
    )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput({"role": _l("Choose a role from the list.")})


def invite(org: Organization, email: str, role: str, invited_by: User, now: datetime) -> Invitation:
    """Invite a co-lead by email; inviting a pending address again reuses its invitation."""
    if not permissions.is_owner_of(invited_by, org):
        raise NotAllowed()
    _check_role(role)
    try:
        email = normalize_email(email)
    except ValueError as exc:
        raise InvalidInput({"email": _l("Enter a valid email address.")}) from exc
    existing_user = find_user_by_email(email)
    if existing_user is not None and permissions.membership(existing_user, org) is not None:
        raise AlreadyMember()
    invitation = db.session.scalar(
        select(Invitation).where(
            Invitation.organization_id == org.id,
            func.lower(Invitation.email) == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    if invitation is None:
        invitation = Invitation(organization_id=org.id, email=email)
        db.session.add(invitation)
    invitation.role = role
    invitation.invited_by_id = invited_by.id
    invitation.created_at = now  # when it was last sent: the page shows it
    db.session.commit()
    return invitation


def invitation_token(invitation: Invitation) -> str:
    return make_token("invitation", invitation.id)


def invitation_locale(invitation: Invitation) -> str:
    """The invitee's own language when they have an account, else the organization's."""
    user = find_user_by_email(invitation.email)
    if user is not None and user.locale in LANGUAGE_NAMES:
        return user.locale
    return invitation.organization.default_locale


def send_invitation(invitation: Invitation) -> bool:
    """Email the signed link; needs a request context for url_for."""
    accept_url = absolute_url("orgs.accept_invitation", token=invitation_token(invitation))
    locale = invitation_locale(invitation)
    with force_locale(locale):  # built here, unescaped: a name like "A & B" stays as typed
        subject = gettext("Invitation to co-lead %(name)s", name=invitation.organization.name)
    return send_email(
        invitation.email,
        "invitation",
        locale,
        subject=subject,
        invitation=invitation,
        org=invitation.organization,
        inviter=invitation.invited_by,
        accept_url=accept_url,
        valid_days=current_app.config["INVITATION_MAX_AGE"] // (24 * 3600),
    )


def invitation_from_token(token: str) -> Invitation:
    """The invitation a link points to while it may still be used (InvitationUnavailable)."""
    try:
        invitation_id = read_token(
            "invitation", token, max_age=current_app.config["INVITATION_MAX_AGE"]
        )
    except InvalidToken as error:
        reason = INVITATION_EXPIRED if error.expired else INVITATION_INVALID
        raise InvitationUnavailable(reason) from error
    invitation = None
    if isinstance(invitation_id, int):
        invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(invitation_id)
    if invitation.revoked_at is not None:
        raise InvitationUnavailable(INVITATION_REVOKED)
    return invitation


def check_invitation(invitation: Invitation, user: User) -> Membership | None:
    """Raise InvitationUnavailable unless `user` may accept; their membership if they have one."""
    if invitation.revoked_at is not None:
        raise InvitationUnavailable(INVITATION_REVOKED)
    if invitation.email.lower() != (user.email or "").lower():
        raise InvitationUnavailable(INVITATION_WRONG_USER)
    member = permissions.membership(user, invitation.organization)
    if invitation.accepted_at is not None and member is None:
        raise InvitationUnavailable(INVITATION_USED)  # accepted, then removed: ask again
    return member


def accept_invitation(invitation_id: int, user: User, now: datetime) -> Membership:
    """Make the invitee a member; accepting again returns the membership they already have."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(invitation_id)
    member = check_invitation(invitation, user)
    if member is None:
        member = Membership(
            organization_id=invitation.organization_id, user_id=user.id, role=invitation.role
        )
        db.session.add(member)
        member.user = user
        audit.record_member(member, user, au.INVITATION_ACCEPTED, now, {"role": member.role})
    if invitation.accepted_at is None:
        invitation.accepted_at = now
    try:
        db.session.commit()
    except IntegrityError:  # the same link clicked twice at once: the other click made it
        db.session.rollback()
        member = permissions.membership(user, invitation.organization)
        if member is None:
            raise
    return member


def revoke_invitation(
    org: Organization, invitation_id: int, acting_user: User, now: datetime
) -> Invitation:
    if not permissions.is_owner_of(acting_user, org):
        raise NotAllowed()
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.organization_id != org.id:
        raise NotFound(invitation_id)
    if invitation.accepted_at is not None:
        raise InvalidTransition("accepted")
    if invitation.revoked_at is None:
        invitation.revoked_at = now
        db.session.commit()
    return invitation


def _lock_owners(org: Organization) -> list[Membership]:
    """Lock the organization's owner memberships for this transaction and return them fresh."""
    owner_rows = (Membership.organization_id == org.id, Membership.role == ROLE_OWNER)
    if is_sqlite():
        db.session.execute(
            update(Membership)
            .where(*owner_rows)
            .values(role=Membership.role)
            .execution_options(synchronize_session=False)
        )
    return list(
        db.session.scalars(
            select(Membership)
            .where(*owner_rows)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _locked_target(org: Organization, membership_id: int, acting_user: User) -> tuple:
    owners = _lock_owners(org)
    acting_is_owner = getattr(acting_user, "is_admin", False) or any(
        m.user_id == acting_user.id for m in owners
    )
    if not acting_is_owner:
        raise NotAllowed()
    target = db.session.get(Membership, membership_id, populate_existing=True)
    if target is None or target.organization_id != org.id:
        raise NotFound(membership_id)
    return owners, target


def remove_member(
    org: Organization, membership_id: int, acting_user: User, now: datetime | None = None
) -> None:
    """Owners remove a co-lead (themselves included) unless they are the last owner."""
    with transaction():
        owners, target = _locked_target(org, membership_id, acting_user)
        if target.role == ROLE_OWNER and len(owners) <= 1:
            raise LastOwnerError()
        audit.record_member(target, acting_user, au.MEMBER_REMOVED, now or utcnow())
        db.session.delete(target)


def change_role(
    org: Organization,
    membership_id: int,
    role: str,
    acting_user: User,
    now: datetime | None = None,
) -> Membership:
    """Owners make a co-lead an owner or an organizer; the last owner stays owner."""
    _check_role(role)
    with transaction():
        owners, target = _locked_target(org, membership_id, acting_user)
        if target.role == ROLE_OWNER and role != ROLE_OWNER and len(owners) <= 1:
            raise LastOwnerError()
        if target.role != role:
            details = {"from": target.role, "to": role}
            audit.record_member(
                target, acting_user, au.MEMBER_ROLE_CHANGED, now or utcnow(), details
            )
        target.role = role
    return target
