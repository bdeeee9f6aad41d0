"""Shifts on the roster, in the CSV, in listings and digests, in organizers' emails, in the demo."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from organizer import seed as demo
from organizer.events.display import availability
from organizer.extensions import db
from organizer.models import Event, Shift, Signup
from organizer.services import signups as service
from organizer.services.digest_selection import load_candidates

from . import factories
from .helpers import count_queries, text_part


@pytest.fixture()
def setup():
    owner = factories.make_user(name="Host Owner")
    org = factories.make_org(owner=owner)
    event = factories.make_event(
        org, title="Aid depot day", duration=timedelta(hours=8), capacity=None
    )
    start = event.starts_at
    sorting = factories.make_shift(
        event, "Sorting", capacity=2, starts_at=start, ends_at=start + timedelta(hours=4)
    )
    loading = factories.make_shift(event, "Loading", capacity=1)
    drivers = factories.make_shift(event, "Drivers")
    return {"owner": owner, "event": event, "shifts": (sorting, loading, drivers)}


@pytest.fixture()
def request_context(app):
    """Badges are worded in the reader's language: they need a request."""
    with app.test_request_context():
        yield


def roster_url(event) -> str:
    return f"/events/{event.id}/roster"


# --- roster ---------------------------------------------------------------------------------


def test_roster_groups_by_shift_with_counts(client, auth, setup):
    event = setup["event"]
    sorting, loading, drivers = setup["shifts"]
    factories.make_signup(event, "confirmed", shift=sorting, name="Sara Sorter")
    factories.make_signup(event, "confirmed", shift=loading, name="Lina Loader")
    factories.make_signup(event, "waitlisted", shift=loading, name="Walid Waiting")
    factories.make_signup(event, "pending", shift=drivers, name="Dov Driver")
    factories.make_signup(event, "confirmed", shift=drivers, name="Sara Sorter", email="s@x.org")
    auth.login(setup["owner"])

    html = client.get(roster_url(event)).get_data(as_text=True)

    assert "1 of 2 places taken" in html  # sorting
    assert "1 of 1 places taken · 1 on the waitlist" in html  # loading
    assert "1 confirmed · no limit · 1 waiting for approval" in html  # drivers
    assert html.count('class="roster-group"') == 3
    body = html.split('class="roster-group"', 1)[1]
    order = [body.index(name) for name in ("Sara Sorter", "Lina Loader", "Walid Waiting")]
    assert order == sorted(order)
    assert body.index("Loading") < body.index("Lina Loader") < body.index("Drivers")
    assert body.index("Drivers") < body.index("Dov Driver")
    assert f'href="/events/{event.id}/shifts"' in html


def test_roster_shows_signups_from_before_the_shifts(client, auth, setup):
    event = setup["event"]
    factories.make_signup(event, "confirmed", name="Early Bird")  # the whole action
    auth.login(setup["owner"])
    html = client.get(roster_url(event)).get_data(as_text=True)
    assert "The whole action (signed up before it had shifts)" in html
    assert "Early Bird" in html


def test_roster_runs_the_same_queries_for_3_or_60_volunteers_with_shifts(client, auth, setup):
    event = setup["event"]
    shifts = setup["shifts"]
    auth.login(setup["owner"])
    for i in range(3):
        factories.make_signup(event, "confirmed", shift=shifts[i], attendance="attended")
    factories.make_signup(event, "pending", shift=shifts[2])
    url = roster_url(event)
    client.get(url)
    db.session.expire_all()
    with count_queries() as small:
        assert client.get(url).status_code == 200
    for i in range(60):
        status = ("confirmed", "waitlisted", "pending", "cancelled")[i % 4]
        factories.make_signup(event, status, shift=shifts[i % 3])
    db.session.expire_all()
    with count_queries() as large:
        response = client.get(url)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="roster-name"') == 64
    assert len(large) == len(small)
    assert len(large) <= 12, "\n\n".join(large)


def test_the_shifts_page_runs_the_same_queries_for_few_or_many(client, auth, setup):
    event = setup["event"]
    auth.login(setup["owner"])
    url = f"/events/{event.id}/shifts"
    client.get(url)
    db.session.expire_all()
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for i in range(12):
        shift = factories.make_shift(event, f"Extra {i}", capacity=3)
        factories.make_signup(event, "confirmed", shift=shift)
    db.session.expire_all()
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert len(few) == len(many)


def test_csv_has_a_shift_column(client, auth, setup):
    event = setup["event"]
    sorting, loading, _drivers = setup["shifts"]
    factories.make_signup(event, "confirmed", shift=sorting, name="Sara", email="s@example.org")
    factories.make_signup(event, "confirmed", shift=loading, name="Sara", email="s@example.org")
    factories.make_signup(event, "confirmed", name="Before")  # the whole action
    auth.login(setup["owner"])

    raw = client.get(f"{roster_url(event)}.csv").get_data()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))

    assert rows[0][:5] == ["Name", "Email", "Phone", "Shift", "Status"]
    assert [(row[0], row[3], row[4]) for row in rows[1:]] == [
        ("Before", "", "Confirmed"),
        ("Sara", "Sorting", "Confirmed"),
        ("Sara", "Loading", "Confirmed"),
    ]


def test_csv_of_an_action_without_shifts_is_unchanged(client, auth, setup):
    plain = factories.make_event(setup["event"].organization, capacity=5)
    factories.make_signup(plain, "confirmed")
    auth.login(setup["owner"])
    raw = client.get(f"{roster_url(plain)}.csv").get_data()
    header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert "Shift" not in header


# --- emails to everyone ---------------------------------------------------------------------


def test_a_volunteer_in_two_shifts_gets_one_email_per_message(
    client, auth, post_form, mailbox, setup
):
    event = setup["event"]
    sorting, loading, _drivers = setup["shifts"]
    factories.make_signup(event, "confirmed", shift=sorting, email="both@example.org")
    factories.make_signup(event, "confirmed", shift=loading, email="both@example.org")
    factories.make_signup(event, "confirmed", shift=sorting, email="one@example.org")
    auth.login(setup["owner"])
    url = f"/events/{event.id}/message"
    assert "2 confirmed" in client.get(url).get_data(as_text=True)
    response = post_form(url, {"subject": "Gloves", "body": "Bring gloves."}, follow_redirects=True)
    assert "Sent to 2 confirmed volunteers." in response.get_data(as_text=True)
    assert sorted(m["To"] for m in mailbox.wait_for(2)) == ["both@example.org", "one@example.org"]


def test_cancelling_the_action_emails_each_volunteer_once(client, auth, post_form, mailbox, setup):
    event = setup["event"]
    sorting, loading, _drivers = setup["shifts"]
    factories.make_signup(event, "waitlisted", shift=loading, email="both@example.org")
    factories.make_signup(event, "confirmed", shift=sorting, email="both@example.org")
    auth.login(setup["owner"])
    url = f"/events/{event.id}/cancel"
    response = post_form(url, {"message": ""}, follow_redirects=True)
    assert "1 volunteer was emailed." in response.get_data(as_text=True)
    assert [m["To"] for m in mailbox.wait_for(1)] == ["both@example.org"]
    assert "cancelled" in text_part(mailbox.messages[0])


# --- counts, badges and digests -------------------------------------------------------------


def test_counts_carry_the_places_left_in_shifts_in_one_query(app, request_context, setup):
    event = setup["event"]
    sorting, loading, drivers = setup["shifts"]
    plain = factories.make_event(capacity=4)
    factories.make_signup(plain, "confirmed")
    factories.make_signup(event, "confirmed", shift=sorting)
    factories.make_signup(event, "confirmed", shift=loading)
    factories.make_signup(event, "waitlisted", shift=loading)

    ids = [event.id, plain.id]
    with count_queries() as queries:
        counts = service.counts_by_event(ids)
    assert len(queries) == 1
    assert counts[plain.id] == {"confirmed": 1}
    assert counts[event.id] == {
        "confirmed": 2,
        "waitlisted": 1,
        "shifts": 3,
        "shifts_unlimited": 1,
        "shift_places_left": 1,
    }
    assert service.places_left_in(event, counts[event.id]) is None  # drivers: no limit
    drivers.capacity = 2
    db.session.commit()
    counts = service.counts_by_event([event.id])
    assert service.places_left_in(event, counts[event.id]) == 3
    assert availability(event, counts[event.id])[0][0] == "3 places left"


def _fill(event, shifts) -> None:
    for shift in shifts:
        for _ in range(shift.capacity):
            factories.make_signup(event, "confirmed", shift=shift)


def test_full_only_when_every_shift_is_full(app, request_context, setup):
    event = setup["event"]
    sorting, loading, drivers = setup["shifts"]
    drivers.capacity = 1
    event.waitlist_enabled = False
    db.session.commit()
    _fill(event, [sorting, loading])

    counts = service.counts_by_event([event.id])[event.id]
    assert not service.full_without_waitlist(event, counts)
    assert availability(event, counts)[0][0] == "1 place left"
    assert event.id in {e.id for e in load_candidates(factories.now()).events}

    _fill(event, [drivers])
    counts = service.counts_by_event([event.id])[event.id]
    assert service.full_without_waitlist(event, counts)
    assert availability(event, counts)[0] == ("Full", "danger")
    candidates = load_candidates(factories.now())
    assert event.id not in {e.id for e in candidates.events}

    event.waitlist_enabled = True
    db.session.commit()
    counts = service.counts_by_event([event.id])[event.id]
    assert availability(event, counts)[0] == ("Waitlist open", "warn")
    candidates = load_candidates(factories.now())
    assert event.id in {e.id for e in candidates.events}
    assert candidates.places_left(db.session.get(Event, event.id)) == 0


def test_the_listing_shows_shift_places(client, setup):
    event = setup["event"]
    sorting, loading, drivers = setup["shifts"]
    drivers.capacity = 2
    db.session.commit()
    factories.make_signup(event, "confirmed", shift=loading)
    html = client.get("/events/").get_data(as_text=True)
    card = html[html.index("Aid depot day") :]
    assert "4 places left" in card[:2000]


def test_the_action_page_shows_places_per_shift(client, setup):
    event = setup["event"]
    sorting, loading, _drivers = setup["shifts"]
    factories.make_signup(event, "confirmed", shift=loading)
    factories.make_signup(event, "waitlisted", shift=loading)
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    facts = html[html.index('class="shift-places"') :]
    facts = facts[: facts.index("</ul>")]
    assert "Sorting" in facts and "2 places left (2 places)" in facts
    assert "full · waitlist open · 1 on the waitlist" in facts
    assert "0 people going · no limit" in facts


# --- the demo -------------------------------------------------------------------------------


def test_the_demo_has_an_aid_drive_in_three_shifts_one_full_with_a_waitlist(app):
    demo.seed(now=factories.now())
    event = db.session.scalar(select(Event).where(Event.title == demo.SHIFT_DRIVE.title))
    shifts = list(
        db.session.scalars(select(Shift).where(Shift.event_id == event.id).order_by(Shift.position))
    )
    assert [s.name for s in shifts] == [
        "Sorting",
        "Loading the trucks",
        "Drivers (with your own car)",
    ]
    local = [
        (s.starts_at.astimezone(event.tz).strftime("%H:%M") if s.starts_at else None)
        for s in shifts
    ]
    assert local == ["08:00", "12:00", None]
    counts = {
        shift.name: Counter(
            s.status for s in db.session.scalars(select(Signup).where(Signup.shift_id == shift.id))
        )
        for shift in shifts
    }
    for shift in shifts:  # nobody waits while places are free
        c = counts[shift.name]
        if shift.capacity:
            assert c["confirmed"] <= shift.capacity
        if c["waitlisted"]:
            assert c["confirmed"] == shift.capacity
    loading = counts["Loading the trucks"]
    assert loading["confirmed"] == 6 and loading["waitlisted"] == 2
    emails = [
        s.email for s in db.session.scalars(select(Signup).where(Signup.event_id == event.id))
    ]
    assert any(n > 1 for n in Counter(emails).values())  # someone holds two shifts
    assert demo.seed(now=factories.now()).endswith("(created 0 new rows)")
