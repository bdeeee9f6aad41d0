"""Co-hosting needs consent: an organization listed as co-host is asked, and only counts once
one of its organizers accepts (shown as host, on its page and calendar, roster access)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Event, EventHost, Membership
from organizer.services import events as service
from organizer.services.errors import InvalidInput, NotAllowed

from . import factories
from .helpers import html_part, text_part
from .test_events_actions import event_form


@pytest.fixture()
def orgs():
    """A host, a partner it asks to co-host (two organizers, Hebrew and English), an outsider."""
    host_owner = factories.make_user(name="Host Owner", email="host@example.org")
    host = factories.make_org(slug="host", name="Host Org", owner=host_owner)
    partner_owner = factories.make_user(
        name="Partner Owner", email="partner-owner@example.org", locale="he"
    )
    partner = factories.make_org(slug="partner", name="Partner Org", owner=partner_owner)
    partner_organizer = factories.make_user(
        name="Partner Organizer", email="partner-organizer@example.org", locale="en"
    )
    db.session.add(Membership(organization=partner, user=partner_organizer, role="organizer"))
    outsider = factories.make_user(name="Outsider", email="outsider@example.org")
    other = factories.make_org(slug="other", name="Other Org", owner=outsider)
    db.session.commit()
    return {
        "host": host,
        "host_owner": host_owner,
        "partner": partner,
        "partner_owner": partner_owner,
        "partner_organizer": partner_organizer,
        "other": other,
        "outsider": outsider,
    }


def hosts_of(event_id: int) -> dict[str, str]:
    """Co-host slug -> status, straight from the database."""
    db.session.expire_all()
    rows = db.session.scalars(select(EventHost).where(EventHost.event_id == event_id))
    return {h.organization.slug: h.status for h in rows}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def shown_as_host(client, event: Event, slug: str) -> bool:
    """The action's page names the organization among its hosts (and in its share summary)."""
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    hosts = html.split('class="hosts"', 1)[1].split("</p>", 1)[0]
    return f'href="/orgs/{slug}"' in hosts


def on_org_pages(client, event: Event, slug: str) -> dict[str, bool]:
    return {
        "page": event.title in client.get(f"/orgs/{slug}").get_data(as_text=True),
        "feed": event.title in client.get(f"/orgs/{slug}/events.ics").get_data(as_text=True),
        "listing": event.title in client.get(f"/events/?org={slug}").get_data(as_text=True),
    }


def accept_url(slug: str, event: Event | int) -> str:
    return f"/orgs/{slug}/cohosting/{getattr(event, 'id', event)}/accept"


def decline_url(slug: str, event: Event | int) -> str:
    return f"/orgs/{slug}/cohosting/{getattr(event, 'id', event)}/decline"


# --- asking -------------------------------------------------------------------------------------


def test_adding_a_cohost_asks_it_and_emails_its_organizers(client, auth, post_form, orgs, mailbox):
    auth.login(orgs["host_owner"])
    response = post_form("/events/new?org=host", event_form(cohosts=["partner"]))
    assert response.status_code == 302
    event = db.session.scalars(select(Event)).one()
    assert hosts_of(event.id) == {"partner": "pending"}
    row = db.session.get(EventHost, (event.id, orgs["partner"].id))
    assert row.requested_by_id == orgs["host_owner"].id
    assert row.requested_at is not None and row.responded_at is None

    messages = mailbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == [
        "partner-organizer@example.org",
        "partner-owner@example.org",
    ]
    english = mailbox.to("partner-organizer@example.org")[0]
    assert "Host Org asks Partner Org to co-host" in english["Subject"]
    body = text_part(english)
    assert "Host Owner of Host Org asks Partner Org to co-host" in body
    assert "Friday vigil" in body
    assert "http://localhost/orgs/partner/manage#cohosting" in body
    assert "Paris Square" not in body  # the address is not the partner's to see yet
    hebrew = mailbox.to("partner-owner@example.org")[0]
    assert 'lang="he"' in html_part(hebrew) and 'dir="rtl"' in html_part(hebrew)
    assert not mailbox.to("host@example.org")


def test_the_edit_form_shows_who_has_not_accepted_yet(client, auth, orgs):
    event = factories.make_event(
        orgs["host"], cohosts=(orgs["other"],), pending_cohosts=(orgs["partner"],)
    )
    auth.login(orgs["host_owner"])
    html = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert "waiting for <bdi>Partner Org</bdi> to accept" in html
    assert "waiting for <bdi>Other Org</bdi>" not in html
    assert 'name="cohosts"' in html


def test_sending_the_same_request_twice_asks_once(client, auth, post_form, orgs, mailbox):
    auth.login(orgs["host_owner"])
    post_form("/events/new?org=host", event_form(cohosts=["partner"]))
    post_form("/events/new?org=host", event_form(cohosts=["partner"]))
    event = db.session.scalars(select(Event)).one()
    assert hosts_of(event.id) == {"partner": "pending"}
    mailbox.wait_for(3, timeout=1)
    assert len(mailbox.messages) == 2


# --- a pending co-host is no host ------------------------------------------------------------


def test_pending_cohost_gets_nothing_until_it_accepts(client, auth, post_form, orgs):
    event = factories.make_event(
        orgs["host"], title="Joint vigil", pending_cohosts=(orgs["partner"],)
    )
    factories.make_signup(event, name="Secret Volunteer")

    assert not shown_as_host(client, event, "partner")
    assert not any(on_org_pages(client, event, "partner").values())

    auth.login(orgs["partner_organizer"])
    assert client.get(f"/events/{event.id}/roster").status_code == 403
    assert client.get(f"/events/{event.id}/roster.csv").status_code == 403
    assert client.get(f"/events/{event.id}/edit").status_code == 403
    manage = client.get("/orgs/partner/manage").get_data(as_text=True)
    assert "Asked to co-host" in manage and "Joint vigil" in manage
    assert accept_url("partner", event) in manage
    assert "Secret Volunteer" not in manage

    response = post_form(accept_url("partner", event), {}, page="/orgs/partner/manage")
    assert response.status_code == 302
    assert hosts_of(event.id) == {"partner": "accepted"}
    row = db.session.get(EventHost, (event.id, orgs["partner"].id))
    assert row.responded_at is not None

    assert client.get(f"/events/{event.id}/roster").status_code == 200
    assert "Secret Volunteer" in client.get(f"/events/{event.id}/roster").get_data(as_text=True)
    assert client.get(f"/events/{event.id}/edit").status_code == 200
    assert shown_as_host(client, event, "partner")
    assert all(on_org_pages(client, event, "partner").values())
    assert "Asked to co-host" not in client.get("/orgs/partner/manage").get_data(as_text=True)


def test_a_pending_draft_stays_hidden_from_the_cohost(client, auth, orgs):
    draft = factories.make_event(
        orgs["host"], title="Secret draft", status="draft", pending_cohosts=(orgs["partner"],)
    )
    auth.login(orgs["partner_owner"])
    assert client.get(f"/events/{draft.id}").status_code == 404
    manage = client.get("/orgs/partner/manage").get_data(as_text=True)
    assert "Secret draft" in manage  # the request itself says what it is about
    assert f'href="/events/{draft.id}"' not in manage


def test_declining_removes_the_request_and_the_host_may_ask_again(
    client, auth, post_form, orgs, mailbox
):
    event = factories.make_event(orgs["host"], pending_cohosts=(orgs["partner"],))
    auth.login(orgs["partner_owner"])
    response = post_form(decline_url("partner", event), {}, page="/orgs/partner/manage")
    assert response.status_code == 302
    assert hosts_of(event.id) == {}
    assert not shown_as_host(client, event, "partner")

    # Asking again is a new request, emailed again; nothing happens by itself.
    auth.logout()
    auth.login(orgs["host_owner"])
    assert "waiting for" not in client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    post_form(f"/events/{event.id}/edit", event_form(title=event.title, cohosts=["partner"]))
    assert hosts_of(event.id) == {"partner": "pending"}
    assert len(mailbox.wait_for(2)) == 2


def test_a_cohost_may_stop_cohosting(client, auth, post_form, orgs):
    event = factories.make_event(orgs["host"], cohosts=(orgs["partner"],))
    auth.login(orgs["partner_organizer"])
    manage = client.get("/orgs/partner/manage").get_data(as_text=True)
    assert decline_url("partner", event) in manage  # "Stop co-hosting"
    post_form(decline_url("partner", event), {}, page="/orgs/partner/manage")
    assert hosts_of(event.id) == {}
    assert client.get(f"/events/{event.id}/roster").status_code == 403


def test_the_host_removes_cohosts_asked_or_accepted(client, auth, post_form, orgs):
    event = factories.make_event(
        orgs["host"], cohosts=(orgs["other"],), pending_cohosts=(orgs["partner"],)
    )
    auth.login(orgs["host_owner"])
    response = post_form(f"/events/{event.id}/edit", event_form(title=event.title, cohosts=[]))
    assert response.status_code == 302
    assert hosts_of(event.id) == {}


# --- who may do what ---------------------------------------------------------------------------


def test_a_cohost_organizer_edits_the_action_but_not_the_cohosts(client, auth, post_form, orgs):
    event = factories.make_event(orgs["host"], cohosts=(orgs["partner"],))
    auth.login(orgs["partner_owner"])
    html = client.get(f"/events/{event.id}/edit?lang=en").get_data(as_text=True)
    assert 'name="cohosts"' not in html
    assert "Only the organizers of <bdi>Host Org</bdi> choose the co-hosts." in html

    # Adding an organization, or dropping the others, is ignored; the rest of the edit is saved.
    response = post_form(
        f"/events/{event.id}/edit", event_form(title="Renamed", cohosts=["partner", "other"])
    )
    assert response.status_code == 302
    assert hosts_of(event.id) == {"partner": "accepted"}
    assert db.session.get(Event, event.id).title == "Renamed"
    post_form(f"/events/{event.id}/edit", event_form(title="Renamed", cohosts=[]))
    assert hosts_of(event.id) == {"partner": "accepted"}


def test_the_service_refuses_cohost_changes_from_a_cohost(app, orgs):
    event = factories.make_event(orgs["host"], cohosts=(orgs["partner"],))
    now = factories.now()
    with pytest.raises(NotAllowed):
        service.set_cohosts(event, ["partner", "other"], orgs["partner_owner"], now)
    with pytest.raises(NotAllowed):
        service.set_cohosts(event, [], orgs["partner_owner"], now)
    assert not service.set_cohosts(event, ["partner"], orgs["partner_owner"], now).any
    assert hosts_of(event.id) == {"partner": "accepted"}


def test_only_the_asked_organization_may_answer(client, auth, post_form, orgs):
    event = factories.make_event(orgs["host"], pending_cohosts=(orgs["partner"],))
    for user in ("outsider", "host_owner"):
        auth.login(orgs[user])
        for url in (accept_url("partner", event), decline_url("partner", event)):
            assert post_form(url, {}, page="/orgs/mine").status_code == 403
        auth.logout()
    # An organization that was not asked has nothing to answer.
    auth.login(orgs["outsider"])
    assert post_form(accept_url("other", event), {}, page="/orgs/other/manage").status_code == 404
    assert post_form(accept_url("other", 999999), {}, page="/orgs/other/manage").status_code == 404
    assert hosts_of(event.id) == {"partner": "pending"}
    with pytest.raises(NotAllowed):
        service.accept_cohost(event.id, orgs["partner"], orgs["outsider"], factories.now())
    assert hosts_of(event.id) == {"partner": "pending"}


def test_an_admin_may_ask_and_answer(client, auth, post_form, orgs):
    admin = factories.make_user(is_admin=True)
    event = factories.make_event(orgs["host"])
    auth.login(admin)
    post_form(f"/events/{event.id}/edit", event_form(title=event.title, cohosts=["partner"]))
    assert hosts_of(event.id) == {"partner": "pending"}
    post_form(accept_url("partner", event), {}, page="/orgs/partner/manage")
    assert hosts_of(event.id) == {"partner": "accepted"}


def test_answers_need_the_csrf_token(client, auth, orgs):
    event = factories.make_event(orgs["host"], pending_cohosts=(orgs["partner"],))
    auth.login(orgs["partner_owner"])
    for url in (accept_url("partner", event), decline_url("partner", event)):
        assert client.post(url, data={}).status_code == 400
        assert client.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert hosts_of(event.id) == {"partner": "pending"}


def test_answering_needs_a_login_and_a_post(client, orgs):
    event = factories.make_event(orgs["host"], pending_cohosts=(orgs["partner"],))
    assert client.get(accept_url("partner", event)).status_code == 405
    assert hosts_of(event.id) == {"partner": "pending"}


# --- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize("cohosts", [["no-such-org"], ["host"], ["partner", "<script>"]])
def test_unknown_or_own_organization_is_a_form_error(
    client, auth, post_form, orgs, mailbox, cohosts
):
    auth.login(orgs["host_owner"])
    response = post_form("/events/new?org=host", event_form(cohosts=cohosts))
    assert response.status_code == 400
    assert "not a valid choice" in response.get_data(as_text=True)
    assert count(Event) == 0 and count(EventHost) == 0

    event = factories.make_event(orgs["host"], title="Kept")
    response = post_form(f"/events/{event.id}/edit", event_form(title="Changed", cohosts=cohosts))
    assert response.status_code == 400
    assert db.session.get(Event, event.id).title == "Kept"
    assert count(EventHost) == 0
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_the_service_checks_the_slugs_too(app, orgs):
    event = factories.make_event(orgs["host"])
    now = factories.now()
    for slugs in (["no-such-org"], ["host"], ["HOST "]):
        with app.test_request_context(), pytest.raises(InvalidInput):
            service.set_cohosts(event, slugs, orgs["host_owner"], now)
    assert count(EventHost) == 0


def test_past_and_cancelled_requests_are_not_listed(client, auth, orgs):
    factories.make_event(
        orgs["host"],
        title="Long gone",
        starts_in=timedelta(days=-3),
        pending_cohosts=(orgs["partner"],),
    )
    factories.make_event(
        orgs["host"], title="Called off", status="cancelled", pending_cohosts=(orgs["partner"],)
    )
    auth.login(orgs["partner_owner"])
    html = client.get("/orgs/partner/manage").get_data(as_text=True)
    assert "Asked to co-host" not in html
