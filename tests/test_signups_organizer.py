"""Organizer tools: approval queue, roster, check-in, CSV export, messaging volunteers."""

from __future__ import annotations

import csv
import io

import pytest

from organizer.extensions import db
from organizer.models import Signup

from . import factories
from .helpers import all_text, count_queries, html_part, ics_attachments, text_part


@pytest.fixture()
def setup():
    """An action hosted by one organization and co-hosted by another, plus outsiders."""
    owner = factories.make_user(name="Host Owner")
    cohost_organizer = factories.make_user(name="Cohost Organizer")
    outsider = factories.make_user(name="Other Org Organizer")
    volunteer = factories.make_user(name="Just A Volunteer")
    admin = factories.make_user(name="Site Admin", is_admin=True)
    org = factories.make_org(owner=owner)
    cohost = factories.make_org(owner=cohost_organizer)
    factories.make_org(owner=outsider)
    event = factories.make_event(
        org,
        cohosts=(cohost,),
        capacity=2,
        title="Shelter cleanup",
        address="Bunker Street 9",
        location_visibility="confirmed",
    )
    return {
        "owner": owner,
        "cohost": cohost_organizer,
        "outsider": outsider,
        "volunteer": volunteer,
        "admin": admin,
        "event": event,
    }


def roster_url(event) -> str:
    return f"/events/{event.id}/roster"


def action_url(event, signup, action: str) -> str:
    return f"/events/{event.id}/signups/{signup.id}/{action}"


def status_of(signup) -> str:
    db.session.expire_all()
    return db.session.get(Signup, signup.id).status


# --- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/roster", "/roster.csv", "/message"])
def test_anonymous_is_sent_to_login(client, setup, path):
    response = client.get(f"/events/{setup['event'].id}{path}")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("who", ["volunteer", "outsider"])
@pytest.mark.parametrize("path", ["/roster", "/roster.csv", "/message"])
def test_non_hosts_are_refused(client, auth, setup, who, path):
    factories.make_signup(setup["event"], "confirmed", name="Private Person")
    auth.login(setup[who])
    response = client.get(f"/events/{setup['event'].id}{path}")
    assert response.status_code == 403
    assert "Private Person" not in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ["volunteer", "outsider"])
def test_non_hosts_cannot_change_the_roster(client, auth, setup, who):
    event = setup["event"]
    pending = factories.make_signup(event, "pending")
    confirmed = factories.make_signup(event, "confirmed")
    auth.login(setup[who])
    page = "/auth/profile"
    from .conftest import csrf_token

    token = csrf_token(client, page)
    for url, data in (
        (action_url(event, pending, "approve"), {}),
        (action_url(event, pending, "decline"), {}),
        (action_url(event, confirmed, "attendance"), {"value": "attended"}),
        (f"/events/{event.id}/message", {"subject": "Hi", "body": "Spam"}),
    ):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403
    assert status_of(pending) == "pending"
    assert db.session.get(Signup, confirmed.id).attendance is None


@pytest.mark.parametrize("who", ["owner", "cohost", "admin"])
def test_hosts_and_admins_see_the_roster(client, auth, setup, who):
    event = setup["event"]
    factories.make_signup(
        event, "confirmed", name="שירה כהן", email="shira@example.org", phone="052-7654321"
    )
    factories.make_signup(event, "waitlisted", name="أحمد")
    auth.login(setup[who])
    response = client.get(roster_url(event))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<td class="roster-name"><span dir="auto">שירה כהן</span></td>' in page
    assert "shira@example.org" in page and "052-7654321" in page and "أحمد" in page
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"{roster_url(event)}.csv").status_code == 200
    assert client.get(f"/events/{event.id}/message").status_code == 200


def test_unknown_event_and_foreign_signup_are_404(client, auth, setup):
    event = setup["event"]
    other = factories.make_event(factories.make_org(owner=setup["owner"]))
    foreign = factories.make_signup(other, "pending")
    auth.login(setup["owner"])
    assert client.get("/events/999999/roster").status_code == 404
    from .conftest import csrf_token

    token = csrf_token(client, roster_url(event))
    for action in ("approve", "decline", "attendance"):
        response = client.post(
            action_url(event, foreign, action), data={"csrf_token": token, "value": "attended"}
        )
        assert response.status_code == 404
    assert status_of(foreign) == "pending"


# --- approval queue ------------------------------------------------------------------------


def test_approve_and_decline_email_the_volunteer(client, auth, post_form, mailbox, setup):
    event = setup["event"]
    event.approval_required = True
    db.session.commit()
    yes = factories.make_signup(event, "pending", email="yes@example.org", name="Yes")
    no = factories.make_signup(event, "pending", email="no@example.org", name="No")
    auth.login(setup["cohost"])
    page = client.get(roster_url(event)).get_data(as_text=True)
    assert action_url(event, yes, "approve") in page and action_url(event, no, "decline") in page

    response = post_form(action_url(event, yes, "approve"), {}, page=roster_url(event))
    assert response.status_code == 302
    assert f"#signup-{yes.id}" in response.headers["Location"]
    response = post_form(action_url(event, no, "decline"), {}, page=roster_url(event))
    assert response.status_code == 302
    assert (status_of(yes), status_of(no)) == ("confirmed", "declined")

    messages = mailbox.wait_for(2)
    (approved,) = mailbox.to("yes@example.org")
    (declined,) = mailbox.to("no@example.org")
    assert len(messages) == 2
    assert approved["Subject"] == "You're approved: Shelter cleanup"
    assert "Bunker Street 9" in all_text(approved) and ics_attachments(approved)
    assert "could not take you" in text_part(declined)
    assert "Bunker Street 9" not in all_text(declined)

    # Approving twice is refused with a message, nothing changes.
    response = post_form(action_url(event, yes, "approve"), {}, page=roster_url(event))
    assert response.status_code == 302
    assert "Only a pending" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_approval_when_full_goes_to_waitlist(client, auth, post_form, mailbox, setup):
    event = setup["event"]
    event.approval_required = True
    db.session.commit()
    factories.make_signup(event, "confirmed")
    factories.make_signup(event, "confirmed")
    waiting = factories.make_signup(event, "pending", email="late@example.org")
    auth.login(setup["owner"])
    post_form(action_url(event, waiting, "approve"), {}, page=roster_url(event))
    assert status_of(waiting) == "waitlisted"
    (message,) = mailbox.wait_for(1)
    assert "on the waitlist" in message["Subject"]
    assert "Bunker Street 9" not in all_text(message)


def test_declining_a_confirmed_volunteer_promotes_the_waitlist(
    client, auth, post_form, mailbox, setup
):
    event = setup["event"]
    confirmed = factories.make_signup(event, "confirmed", email="c@example.org")
    factories.make_signup(event, "confirmed")
    waiting = factories.make_signup(event, "waitlisted", email="w@example.org")
    auth.login(setup["owner"])
    # Only pending requests get decline buttons, but the endpoint handles any active sign-up.
    post_form(action_url(event, confirmed, "decline"), {}, page=roster_url(event))
    assert status_of(waiting) == "confirmed"
    mailbox.wait_for(2)
    assert mailbox.to("w@example.org")[0]["Subject"].startswith("A place opened up")


# --- check-in ------------------------------------------------------------------------------


def test_check_in_attended_no_show_and_clear(client, auth, post_form, setup):
    event = setup["event"]
    signup = factories.make_signup(event, "confirmed")
    waiting = factories.make_signup(event, "waitlisted")
    auth.login(setup["owner"])
    url = action_url(event, signup, "attendance")
    page = client.get(roster_url(event)).get_data(as_text=True)
    assert url in page and action_url(event, waiting, "attendance") not in page

    assert post_form(url, {"value": "attended"}, page=roster_url(event)).status_code == 302
    db.session.expire_all()
    assert db.session.get(Signup, signup.id).attendance == "attended"
    assert db.session.get(Signup, signup.id).checked_in_at is not None
    post_form(url, {"value": "no_show"}, page=roster_url(event))
    db.session.expire_all()
    assert db.session.get(Signup, signup.id).attendance == "no_show"
    post_form(url, {"value": "clear"}, page=roster_url(event))
    db.session.expire_all()
    assert db.session.get(Signup, signup.id).attendance is None

    assert post_form(url, {"value": "maybe"}, page=roster_url(event)).status_code == 400
    response = post_form(
        action_url(event, waiting, "attendance"), {"value": "attended"}, page=roster_url(event)
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Signup, waiting.id).attendance is None


def test_roster_search_by_name(client, auth, setup):
    event = setup["event"]
    factories.make_signup(event, "confirmed", name="Miriam Adler")
    factories.make_signup(event, "confirmed", name="Samir Haddad")
    factories.make_signup(event, "waitlisted", name="100% Sure_Person")
    auth.login(setup["owner"])
    page = client.get(roster_url(event), query_string={"q": "miriam"}).get_data(as_text=True)
    assert "Miriam Adler" in page and "Samir Haddad" not in page
    page = client.get(roster_url(event), query_string={"q": "%"}).get_data(as_text=True)
    assert "100% Sure_Person" in page and "Miriam Adler" not in page
    page = client.get(roster_url(event), query_string={"q": "nobody-here"}).get_data(as_text=True)
    assert "Nobody matches" in page


def test_roster_runs_the_same_queries_for_3_or_60_volunteers(client, auth, setup):
    event = setup["event"]
    event.capacity = None
    db.session.commit()
    auth.login(setup["owner"])
    for _ in range(3):
        factories.make_signup(event, "confirmed", attendance="attended")
    factories.make_signup(event, "pending")
    url = roster_url(event)
    db.session.expire_all()
    with count_queries() as small:
        assert client.get(url).status_code == 200
    for i in range(60):
        factories.make_signup(event, ("confirmed", "waitlisted", "pending", "cancelled")[i % 4])
    db.session.expire_all()
    with count_queries() as large:
        response = client.get(url)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="roster-name"') == 64
    assert len(large) == len(small)
    # 9: the attendance counts (signed up, attended, no-show) are one query of their own;
    # +1: the audit log's "roster viewed" (one INSERT ... WHERE NOT EXISTS for all hosts).
    assert len(large) <= 10, "\n\n".join(large)


# --- CSV -----------------------------------------------------------------------------------


def test_csv_has_bom_and_neutralises_formulas(client, auth, setup):
    event = setup["event"]
    factories.make_signup(
        event,
        "confirmed",
        name='=HYPERLINK("http://evil")',
        phone="+972 50 1111111",
        attendance="attended",
    )
    factories.make_signup(event, "waitlisted", name="@SUM(A1)", email="plain@example.org")
    factories.make_signup(event, "pending", name="-2+3")
    factories.make_signup(event, "pending", name="\tTabbed")
    factories.make_signup(event, "cancelled", name="سلام שלום")
    auth.login(setup["owner"])
    response = client.get(f"{roster_url(event)}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Name", "Email", "Phone", "Status"]
    assert rows[0][4].startswith("Signed up at (Jerusalem")
    assert rows[0][5] == "Attendance"
    names = [row[0] for row in rows[1:]]
    assert names == ['\'=HYPERLINK("http://evil")', "'-2+3", "'\tTabbed", "'@SUM(A1)", "سلام שלום"]
    first = rows[1]
    assert first[2] == "'+972 50 1111111"
    assert first[3] == "Confirmed" and first[5] == "Attended"
    assert len(first[4]) == len("2026-01-01 10:00")
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


# --- message -------------------------------------------------------------------------------


def test_message_goes_to_each_confirmed_volunteer_separately(
    client, auth, post_form, mailbox, setup
):
    event = setup["event"]
    event.capacity = None
    db.session.commit()
    confirmed = [
        factories.make_signup(event, "confirmed", email=f"c{i}@example.org", locale=loc)
        for i, loc in enumerate(("en", "he", "ar"))
    ]
    factories.make_signup(event, "waitlisted", email="waiting@example.org")
    factories.make_signup(event, "pending", email="pending@example.org")
    factories.make_signup(event, "cancelled", email="gone@example.org")
    auth.login(setup["owner"])
    page = client.get(f"/events/{event.id}/message").get_data(as_text=True)
    assert "3 confirmed volunteers" in page

    response = post_form(
        f"/events/{event.id}/message",
        {
            "subject": "Bring water\r\nBcc: everyone@evil.example",
            "body": "See you <b>soon</b>!\nLine 2",
        },
    )
    assert response.status_code == 302
    assert "Sent to 3 confirmed volunteers" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    messages = mailbox.wait_for(3)
    assert len(messages) == 3
    assert sorted(m["X-Envelope-To"] for m in messages) == [s.email for s in confirmed]
    for message in messages:
        assert message["Subject"] == "Bring water Bcc: everyone@evil.example"
        assert message["Cc"] is None and message["Bcc"] is None
        assert "," not in message["To"]
        assert "See you <b>soon</b>!\nLine 2" in text_part(message).replace("\r\n", "\n")
        html = html_part(message)
        assert "See you &lt;b&gt;soon&lt;/b&gt;!" in html
        assert "/signups/" in text_part(message)
    assert mailbox.wait_for(4, timeout=0.3) == messages


def test_message_form_validates(client, auth, post_form, mailbox, setup):
    event = setup["event"]
    factories.make_signup(event, "confirmed")
    auth.login(setup["owner"])
    url = f"/events/{event.id}/message"
    response = post_form(url, {"subject": "", "body": ""})
    assert response.status_code == 400
    assert "Please write a subject." in response.get_data(as_text=True)
    response = post_form(url, {"subject": "x" * 151, "body": "y" * 10001})
    assert response.status_code == 400
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_message_with_nobody_confirmed_sends_nothing(client, auth, post_form, mailbox, setup):
    event = setup["event"]
    factories.make_signup(event, "waitlisted")
    auth.login(setup["owner"])
    response = post_form(f"/events/{event.id}/message", {"subject": "Hi", "body": "Hello"})
    assert response.status_code == 302
    assert mailbox.wait_for(1, timeout=0.3) == []
