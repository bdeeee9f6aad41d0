"""The audit log: each organizer action on people's data is recorded, in the same transaction as
the change; only owners read it; it never holds a volunteer's name, email or phone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import AuditEntry, Membership, User
from organizer.models import audit as au
from organizer.models.organization import ROLE_ORGANIZER
from organizer.services import audit, orgs
from organizer.services.errors import LastOwnerError

from . import factories
from .helpers import count_queries

VOLUNTEER = {"name": "Yasmin Haddad", "email": "yasmin.h@example.org", "phone": "+972 50 555 1234"}
SECOND = {"name": "Second Helper", "email": "second.helper@example.org", "phone": ""}


@pytest.fixture()
def world(app):
    owner = factories.make_user(name="Noa Owner")
    colead = factories.make_user(name="Karim Colead")
    outsider = factories.make_user(name="Other Organizer")
    admin = factories.make_user(name="Site Admin", is_admin=True)
    org = factories.make_org(slug="joint", name="Joint Movement", owner=owner)
    factories.make_org(slug="other", owner=outsider)
    db.session.add(Membership(organization_id=org.id, user_id=colead.id, role=ROLE_ORGANIZER))
    db.session.commit()
    event = factories.make_event(org, title="Shelter cleanup")
    signup = factories.make_signup(event, "confirmed", **VOLUNTEER)
    factories.make_signup(event, "confirmed", **SECOND)
    return {
        "owner": owner,
        "colead": colead,
        "outsider": outsider,
        "admin": admin,
        "org": org,
        "event": event,
        "signup": signup,
    }


def entries(action: str | None = None) -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def assert_nothing_about_volunteers() -> None:
    """No column of any entry mentions the volunteer (their name, email, phone or its digits)."""
    for entry in entries():
        text = " ".join(str(getattr(entry, c.key)) for c in AuditEntry.__table__.columns).lower()
        for value in (*VOLUNTEER.values(), "5551234", SECOND["name"], SECOND["email"]):
            assert value.lower() not in text, (entry.action, text)


# --- what is recorded --------------------------------------------------------------------------


def test_roster_view_is_recorded_once_per_person_and_quiet_window(client, auth, world):
    event = world["event"]
    auth.login(world["colead"])
    for _ in range(3):
        assert client.get(f"/events/{event.id}/roster?q=yasmin").status_code == 200
    (entry,) = entries(au.ROSTER_VIEWED)
    assert (entry.organization_id, entry.actor_id) == (world["org"].id, world["colead"].id)
    assert entry.actor_name == "Karim Colead"
    assert (entry.target_type, entry.target_id, entry.target_label) == (
        "event",
        event.id,
        "Shelter cleanup",
    )
    # Another organizer, or the same one after the quiet window, is recorded again.
    entry.created_at -= audit.ROSTER_VIEW_QUIET + timedelta(minutes=1)
    db.session.commit()
    client.get(f"/events/{event.id}/roster")
    auth.logout()
    auth.login(world["owner"])
    client.get(f"/events/{event.id}/roster")
    assert [e.actor_name for e in entries(au.ROSTER_VIEWED)] == [
        "Karim Colead",
        "Karim Colead",
        "Noa Owner",
    ]
    assert_nothing_about_volunteers()  # not even the search typed


def test_csv_export_is_recorded_with_a_row_count(client, auth, world):
    auth.login(world["colead"])
    assert client.get(f"/events/{world['event'].id}/roster.csv").status_code == 200
    (entry,) = entries(au.ROSTER_EXPORTED)
    assert json.loads(entry.details) == {"rows": 2}
    assert_nothing_about_volunteers()


def test_message_is_recorded_with_subject_and_counts(client, auth, post_form, mailbox, world):
    auth.login(world["owner"])
    url = f"/events/{world['event'].id}/message"
    response = post_form(url, {"subject": "Bring gloves", "body": "Dear Yasmin, see you."})
    assert response.status_code == 302
    mailbox.wait_for(2)
    (entry,) = entries(au.VOLUNTEERS_MESSAGED)
    assert json.loads(entry.details) == {"recipients": 2, "sent": 2, "subject": "Bring gloves"}
    assert_nothing_about_volunteers()  # the body is not kept


def test_cancel_is_recorded_for_every_host(client, auth, post_form, mailbox, world):
    cohost = factories.make_org(slug="sister")
    event = factories.make_event(world["org"], title="Olive harvest", cohosts=(cohost,))
    factories.make_signup(event, "confirmed", name="Someone Else", email="else@example.org")
    auth.login(world["colead"])
    response = post_form(f"/events/{event.id}/cancel", {"message": "Sorry"})
    assert response.status_code == 302
    rows = entries(au.EVENT_CANCELLED)
    assert {e.organization_id for e in rows} == {world["org"].id, cohost.id}
    assert all(json.loads(e.details) == {"volunteers": 1} for e in rows)
    assert all(e.target_label == "Olive harvest" and e.actor_name == "Karim Colead" for e in rows)


def test_members_role_change_removal_and_invitation(client, auth, post_form, world):
    org, owner = world["org"], world["owner"]
    colead_membership = db.session.scalar(
        select(Membership).where(Membership.user_id == world["colead"].id)
    )
    auth.login(owner)
    page = f"/orgs/{org.slug}/members"
    assert (
        post_form(f"{page}/{colead_membership.id}/role", {"role": "owner"}, page).status_code == 302
    )
    (changed,) = entries(au.MEMBER_ROLE_CHANGED)
    assert json.loads(changed.details) == {"from": "organizer", "to": "owner"}
    assert (changed.target_id, changed.target_label) == (world["colead"].id, "Karim Colead")

    assert post_form(f"{page}/{colead_membership.id}/remove", {}, page).status_code == 302
    (removed,) = entries(au.MEMBER_REMOVED)
    assert (removed.actor_name, removed.target_label) == ("Noa Owner", "Karim Colead")

    invitee = factories.make_user(email="new.lead@example.org", name="Dana Newlead")
    invitation = orgs.invite(org, invitee.email, "organizer", owner, factories.now())
    auth.logout()
    auth.login(invitee)
    link = f"/orgs/invitations/{orgs.invitation_token(invitation)}"
    assert post_form(link, {}).status_code == 302
    assert post_form(link, {}).status_code == 302  # accepting again records nothing more
    (accepted,) = entries(au.INVITATION_ACCEPTED)
    assert (accepted.actor_name, accepted.target_id) == ("Dana Newlead", invitee.id)
    assert json.loads(accepted.details) == {"role": "organizer"}
    assert all("@" not in e.details + e.target_label for e in entries())


def test_a_refused_change_records_nothing(world):
    owner = world["owner"]
    mine = db.session.scalar(select(Membership).where(Membership.user_id == owner.id))
    with pytest.raises(LastOwnerError):
        orgs.remove_member(world["org"], mine.id, owner, factories.now())
    with pytest.raises(LastOwnerError):
        orgs.change_role(world["org"], mine.id, "organizer", owner, factories.now())
    assert entries() == []


def test_api_tokens_and_webhooks(client, auth, post_form, world):
    org = world["org"]
    auth.login(world["owner"])
    post_form(f"/orgs/{org.slug}/api-tokens", {"name": "Spreadsheet", "scope": "read"})
    (created,) = entries(au.API_TOKEN_CREATED)
    page = f"/orgs/{org.slug}/api-tokens"
    post_form(f"{page}/{created.target_id}/revoke", {}, page=page)
    (revoked,) = entries(au.API_TOKEN_REVOKED)
    assert created.target_label == revoked.target_label == "Spreadsheet"

    hook = "https://hooks.example.org/in?secret=s3cr3t"
    response = post_form(f"/orgs/{org.slug}/webhooks", {"url": hook, "events": ["signup.created"]})
    assert response.status_code == 302
    (added,) = entries(au.WEBHOOK_ADDED)
    page = f"/orgs/{org.slug}/webhooks/{added.target_id}"
    assert post_form(f"{page}/delete", {}, page=page).status_code == 302
    (deleted,) = entries(au.WEBHOOK_DELETED)
    assert added.target_label == deleted.target_label == "hooks.example.org"  # not the secret
    assert "s3cr3t" not in json.dumps([e.details for e in entries()])


def test_deleting_the_actor_keeps_their_name(client, auth, world):
    auth.login(world["colead"])
    client.get(f"/events/{world['event'].id}/roster")
    db.session.delete(db.session.get(User, world["colead"].id))
    db.session.commit()
    (entry,) = entries()
    assert entry.actor_id is None and entry.actor_name == "Karim Colead"


# --- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 200), ("admin", 200), ("colead", 403), ("outsider", 403)],
)
def test_only_owners_and_admins_read_the_log(client, auth, world, who, status):
    auth.login(world[who])
    assert client.get("/orgs/joint/audit").status_code == status
    manage = client.get("/orgs/joint/manage").get_data(as_text=True)
    assert ("/orgs/joint/audit" in manage) == (status == 200)


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get("/orgs/joint/audit")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_page_in_the_readers_language_and_zone(client, auth, world):
    event = world["event"]
    owner = world["owner"]
    owner.timezone, owner.locale = "America/New_York", "en"
    db.session.commit()
    audit.record_for_event(event, owner, au.ROSTER_EXPORTED, factories.now(), {"rows": 3})
    entry = entries()[0]
    entry.created_at = entry.created_at.replace(
        year=2026, month=7, day=1, hour=12, minute=0, second=0, microsecond=0
    )
    db.session.commit()
    auth.login(owner)
    html = client.get("/orgs/joint/audit").get_data(as_text=True)
    assert "08:00" in html  # 12:00 UTC on New York's summer clock
    assert "Shelter cleanup" in html and "3 rows" in html and "Noa Owner" in html
    hebrew = client.get("/orgs/joint/audit?lang=he").get_data(as_text=True)
    assert 'lang="he"' in hebrew and "08:00" in hebrew
    assert "<bdi>Shelter cleanup</bdi>" in hebrew  # keeps its direction in a Hebrew sentence


def test_titles_and_subjects_are_escaped(client, auth, world):
    owner = world["owner"]
    event = factories.make_event(world["org"], title="Vigil <script>alert(1)</script>")
    audit.record_message(event, owner, "<img src=x onerror=alert(2)>", 2, 2, factories.now())
    auth.login(owner)
    html = client.get("/orgs/joint/audit").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "Vigil &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_page_is_paginated_newest_first_in_constant_queries(client, auth, world):
    event, owner = world["event"], world["owner"]
    start = factories.now() - timedelta(days=10)

    def add(n: int, offset: int) -> None:
        for i in range(n):
            audit.record_for_event(
                event, owner, au.ROSTER_EXPORTED, start + timedelta(minutes=offset + i), {"rows": i}
            )
        db.session.commit()

    add(3, 0)
    auth.login(owner)
    db.session.expire_all()
    with count_queries() as small:
        assert client.get("/orgs/joint/audit").status_code == 200
    add(120, 10)
    db.session.expire_all()
    with count_queries() as large:
        first = client.get("/orgs/joint/audit").get_data(as_text=True)
    assert len(large) == len(small), "\n\n".join(large)
    assert first.count("<tr>") == 1 + audit.PER_PAGE and 'rel="next"' in first
    assert "(119 rows)" in first and "(0 rows)" not in first  # the newest first
    last = client.get("/orgs/joint/audit?page=3").get_data(as_text=True)
    assert "(0 rows)" in last and 'rel="next"' not in last
    assert client.get("/orgs/joint/audit?page=x").status_code == 200
    total = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert total == 123


def test_ending_a_series_records_each_cancelled_date(world):
    from organizer.services import series as series_service

    now = factories.now()
    series = factories.make_series(world["org"], first=now + timedelta(days=1), created=now)
    dates = [e for e in series.occurrences if e.status == "published"]
    assert len(dates) > 2
    first_day = series_service.to_local(dates[0].starts_at, series.timezone).date()
    series_service.end_series(series.id, first_day, now, actor=world["owner"])
    rows = entries(au.EVENT_CANCELLED)
    assert len(rows) == len(dates) - 1
    assert {e.actor_name for e in rows} == {"Noa Owner"}
