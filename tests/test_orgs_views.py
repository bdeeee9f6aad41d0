"""Organization pages over HTTP: creating, inviting, roles, access, public page, feed."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Invitation, Membership, Organization
from organizer.services import orgs
from organizer.tokens import make_token

from .factories import make_event, make_org, make_signup, make_user, now
from .helpers import html_part, text_part

NEW_ORG = {
    "name": "Standing Together Haifa",
    "slug": "st-haifa",
    "description": "Jewish and Arab citizens, **together**.",
    "timezone": "Asia/Jerusalem",
    "default_locale": "ar",
}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def membership(org, user) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.organization_id == org.id, Membership.user_id == user.id
        )
    )


def add_member(org, user, role="organizer") -> Membership:
    member = Membership(organization=org, user=user, role=role)
    db.session.add(member)
    db.session.commit()
    return member


# --- creating ---------------------------------------------------------------------------------


def test_create_organization(client, auth, post_form):
    user = make_user()
    auth.login(user)
    response = post_form("/orgs/new", NEW_ORG)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/orgs/st-haifa/manage")
    org = db.session.scalar(select(Organization).where(Organization.slug == "st-haifa"))
    assert org.default_locale == "ar" and org.timezone == "Asia/Jerusalem"
    assert membership(org, user).role == "owner"
    mine = client.get("/orgs/mine").get_data(as_text=True)
    assert "Standing Together Haifa" in mine and "/orgs/new" in mine


def test_slug_is_lower_cased(client, auth, post_form):
    auth.login(make_user())
    response = post_form("/orgs/new", {**NEW_ORG, "slug": "  ST-Haifa "})
    assert response.status_code == 302
    assert db.session.scalar(select(Organization.slug)) == "st-haifa"


def test_new_needs_login(client):
    response = client.get("/orgs/new")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slug": "bad slug!"}, "lower-case letters"),
        ({"slug": "x"}, "between 2 and 64"),
        ({"slug": "x" * 65}, "between 2 and 64"),
        ({"slug": "new"}, "reserved"),
        ({"slug": "admin"}, "reserved"),
        ({"slug": "mine"}, "reserved"),
        ({"slug": ""}, "required"),
        ({"name": ""}, "required"),
        ({"name": "N" * 121}, "120"),
        ({"description": "D" * 5001}, "5000"),
        ({"timezone": "Mars/Olympus_Mons"}, "Not a valid choice"),
        ({"default_locale": "xx"}, "Not a valid choice"),
        ({"name": "<script>alert(1)</script>" + "n" * 120}, "120"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(client, auth, post_form, changes, message):
    auth.login(make_user())
    response = post_form("/orgs/new", {**NEW_ORG, **changes})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body
    assert "<script>alert" not in body
    assert count(Organization) == 0


def test_duplicate_slug(client, auth, post_form):
    make_org(slug="st-haifa")
    auth.login(make_user())
    response = post_form("/orgs/new", NEW_ORG)
    assert response.status_code == 400
    assert "already uses this address" in response.get_data(as_text=True)
    assert count(Organization) == 1


def test_create_without_csrf_is_refused(client, auth):
    auth.login(make_user())
    response = client.post("/orgs/new", data=NEW_ORG)
    assert response.status_code == 400
    assert count(Organization) == 0


# --- invitations ------------------------------------------------------------------------------


def invite_link(message) -> str:
    match = re.search(r"http://localhost(/orgs/invitations/\S+)", text_part(message))
    assert match, text_part(message)
    return match.group(1)


def test_owner_invites_a_colead_who_accepts(client, auth, post_form, mailbox):
    owner = make_user(name="Rula")
    org = make_org(owner=owner, name="Women Wage Peace", default_locale="he")
    auth.login(owner)
    response = post_form(
        f"/orgs/{org.slug}/members/invite",
        {"email": "CoLead@Example.org", "role": "organizer"},
        page=f"/orgs/{org.slug}/members",
    )
    assert response.status_code == 302
    (message,) = mailbox.wait_for(1)
    assert message["To"] == "colead@example.org"
    assert "Women Wage Peace" in message["Subject"]
    assert 'lang="he"' in html_part(message)  # not an account yet: the organization's language
    assert "Rula" in text_part(message)
    link = invite_link(message)
    members_page = client.get(f"/orgs/{org.slug}/members").get_data(as_text=True)
    assert "colead@example.org" in members_page

    auth.logout()
    anonymous = client.get(link).get_data(as_text=True)
    assert "/auth/login?next=" in anonymous and "/auth/register?next=" in anonymous

    invitee = make_user(email="colead@EXAMPLE.org")
    auth.login(invitee)
    page = client.get(link)
    assert page.status_code == 200 and "Accept the invitation" in page.get_data(as_text=True)
    response = post_form(link, {})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/orgs/{org.slug}/manage")
    assert membership(org, invitee).role == "organizer"
    # Accepting again is harmless.
    assert post_form(link, {}).status_code == 302
    assert "already a member" in client.get(link).get_data(as_text=True)
    assert count(Membership) == 2
    assert db.session.scalar(select(Invitation.accepted_at)) is not None


def test_invitation_in_the_invitees_language(client, auth, post_form, mailbox):
    owner = make_user()
    org = make_org(owner=owner, default_locale="he")
    make_user(email="speaker@example.org", locale="ar")
    auth.login(owner)
    post_form(
        f"/orgs/{org.slug}/members/invite",
        {"email": "speaker@example.org", "role": "owner"},
        page=f"/orgs/{org.slug}/members",
    )
    (message,) = mailbox.wait_for(1)
    assert 'lang="ar"' in html_part(message)


def test_subject_keeps_the_name_as_typed(client, auth, post_form, mailbox):
    owner = make_user()
    org = make_org(owner=owner, name="Parents & Children <Together>")
    auth.login(owner)
    post_form(
        f"/orgs/{org.slug}/members/invite",
        {"email": "x@example.org", "role": "organizer"},
        page=f"/orgs/{org.slug}/members",
    )
    (message,) = mailbox.wait_for(1)
    assert "Parents & Children <Together>" in message["Subject"]
    assert "<Together>" not in html_part(message)


def test_reinvite_and_member_invite(client, auth, post_form, mailbox):
    owner = make_user()
    org = make_org(owner=owner)
    add_member(org, make_user(email="member@example.org"))
    auth.login(owner)
    page = f"/orgs/{org.slug}/members"
    url = f"/orgs/{org.slug}/members/invite"
    for _ in range(2):
        assert (
            post_form(url, {"email": "new@example.org", "role": "organizer"}, page).status_code
            == 302
        )
    assert count(Invitation) == 1
    assert len(mailbox.wait_for(2)) == 2  # the email is sent again
    response = post_form(url, {"email": "MEMBER@example.org", "role": "organizer"}, page)
    assert response.status_code == 400
    assert "already a member" in response.get_data(as_text=True)
    for bad in (
        {"email": "not-an-email", "role": "organizer"},
        {"email": "a@b.org", "role": "god"},
    ):
        assert post_form(url, bad, page).status_code == 400
    assert count(Invitation) == 1


def test_wrong_account_is_refused(client, auth, post_form):
    owner = make_user()
    org = make_org(owner=owner)
    invitation = orgs.invite(org, "colead@example.org", "organizer", owner, now())
    link = f"/orgs/invitations/{orgs.invitation_token(invitation)}"
    auth.login(make_user(email="someone-else@example.org"))
    response = client.get(link)
    assert response.status_code == 403
    assert "another email address" in response.get_data(as_text=True)
    token = client.get("/orgs/mine").get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', token)
    assert client.post(link, data={"csrf_token": match.group(1)}).status_code == 403
    assert count(Membership) == 1


def test_tampered_and_expired_links(client, auth, monkeypatch):
    owner = make_user()
    org = make_org(owner=owner)
    invitee = make_user(email="colead@example.org")
    invitation = orgs.invite(org, invitee.email, "organizer", owner, now())
    token = orgs.invitation_token(invitation)
    auth.login(invitee)

    tampered = client.get(f"/orgs/invitations/{token[:-3]}abc")
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)
    other_purpose = client.get(f"/orgs/invitations/{make_token('reset', invitation.id)}")
    assert other_purpose.status_code == 400

    later = time.time() + 15 * 24 * 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    expired = client.get(f"/orgs/invitations/{token}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert membership(org, invitee) is None


def test_revoked_link(client, auth, post_form):
    owner = make_user()
    org = make_org(owner=owner)
    invitation = orgs.invite(org, "colead@example.org", "organizer", owner, now())
    link = f"/orgs/invitations/{orgs.invitation_token(invitation)}"
    auth.login(owner)
    response = post_form(
        f"/orgs/{org.slug}/invitations/{invitation.id}/revoke", {}, page=f"/orgs/{org.slug}/members"
    )
    assert response.status_code == 302
    assert "colead@example.org" not in client.get(f"/orgs/{org.slug}/members").get_data(
        as_text=True
    )
    auth.logout()
    response = client.get(link)
    assert response.status_code == 410 and "withdrawn" in response.get_data(as_text=True)
    auth.login(make_user(email="colead@example.org"))
    response = client.get(link)
    assert response.status_code == 410 and "withdrawn" in response.get_data(as_text=True)
    assert count(Membership) == 1


def test_unknown_invitation_is_404(client, auth):
    auth.login(make_user())
    assert client.get(f"/orgs/invitations/{make_token('invitation', 999)}").status_code == 404


# --- members and roles ------------------------------------------------------------------------


def test_last_owner_can_be_neither_removed_nor_demoted(client, auth, post_form):
    owner = make_user()
    org = make_org(owner=owner)
    mine = membership(org, owner)
    auth.login(owner)
    page = f"/orgs/{org.slug}/members"
    response = post_form(f"{page}/{mine.id}/remove", {}, page, follow_redirects=True)
    assert "at least one owner" in response.get_data(as_text=True)
    response = post_form(
        f"{page}/{mine.id}/role", {"role": "organizer"}, page, follow_redirects=True
    )
    assert "at least one owner" in response.get_data(as_text=True)
    db.session.expire_all()
    assert membership(org, owner).role == "owner"

    colead = make_user()
    theirs = add_member(org, colead)
    assert post_form(f"{page}/{theirs.id}/role", {"role": "owner"}, page).status_code == 302
    assert post_form(f"{page}/{mine.id}/role", {"role": "organizer"}, page).status_code == 302
    db.session.expire_all()
    assert membership(org, owner).role == "organizer"
    assert membership(org, colead).role == "owner"
    assert post_form(f"{page}/{theirs.id}/role", {"role": "boss"}, page).status_code in (400, 403)


def test_owner_removes_a_member(client, auth, post_form):
    owner, colead = make_user(), make_user()
    org = make_org(owner=owner)
    theirs = add_member(org, colead)
    auth.login(owner)
    page = f"/orgs/{org.slug}/members"
    assert post_form(f"{page}/{theirs.id}/remove", {}, page).status_code == 302
    assert membership(org, colead) is None
    assert post_form(f"{page}/{theirs.id}/remove", {}, page).status_code == 404


def test_organizer_cannot_manage_members(client, auth, post_form):
    owner, colead = make_user(), make_user()
    org = make_org(owner=owner)
    add_member(org, colead)
    mine = membership(org, owner)
    auth.login(colead)
    page = f"/orgs/{org.slug}/members"
    listing = client.get(page)
    assert listing.status_code == 200
    assert "Send invitation" not in listing.get_data(as_text=True)
    assert (
        post_form(f"{page}/invite", {"email": "x@example.org", "role": "owner"}, page).status_code
        == 403
    )
    assert post_form(f"{page}/{mine.id}/role", {"role": "organizer"}, page).status_code == 403
    assert post_form(f"{page}/{mine.id}/remove", {}, page).status_code == 403
    assert client.get(f"/orgs/{org.slug}/edit").status_code == 403
    assert count(Invitation) == 0 and count(Membership) == 2


def test_other_organizations_organizer_gets_403(client, auth, post_form):
    owner = make_user()
    org = make_org(owner=owner)
    outsider = make_user()
    make_org(owner=outsider)
    auth.login(outsider)
    for path in ("manage", "members", "edit", "events.ics"):
        expected = 200 if path == "events.ics" else 403
        assert client.get(f"/orgs/{org.slug}/{path}").status_code == expected
    mine = membership(org, owner)
    response = post_form(
        f"/orgs/{org.slug}/members/{mine.id}/remove",
        {},
        page=f"/orgs/{outsider_slug(outsider)}/members",
    )
    assert response.status_code == 403
    assert membership(org, owner) is not None


def outsider_slug(user) -> str:
    return db.session.scalar(
        select(Organization.slug).join(Membership).where(Membership.user_id == user.id)
    )


def test_anonymous_is_sent_to_login(client):
    org = make_org(owner=make_user())
    for path in ("manage", "members", "edit"):
        response = client.get(f"/orgs/{org.slug}/{path}")
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_unknown_organization_is_404(client, auth):
    assert client.get("/orgs/no-such-org").status_code == 404
    assert client.get("/orgs/no-such-org/events.ics").status_code == 404
    auth.login(make_user())
    assert client.get("/orgs/no-such-org/manage").status_code == 404


def test_admin_sees_and_manages_everything(client, auth, post_form, mailbox):
    org = make_org(owner=make_user(), name="Parents Circle")
    admin = make_user(is_admin=True)
    auth.login(admin)
    index = client.get("/orgs/").get_data(as_text=True)
    assert "site administrator" in index and f"/orgs/{org.slug}/manage" in index
    assert client.get(f"/orgs/{org.slug}/manage").status_code == 200
    assert client.get(f"/orgs/{org.slug}/edit").status_code == 200
    members = client.get(f"/orgs/{org.slug}/members").get_data(as_text=True)
    assert "Send invitation" in members
    response = post_form(
        f"/orgs/{org.slug}/edit",
        {"name": "Parents Circle – Families Forum", "description": "", "timezone": "Asia/Jerusalem",
         "default_locale": "en"},
    )  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).name == "Parents Circle – Families Forum"


def test_owner_edits_with_validation(client, auth, post_form):
    owner = make_user()
    org = make_org(owner=owner, name="Old")
    auth.login(owner)
    url = f"/orgs/{org.slug}/edit"
    bad = {"name": "x" * 200, "description": "", "timezone": "Nowhere", "default_locale": "en"}
    response = post_form(url, bad)
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Organization, org.id).name == "Old"


def test_index_lists_organizations_publicly(client):
    make_org(name="Combatants for Peace", description="Former fighters, now partners.")
    body = client.get("/orgs/").get_data(as_text=True)
    assert "Combatants for Peace" in body and "Former fighters" in body
    assert "site administrator" not in body


# --- public page, management page and feed ---------------------------------------------------


@pytest.fixture()
def listed(app):
    """An organization with actions of every kind of visibility, and a co-host."""
    org = make_org(owner=make_user(), name="Tag Meir")
    partner = make_org(name="Rabbis for Human Rights")
    events = {
        "soon": make_event(org, title="Olive harvest", starts_in=timedelta(days=1)),
        "later": make_event(org, title="Vigil at the square", starts_in=timedelta(days=9)),
        "cohosted": make_event(
            partner, title="Joint food drive", starts_in=timedelta(days=4), cohosts=(org,)
        ),
        "hidden": make_event(
            org, title="Protective presence", starts_in=timedelta(days=2),
            location_visibility="confirmed", address="Secret 12",
        ),
        "draft": make_event(org, title="Draft plan", status="draft"),
        "unlisted": make_event(org, title="Invite-only circle", visibility="unlisted"),
        "cancelled": make_event(org, title="Called-off march", status="cancelled"),
        "past": make_event(org, title="Last year's rally", starts_in=timedelta(days=-30)),
        "other": make_event(partner, title="Partner only"),
    }  # fmt: skip
    make_signup(events["soon"], name="Yael Volunteer-Name", email="yael@example.org")
    make_signup(events["hidden"], name="Samir Hidden-Name", email="samir@example.org")
    return org, events


SHOWN = ("Olive harvest", "Protective presence", "Joint food drive", "Vigil at the square")
NOT_SHOWN = (
    "Draft plan", "Invite-only circle", "Called-off march", "year&#39;s rally", "year's rally",
    "Partner only", "Yael Volunteer-Name", "Samir Hidden-Name", "yael@example.org", "Secret 12",
)  # fmt: skip


def test_public_page_lists_only_public_upcoming_actions(client, listed):
    org, _ = listed
    response = client.get(f"/orgs/{org.slug}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    positions = [body.index(title) for title in SHOWN]
    assert positions == sorted(positions)  # soonest first
    for text in NOT_SHOWN:
        assert text not in body
    assert f"/orgs/{org.slug}/events.ics" in body


def test_public_page_renders_description_safely(client):
    org = make_org(description="We **march**. <script>alert(1)</script>")
    body = client.get(f"/orgs/{org.slug}").get_data(as_text=True)
    assert "<strong>march</strong>" in body and "<script>alert" not in body


def test_feed_is_a_calendar_without_hidden_places(client, listed):
    org, events = listed
    response = client.get(f"/orgs/{org.slug}/events.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert b"Secret 12" not in response.data
    calendar = Calendar.from_ical(response.data)
    summaries = [str(c["summary"]) for c in calendar.walk("VEVENT")]
    # A cancelled action stays in the feed, so subscribed calendars learn it was called off.
    assert summaries == ["Olive harvest", "Protective presence", "Called-off march", *SHOWN[2:]]
    called_off = next(c for c in calendar.walk("VEVENT") if c["summary"] == "Called-off march")
    assert str(called_off["status"]) == "CANCELLED"
    hidden = next(c for c in calendar.walk("VEVENT") if c["summary"] == "Protective presence")
    assert "Jerusalem" in str(hidden["location"])


def test_manage_page_lists_every_action_with_tools(client, auth, listed):
    org, events = listed
    owner = db.session.scalar(select(Membership).where(Membership.organization_id == org.id)).user
    auth.login(owner)
    response = client.get(f"/orgs/{org.slug}/manage")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for key in ("soon", "cohosted", "hidden", "draft", "unlisted", "cancelled", "past"):
        assert events[key].title.replace("'", "&#39;") in body
        assert f"/events/{events[key].id}/edit" in body
        assert f"/events/{events[key].id}/roster" in body
    assert "Partner only" not in body
    assert f"/events/new?org={org.slug}" in body
