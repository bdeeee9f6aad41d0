"""Organizers create, edit, publish, cancel and delete actions; volunteers hear about changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from organizer.events.forms import local_to_utc
from organizer.extensions import db
from organizer.models import Event, Membership, Organization, Signup

from . import factories
from .helpers import text_part

JERUSALEM = ZoneInfo("Asia/Jerusalem")


def event_form(days_ahead: int = 10, **overrides) -> dict:
    """A valid action form, ten days ahead, 13:00–15:00 in the organization's zone."""
    day = (factories.now() + timedelta(days=days_ahead)).astimezone(JERUSALEM).date()
    data = {
        "title": "Friday vigil",
        "language": "en",
        "description": "Bring **candles**.",
        "kind": "demonstration",
        "causes": ["peace", "equality"],
        "region": "jerusalem",
        "city": "Jerusalem",
        "start_date": day.isoformat(),
        "start_time": "13:00",
        "end_date": day.isoformat(),
        "end_time": "15:00",
        "address": "Paris Square",
        "capacity": "",
        "waitlist_enabled": "y",
        "visibility": "public",
        "location_visibility": "public",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count_events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


def only_event() -> Event:
    db.session.expire_all()
    return db.session.scalars(select(Event)).one()


def fresh(event: Event) -> Event:
    db.session.expire_all()
    return db.session.get(Event, event.id)


@pytest.fixture()
def host():
    """An organization with its owner, and a second organization that co-hosts."""
    owner = factories.make_user(name="Host Owner")
    org = factories.make_org(slug="host", name="Host Org", owner=owner)
    co_owner = factories.make_user(name="Cohost Owner")
    cohost = factories.make_org(slug="cohost", name="Cohost Org", owner=co_owner)
    outsider = factories.make_user(name="Outsider")
    factories.make_org(slug="other", name="Other Org", owner=outsider)
    return {
        "owner": owner,
        "org": org,
        "co_owner": co_owner,
        "cohost": cohost,
        "outsider": outsider,
    }


# --- creating -----------------------------------------------------------------------------------


def test_organizer_creates_a_draft_with_cohost_and_causes(client, auth, post_form, host):
    auth.login(host["owner"])
    response = post_form("/events/new?org=host", event_form(cohosts=["cohost"]))
    event = only_event()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/events/{event.id}")
    assert event.status == "draft"
    assert event.organization_id == host["org"].id
    assert [h.organization.slug for h in event.cohosts] == ["cohost"]
    assert sorted(event.cause_slugs) == ["equality", "peace"]
    assert "<strong>candles</strong>" in event.description_html
    assert event.capacity is None and event.waitlist_enabled
    assert event.created_by_id == host["owner"].id


def test_same_form_sent_twice_makes_one_draft(client, auth, post_form, host):
    auth.login(host["owner"])
    post_form("/events/new?org=host", event_form())
    post_form("/events/new?org=host", event_form())
    assert count_events() == 1


def test_new_without_org_offers_my_organizations(client, auth, host):
    member = factories.make_user()
    for slug in ("host", "cohost"):
        org = db.session.scalar(select(Organization).where(Organization.slug == slug))
        db.session.add(Membership(organization=org, user=member, role="organizer"))
    db.session.commit()
    auth.login(member)
    html = client.get("/events/new").get_data(as_text=True)
    assert "/events/new?org=host" in html and "/events/new?org=cohost" in html
    assert "org=other" not in html


def test_new_with_a_single_org_goes_straight_to_the_form(client, auth, host):
    auth.login(host["owner"])
    response = client.get("/events/new")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/events/new?org=host")


def test_only_organizers_of_the_org_may_post(client, auth, post_form, host):
    assert client.get("/events/new?org=host").status_code == 302  # to the login page
    assert "/auth/login" in client.get("/events/new?org=host").headers["Location"]
    auth.login(host["outsider"])
    assert client.get("/events/new?org=host").status_code == 403
    response = post_form("/events/new?org=host", event_form(), page="/events/")
    assert response.status_code == 403
    assert client.get("/events/new?org=no-such-org").status_code == 404
    assert count_events() == 0


def test_cohost_must_exist_and_not_be_the_host(client, auth, post_form, host):
    auth.login(host["owner"])
    response = post_form("/events/new?org=host", event_form(cohosts=["host"]))
    assert response.status_code == 400
    response = post_form("/events/new?org=host", event_form(cohosts=["no-such-org"]))
    assert response.status_code == 400
    assert count_events() == 0


# --- time zones ------------------------------------------------------------------------------


def _next(month: int, day: int) -> date:
    """The next such day at least a week ahead: fixed dates in tests go stale."""
    today = factories.now().date()
    candidate = date(today.year, month, day)
    return (
        candidate
        if candidate > today + timedelta(days=7)
        else candidate.replace(year=today.year + 1)
    )


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [(_next(1, 15), 11), (_next(7, 2), 10)],  # winter IST +2, summer IDT +3
)
def test_times_are_entered_in_the_org_zone_and_stored_in_utc(
    client, auth, post_form, host, day, utc_hour
):
    auth.login(host["owner"])
    data = event_form(start_date=day.isoformat(), end_date=day.isoformat())
    assert post_form("/events/new?org=host", data).status_code == 302
    event = only_event()
    assert event.starts_at == datetime.combine(day, time(utc_hour), tzinfo=UTC)
    assert event.ends_at == datetime.combine(day, time(utc_hour + 2), tzinfo=UTC)
    assert event.timezone == "Asia/Jerusalem"
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "13:00–15:00" in page
    assert "Jerusalem time" in page
    edit_page = client.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert 'value="13:00"' in edit_page and 'value="15:00"' in edit_page


def test_org_in_another_zone_enters_its_own_local_time(client, auth, post_form):
    winter = _next(1, 15)
    owner = factories.make_user()
    factories.make_org(slug="ny", owner=owner, timezone="America/New_York")
    auth.login(owner)
    assert (
        post_form(
            "/events/new?org=ny",
            event_form(start_date=winter.isoformat(), end_date=winter.isoformat()),
        ).status_code
        == 302
    )
    event = only_event()
    assert event.starts_at == datetime.combine(winter, time(18), tzinfo=UTC)  # 13:00 EST
    assert "New York time" in client.get(f"/events/{event.id}").get_data(as_text=True)


def _dst_gap_day(tz: str) -> date:
    """A day next spring on which 02:30 does not exist on the clocks of `tz`."""
    year = factories.now().year + 1
    for offset in range(120):
        day = date(year, 2, 1) + timedelta(days=offset)
        if local_to_utc(day, time(2, 30), tz) is None:
            return day
    raise AssertionError("no DST gap found")


def test_a_time_the_clocks_skip_is_refused(client, auth, post_form, host):
    day = _dst_gap_day("Asia/Jerusalem").isoformat()
    auth.login(host["owner"])
    response = post_form(
        "/events/new?org=host",
        event_form(start_date=day, end_date=day, start_time="02:30", end_time="04:00"),
    )
    assert response.status_code == 400
    assert "clocks change" in response.get_data(as_text=True)
    assert count_events() == 0


# --- editing ---------------------------------------------------------------------------------


def published(host, **kwargs) -> Event:
    kwargs.setdefault("cohosts", (host["cohost"],))
    return factories.make_event(host["org"], **kwargs)


@pytest.mark.parametrize("who", ["owner", "co_owner"])
def test_organizers_of_host_and_cohost_may_edit(client, auth, post_form, host, who):
    event = published(host)
    auth.login(host[who])
    url = f"/events/{event.id}/edit"
    assert client.get(url).status_code == 200
    response = post_form(url, event_form(title="Renamed vigil", cohosts=["cohost"]))
    assert response.status_code == 302
    event = fresh(event)
    assert event.title == "Renamed vigil"
    assert event.sequence == 1


def test_others_may_not_edit_publish_cancel_or_delete(client, auth, post_form, host):
    event = published(host)
    draft = published(host, status="draft")
    for url in (f"/events/{event.id}/edit", f"/events/{event.id}/cancel"):
        assert "/auth/login" in client.get(url).headers["Location"]
    auth.login(host["outsider"])
    assert client.get(f"/events/{event.id}/edit").status_code == 403
    assert client.get(f"/events/{event.id}/cancel").status_code == 403
    assert (
        post_form(
            f"/events/{event.id}/edit", event_form(title="Hijacked"), page="/events/"
        ).status_code
        == 403
    )
    assert post_form(f"/events/{event.id}/cancel", {}, page="/events/").status_code == 403
    # Drafts are not even acknowledged.
    assert client.get(f"/events/{draft.id}/edit").status_code == 404
    assert post_form(f"/events/{draft.id}/publish", {}, page="/events/").status_code == 404
    assert post_form(f"/events/{draft.id}/delete", {}, page="/events/").status_code == 404
    assert client.get("/events/999999/edit").status_code == 404
    assert fresh(event).title != "Hijacked" and fresh(event).status == "published"
    assert fresh(draft).status == "draft"


def test_changing_the_time_emails_every_active_volunteer(client, auth, post_form, host, mailbox):
    event = published(host, starts_at=datetime(2026, 12, 11, 11, 0, tzinfo=UTC), capacity=2)
    confirmed = factories.make_signup(event, "confirmed", email="dana@example.org", name="Dana")
    factories.make_signup(event, "waitlisted", email="wait@example.org")
    factories.make_signup(event, "pending", email="pending@example.org")
    factories.make_signup(event, "cancelled", email="gone@example.org")
    factories.make_signup(event, "declined", email="no@example.org")
    hebrew = factories.make_signup(event, "confirmed", email="he@example.org", locale="he")
    auth.login(host["owner"])
    response = post_form(
        f"/events/{event.id}/edit",
        event_form(
            start_date="2026-12-11",
            start_time="17:30",
            end_date="2026-12-11",
            end_time="19:00",
            capacity="2",
        ),
    )
    assert response.status_code == 302
    messages = mailbox.wait_for(4)
    assert sorted(m["To"] for m in messages) == sorted(
        ["dana@example.org", "wait@example.org", "pending@example.org", "he@example.org"]
    )
    (dana,) = mailbox.to(confirmed.email)
    text = text_part(dana)
    assert "Changed: Friday vigil" == dana["Subject"]
    assert "17:30–19:00" in text  # the new time, in the action's zone
    assert "13:00–15:00" in text  # and the old one
    assert "Jerusalem time" in text
    (calendar,) = [p for p in dana.iter_attachments() if p.get_content_type() == "text/calendar"]
    vevent = Calendar.from_ical(calendar.get_content()).walk("VEVENT")[0]
    assert int(vevent["SEQUENCE"]) == fresh(event).sequence == 1
    (in_hebrew,) = mailbox.to(hebrew.email)
    assert "ירושלים" in text_part(in_hebrew)


def test_changing_only_the_title_emails_nobody(client, auth, post_form, host, mailbox):
    event = published(host, starts_at=datetime(2026, 12, 11, 11, 0, tzinfo=UTC), city="Jerusalem")
    factories.make_signup(event, "confirmed")
    auth.login(host["owner"])
    post_form(
        f"/events/{event.id}/edit",
        event_form(title="New title", start_date="2026-12-11", end_date="2026-12-11"),
    )
    assert fresh(event).title == "New title"
    assert mailbox.wait_for(1, timeout=0.5) == []


def test_a_new_hidden_address_reaches_only_confirmed_volunteers(
    client, auth, post_form, host, mailbox
):
    event = published(
        host,
        starts_at=datetime(2026, 12, 11, 11, 0, tzinfo=UTC),
        location_visibility="confirmed",
        address="Old Secret 1",
    )
    yes = factories.make_signup(event, "confirmed")
    wait = factories.make_signup(event, "waitlisted")
    auth.login(host["owner"])
    post_form(
        f"/events/{event.id}/edit",
        event_form(
            start_date="2026-12-11",
            end_date="2026-12-11",
            address="New Secret 2",
            location_visibility="confirmed",
        ),
    )
    mailbox.wait_for(2)
    (to_confirmed,) = mailbox.to(yes.email)
    (to_waiting,) = mailbox.to(wait.email)
    assert "New Secret 2" in text_part(to_confirmed)
    for part in to_waiting.walk():
        if not part.is_multipart():
            content = part.get_content()
            content = content.decode() if isinstance(content, bytes) else content
            assert "Secret" not in content


def test_raising_capacity_promotes_the_waitlist(client, auth, post_form, host, mailbox):
    event = published(host, capacity=1)
    factories.make_signup(event, "confirmed")
    waiting = factories.make_signup(event, "waitlisted", email="next@example.org")
    auth.login(host["owner"])
    day = event.local_start.date().isoformat()
    post_form(
        f"/events/{event.id}/edit",
        event_form(
            capacity="5",
            start_date=day,
            end_date=event.local_end.date().isoformat(),
            start_time=event.local_start.strftime("%H:%M"),
            end_time=event.local_end.strftime("%H:%M"),
        ),
    )
    db.session.expire_all()
    assert db.session.get(Signup, waiting.id).status == "confirmed"
    mailbox.wait_for(1)
    (promoted,) = mailbox.to("next@example.org")
    # Same time and place: the promotion is the only news.
    assert not promoted["Subject"].startswith("Changed:")
    assert len(mailbox.wait_for(2, timeout=0.5)) == 1


def test_capacity_cannot_go_below_the_confirmed_places(client, auth, post_form, host):
    event = published(host, capacity=5)
    signups = [factories.make_signup(event, "confirmed") for _ in range(3)]
    auth.login(host["owner"])
    day = event.local_start.date().isoformat()
    same_time = {
        "start_date": day,
        "end_date": event.local_end.date().isoformat(),
        "start_time": event.local_start.strftime("%H:%M"),
        "end_time": event.local_end.strftime("%H:%M"),
    }
    response = post_form(
        f"/events/{event.id}/edit", event_form(capacity="1", title="Renamed", **same_time)
    )
    assert response.status_code == 400
    assert (
        "3 volunteers are already confirmed; the capacity can&#39;t be lower. "
        "Cancel sign-ups from the roster first." in response.get_data(as_text=True)
    )
    # Nothing written: neither the capacity nor the rest of the edit.
    assert fresh(event).capacity == 5 and fresh(event).title != "Renamed"
    assert fresh(event).sequence == 0
    assert {db.session.get(Signup, s.id).status for s in signups} == {"confirmed"}
    # Down to exactly the places taken is fine.
    response = post_form(f"/events/{event.id}/edit", event_form(capacity="3", **same_time))
    assert response.status_code == 302
    assert fresh(event).capacity == 3


def test_new_form_says_which_clock_the_times_follow(client, auth, host):
    auth.login(host["owner"])
    html = client.get("/events/new?org=host").get_data(as_text=True)
    assert "Times are in Jerusalem time." in html
    assert 'name="csrf_token"' in html


# --- publishing, cancelling, deleting --------------------------------------------------------


def test_publish_a_draft(client, auth, post_form, host):
    draft = published(host, status="draft")
    assert client.get(f"/events/{draft.id}").status_code == 404
    auth.login(host["co_owner"])
    assert client.get(f"/events/{draft.id}").status_code == 200
    response = post_form(f"/events/{draft.id}/publish", {}, page=f"/events/{draft.id}")
    assert response.status_code == 302
    event = fresh(draft)
    assert event.status == "published" and event.published_at is not None
    auth.logout()
    assert client.get(f"/events/{draft.id}").status_code == 200


def test_publish_needs_csrf(client, auth, host):
    draft = published(host, status="draft")
    auth.login(host["owner"])
    assert client.post(f"/events/{draft.id}/publish").status_code == 400
    assert fresh(draft).status == "draft"


def test_cancel_asks_first_then_emails_every_active_volunteer(
    client, auth, post_form, host, mailbox
):
    event = published(host)
    emails = [
        factories.make_signup(event, status).email
        for status in ("confirmed", "waitlisted", "pending")
    ]
    factories.make_signup(event, "cancelled")
    auth.login(host["owner"])
    page = client.get(f"/events/{event.id}/cancel")
    assert page.status_code == 200
    assert "3 volunteers will get an email" in page.get_data(as_text=True)
    response = post_form(f"/events/{event.id}/cancel", {"message": "Police closed the square."})
    assert response.status_code == 302
    event = fresh(event)
    assert event.status == "cancelled" and event.cancelled_at is not None and event.sequence == 1
    messages = mailbox.wait_for(3)
    assert sorted(m["To"] for m in messages) == sorted(emails)
    body = text_part(messages[0])
    assert "Police closed the square." in body
    assert messages[0]["Subject"].startswith("Cancelled:")
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "This action was cancelled." in html
    # Cancelling twice does nothing more.
    post_form(f"/events/{event.id}/cancel", {}, page=f"/events/{event.id}")
    assert len(mailbox.wait_for(4, timeout=0.5)) == 3


def test_delete_only_drafts(client, auth, post_form, host):
    draft = published(host, status="draft")
    live = published(host)
    auth.login(host["owner"])
    response = post_form(f"/events/{live.id}/delete", {}, page=f"/events/{live.id}")
    assert response.status_code == 302
    assert fresh(live) is not None
    response = post_form(f"/events/{draft.id}/delete", {}, page=f"/events/{draft.id}")
    assert response.status_code == 302
    assert fresh(draft) is None


def test_manager_links_only_for_managers(client, auth, host):
    event = published(host)
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert f"/events/{event.id}/edit" not in html and "/roster" not in html
    auth.login(host["co_owner"])
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert f"/events/{event.id}/edit" in html and f"/events/{event.id}/cancel" in html
