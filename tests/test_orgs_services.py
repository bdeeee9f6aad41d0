"""Organization rules without HTTP: validation, invitations, the last owner, loading cost."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Invitation, Membership, Organization, User
from organizer.services import orgs
from organizer.services.errors import (
    AlreadyMember,
    InvalidInput,
    InvalidTransition,
    InvitationUnavailable,
    LastOwnerError,
    NotAllowed,
)

from .factories import make_event, make_org, make_user, now

VALID = {
    "slug": "women-for-peace",
    "name": "Women for Peace",
    "description": "We march.",
    "timezone": "Asia/Jerusalem",
    "default_locale": "he",
}


def org_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Organization))


def test_creator_becomes_owner(app):
    user = make_user()
    org = orgs.create_organization(user, **VALID)
    assert org.slug == "women-for-peace" and org.default_locale == "he"
    (member,) = db.session.scalars(select(Membership).where(Membership.organization_id == org.id))
    assert member.user_id == user.id and member.role == "owner"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "Women For Peace"}, "slug"),
        ({"slug": "a"}, "slug"),
        ({"slug": "x" * 65}, "slug"),
        ({"slug": "-peace"}, "slug"),
        ({"slug": "peace-"}, "slug"),
        ({"slug": "שלום"}, "slug"),
        ({"slug": "new"}, "slug"),
        ({"slug": "mine"}, "slug"),
        ({"slug": "admin"}, "slug"),
        ({"slug": "invitations"}, "slug"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 121}, "name"),
        ({"description": "d" * 5001}, "description"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"default_locale": "xx"}, "default_locale"),
    ],
)
def test_invalid_details_write_nothing(app, changes, field):
    user = make_user()
    with pytest.raises(InvalidInput) as caught:
        orgs.create_organization(user, **{**VALID, **changes})
    assert field in caught.value.errors
    assert org_count() == 0


def test_duplicate_slug_refused(app):
    make_org(slug="women-for-peace")
    with pytest.raises(InvalidInput) as caught:
        orgs.create_organization(make_user(), **VALID)
    assert "slug" in caught.value.errors
    assert org_count() == 1


def test_longest_slug_and_name_fit(app):
    org = orgs.create_organization(make_user(), **{**VALID, "slug": "a" * 64, "name": "n" * 120})
    assert len(org.slug) == 64


def test_update_organization_owner_only(app):
    owner, organizer = make_user(), make_user()
    org = make_org(owner=owner)
    db.session.add(Membership(organization=org, user=organizer, role="organizer"))
    db.session.commit()
    with pytest.raises(NotAllowed):
        orgs.update_organization(
            org, organizer, name="X", description="", timezone="UTC", default_locale="en"
        )
    orgs.update_organization(
        org, owner, name="New name", description="", timezone="UTC", default_locale="ar"
    )
    assert (org.name, org.timezone, org.default_locale) == ("New name", "UTC", "ar")
    with pytest.raises(InvalidInput):
        orgs.update_organization(
            org, owner, name="", description="", timezone="Nowhere", default_locale="en"
        )


def test_reinviting_a_pending_address_reuses_the_invitation(app):
    owner = make_user()
    org = make_org(owner=owner)
    first = orgs.invite(org, "CoLead@Example.org", "organizer", owner, now())
    second = orgs.invite(org, "colead@example.org", "owner", owner, now())
    assert first.id == second.id and second.role == "owner"
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1


def test_inviting_a_member_or_bad_input_is_refused(app):
    owner, member = make_user(), make_user(email="Member@Example.org")
    org = make_org(owner=owner)
    db.session.add(Membership(organization=org, user=member, role="organizer"))
    db.session.commit()
    with pytest.raises(AlreadyMember):
        orgs.invite(org, "member@example.org", "organizer", owner, now())
    with pytest.raises(InvalidInput):
        orgs.invite(org, "not an email", "organizer", owner, now())
    with pytest.raises(InvalidInput):
        orgs.invite(org, "x@example.org", "emperor", owner, now())
    with pytest.raises(NotAllowed):
        orgs.invite(org, "x@example.org", "organizer", member, now())
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_accept_matches_email_without_case_and_twice_is_harmless(app):
    owner = make_user()
    org = make_org(owner=owner)
    invitation = orgs.invite(org, "colead@example.org", "organizer", owner, now())
    stranger = make_user()
    with pytest.raises(InvitationUnavailable) as caught:
        orgs.accept_invitation(invitation.id, stranger, now())
    assert caught.value.reason == orgs.INVITATION_WRONG_USER
    invitee = make_user(email="CoLead@EXAMPLE.org")
    member = orgs.accept_invitation(invitation.id, invitee, now())
    assert member.role == "organizer" and member.organization_id == org.id
    again = orgs.accept_invitation(invitation.id, invitee, now())
    assert again.id == member.id
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 2


def test_revoked_or_used_invitation_cannot_be_accepted(app):
    owner = make_user()
    org = make_org(owner=owner)
    invitee = make_user(email="colead@example.org")
    invitation = orgs.invite(org, invitee.email, "organizer", owner, now())
    orgs.revoke_invitation(org, invitation.id, owner, now())
    with pytest.raises(InvitationUnavailable) as caught:
        orgs.accept_invitation(invitation.id, invitee, now())
    assert caught.value.reason == orgs.INVITATION_REVOKED

    invitation = orgs.invite(org, invitee.email, "organizer", owner, now())
    member = orgs.accept_invitation(invitation.id, invitee, now())
    with pytest.raises(InvalidTransition):
        orgs.revoke_invitation(org, invitation.id, owner, now())
    orgs.remove_member(org, member.id, owner)
    with pytest.raises(InvitationUnavailable) as caught:
        orgs.accept_invitation(invitation.id, invitee, now())
    assert caught.value.reason == orgs.INVITATION_USED


def _owner_membership(org: Organization, user: User) -> Membership:
    return db.session.scalar(
        select(Membership).where(
            Membership.organization_id == org.id, Membership.user_id == user.id
        )
    )


def test_last_owner_can_be_neither_removed_nor_demoted(app):
    owner, organizer = make_user(), make_user()
    org = make_org(owner=owner)
    other = Membership(organization=org, user=organizer, role="organizer")
    db.session.add(other)
    db.session.commit()
    mine = _owner_membership(org, owner)
    with pytest.raises(LastOwnerError):
        orgs.remove_member(org, mine.id, owner)
    with pytest.raises(LastOwnerError):
        orgs.change_role(org, mine.id, "organizer", owner)
    assert _owner_membership(org, owner).role == "owner"
    with pytest.raises(NotAllowed):
        orgs.change_role(org, other.id, "owner", organizer)
    # With a second owner, the first may step down.
    orgs.change_role(org, other.id, "owner", owner)
    orgs.change_role(org, mine.id, "organizer", owner)
    assert _owner_membership(org, owner).role == "organizer"


def test_admin_manages_any_organization(app):
    owner, admin = make_user(), make_user(is_admin=True)
    org = make_org(owner=owner)
    mine = _owner_membership(org, owner)
    with pytest.raises(LastOwnerError):
        orgs.remove_member(org, mine.id, admin)
    invitation = orgs.invite(org, "new@example.org", "owner", admin, now())
    assert invitation.invited_by_id == admin.id


def test_membership_of_another_organization_is_not_found(app):
    owner = make_user()
    org, other = make_org(owner=owner), make_org(owner=make_user())
    theirs = db.session.scalar(select(Membership).where(Membership.organization_id == other.id))
    with pytest.raises(LookupError):
        orgs.remove_member(org, theirs.id, owner)
    with pytest.raises(LookupError):
        orgs.change_role(org, theirs.id, "organizer", owner)


def test_upcoming_public_events_load_in_fixed_queries(app):
    org, partner = make_org(), make_org()
    for i in range(3):
        make_event(org, starts_in=timedelta(days=i + 1), cohosts=(partner,))

    def count_queries() -> int:
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        sa_event.listen(db.engine, "before_cursor_execute", record)
        try:
            db.session.expire_all()
            page = orgs.upcoming_public_events(org, now())
            for e in page.events:  # what a card shows
                [h.name for h in e.host_organizations]
                e.text_for("he")
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    few = count_queries()
    for i in range(12):
        make_event(org, starts_in=timedelta(days=i + 5), cohosts=(partner,))
    assert count_queries() == few <= 7


# --- concurrency ----------------------------------------------------------------------------


@pytest.fixture()
def threaded_app(app, tmp_path):
    """The test database when it is a server; else a SQLite file, as several workers share."""
    if db.engine.dialect.name != "sqlite":
        yield app
        return

    class FileConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'orgs.db'}"

    file_app = create_app(FileConfig)
    with file_app.app_context():
        db.create_all()
    yield file_app
    with file_app.app_context():
        db.engine.dispose()


def _race(monkeypatch, first: tuple, second: tuple) -> None:
    """Run two member changes in threads; the first holds the owner lock while the second tries."""
    locked = threading.Event()
    real_lock = orgs._lock_owners

    def slow_lock(organization):
        owners = real_lock(organization)
        if threading.current_thread().name == "first":
            locked.set()
            threading.Event().wait(0.5)  # hold the lock while the other tries
        return owners

    monkeypatch.setattr(orgs, "_lock_owners", slow_lock)
    threads = [
        threading.Thread(target=target, args=args, name=name)
        for name, (target, args) in (("first", first), ("second", second))
    ]
    threads[0].start()
    assert locked.wait(5)
    threads[1].start()
    for thread in threads:
        thread.join(10)


def test_two_owners_stepping_down_at_once_leave_one_owner(threaded_app, monkeypatch):
    """Each owner demotes the other at the same moment: exactly one of them succeeds."""
    with threaded_app.app_context():
        a, b = make_user(), make_user()
        org = make_org(owner=a)
        db.session.add(Membership(organization=org, user=b, role="owner"))
        db.session.commit()
        ids = {
            "org": org.id,
            "a": a.id,
            "b": b.id,
            "ma": _owner_membership(org, a).id,
            "mb": _owner_membership(org, b).id,
        }

    results: dict[str, str] = {}

    def demote(actor: str, target: str) -> None:
        with threaded_app.app_context():
            organization = db.session.get(Organization, ids["org"])
            user = db.session.get(User, ids[actor])
            try:
                orgs.change_role(organization, ids[target], "organizer", user)
                results[actor] = "ok"
            except (LastOwnerError, NotAllowed) as exc:
                results[actor] = type(exc).__name__
            finally:
                db.session.remove()

    _race(monkeypatch, (demote, ("a", "mb")), (demote, ("b", "ma")))

    assert results["a"] == "ok"
    assert results["b"] in {"LastOwnerError", "NotAllowed"}  # b is no longer an owner
    with threaded_app.app_context():
        owners = db.session.scalars(
            select(Membership.user_id).where(
                Membership.organization_id == ids["org"], Membership.role == "owner"
            )
        ).all()
        assert owners == [ids["a"]]
        db.session.remove()


def test_two_owners_removing_each_other_at_once(threaded_app, monkeypatch):
    """The owner rows are locked before they are counted, so the count can't be stale."""
    with threaded_app.app_context():
        a, b, admin = make_user(), make_user(), make_user(is_admin=True)
        org = make_org(owner=a)
        db.session.add(Membership(organization=org, user=b, role="owner"))
        db.session.commit()
        ids = {
            "org": org.id,
            "admin": admin.id,
            "ma": _owner_membership(org, a).id,
            "mb": _owner_membership(org, b).id,
        }

    results: dict[str, str] = {}

    def remove(target: str) -> None:
        with threaded_app.app_context():
            organization = db.session.get(Organization, ids["org"])
            admin_user = db.session.get(User, ids["admin"])  # an admin may act on any row
            try:
                orgs.remove_member(organization, ids[target], admin_user)
                results[target] = "ok"
            except LastOwnerError:
                results[target] = "last"
            finally:
                db.session.remove()

    _race(monkeypatch, (remove, ("ma",)), (remove, ("mb",)))

    assert sorted(results.values()) == ["last", "ok"]
    with threaded_app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.organization_id == ids["org"], Membership.role == "owner")
        )
        assert count == 1
        db.session.remove()
