"""`flask seed`: the demo a newcomer sees after `make run`, loaded once however often it runs."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from organizer import seed as demo
from organizer.choices import CAUSES, EVENT_KINDS, LANGUAGE_NAMES, REGIONS
from organizer.extensions import db
from organizer.models import Event, EventHost, Membership, Organization, Signup, User
from organizer.models import signup as st

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
HEBREW = re.compile("[\u0590-\u05ff]")
ARABIC = re.compile("[\u0600-\u06ff]")


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def signup_counts() -> dict[int, Counter]:
    counts: dict[int, Counter] = {}
    for event_id, status, n in db.session.execute(
        select(Signup.event_id, Signup.status, func.count()).group_by(
            Signup.event_id, Signup.status
        )
    ):
        counts.setdefault(event_id, Counter())[status] = n
    return counts


@pytest.fixture()
def seeded(app):
    demo.seed(now=NOW)
    return db.session.scalars(select(Event)).all()


def test_flask_seed_twice_adds_nothing(app, runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    after_first = row_counts()
    assert (
        f"Seeded {after_first['organizations']} organizations, {after_first['users']} users, "
        f"{after_first['events']} actions, {after_first['signups']} sign-ups"
    ) in first.output
    assert all(after_first[t] > 0 for t in ("organizations", "users", "events", "signups"))

    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0, second.output
    assert "(created 0 new rows)" in second.output
    assert row_counts() == after_first


def test_running_on_a_later_day_adds_nothing(app):
    demo.seed(now=NOW)
    before = row_counts()
    assert demo.seed(now=NOW + timedelta(days=9)).endswith("(created 0 new rows)")
    assert row_counts() == before


def test_fills_in_only_what_is_missing(app):
    demo.seed(now=NOW)
    before = row_counts()
    event = db.session.scalar(select(Event).where(Event.title == demo.ACTIONS[0].title))
    db.session.delete(event)
    db.session.commit()

    summary = demo.seed(now=NOW)

    assert "(created 0 new rows)" not in summary
    assert row_counts() == before


def test_organizations_and_demo_logins(seeded):
    orgs = db.session.scalars(select(Organization)).all()
    assert len(orgs) >= 4
    for org in orgs:
        members = db.session.scalars(
            select(Membership).where(Membership.organization_id == org.id)
        ).all()
        assert 1 <= len(members) <= 2
        assert any(m.role == "owner" for m in members)

    users = {u.email: u for u in db.session.scalars(select(User))}
    for email, password, _ in demo.DEMO_LOGINS:
        assert password == "organize-demo-2026"
        assert email in users and users[email].email_confirmed
        assert email in demo.__doc__  # the README quotes this table
    assert users["admin@demo.organizer"].is_admin
    assert sum(u.is_admin for u in users.values()) == 1
    assert {u.locale for u in users.values()} == {"en", "he", "ar"}
    assert check_password_hash(users["noa@demo.organizer"].password_hash, "organize-demo-2026")
    assert len({u.password_hash for u in users.values()}) == 1  # hashed once


def test_thirty_upcoming_public_actions_of_every_kind_and_region(seeded):
    listed = [e for e in seeded if e.is_public and e.starts_at > NOW]
    assert len(listed) >= 30
    assert {e.kind for e in listed} == set(EVENT_KINDS)
    assert {e.region for e in listed} == set(REGIONS)
    assert {c for e in listed for c in e.cause_slugs} <= set(CAUSES)
    assert all(e.published_at and e.published_at <= NOW for e in listed)
    assert max(e.starts_at for e in seeded) < NOW + timedelta(days=45)
    for event in seeded:
        assert event.ends_at > event.starts_at
        assert 6 <= event.local_start.hour <= 21, event.title
        assert event.language in LANGUAGE_NAMES
        assert "<ul>" in event.description_html or "<ol>" in event.description_html
        assert "<strong>" in event.description_html


@pytest.mark.parametrize("days_later", range(7))
def test_actions_fall_on_sensible_days_whatever_the_weekday(app, days_later):
    """Only the weekly Friday and Saturday-night actions keep the weekend; none on Shabbat."""
    now = NOW + timedelta(days=days_later)
    demo.seed(now=now)
    past = demo.past_action_titles()  # the dashboard's history: see test_past_actions_*
    for event in db.session.scalars(select(Event).where(Event.title.not_in(past))):
        start = event.local_start
        assert start > now
        if start.weekday() == 4:
            assert start.hour < 14, event.title
        if start.weekday() == 5:
            assert start.hour >= 20, event.title


def test_titles_in_hebrew_arabic_and_english(seeded):
    by_language = Counter(e.language for e in seeded)
    assert min(by_language[lang] for lang in ("he", "ar", "en")) >= 5
    for event in seeded:
        text = event.title + event.description_md
        if event.language == "he":
            assert HEBREW.search(event.title) and not ARABIC.search(text)
        elif event.language == "ar":
            assert ARABIC.search(event.title) and not HEBREW.search(text)
        else:
            assert not HEBREW.search(text) and not ARABIC.search(text)


def test_online_hidden_and_unlisted_variety(seeded):
    online = [e for e in seeded if e.is_online]
    assert len(online) >= 3
    assert all(e.online_url.startswith("https://meet.example.org/") for e in online)
    assert all(e.address or e.is_online for e in seeded)

    hidden = [e for e in seeded if e.is_public and e.location_hidden]
    assert len(hidden) >= 3
    assert any(e.reveal_hours_before == 24 for e in hidden)
    assert any(e.reveal_hours_before is None for e in hidden)
    assert any(e.is_online for e in hidden)

    assert sum(e.visibility == "unlisted" for e in seeded) == 1
    assert sum(e.status == "draft" for e in seeded) == 1
    assert all(e.status == "published" for e in seeded if e.status != "draft")


def test_signups_fill_some_actions_and_wait_for_approval_on_others(seeded):
    counts = signup_counts()
    full = [
        e
        for e in seeded
        if e.is_public
        and e.capacity
        and counts[e.id][st.CONFIRMED] == e.capacity
        and counts[e.id][st.WAITLISTED] > 0
    ]
    assert len(full) >= 3
    with_room = [
        e
        for e in seeded
        if e.capacity and 0 < counts.get(e.id, Counter())[st.CONFIRMED] < e.capacity
    ]
    assert len(with_room) >= 5

    awaiting = [e for e in seeded if e.approval_required and counts[e.id][st.PENDING] >= 2]
    assert len(awaiting) >= 2
    for event in seeded:
        c = counts.get(event.id, Counter())
        if event.capacity:
            assert c[st.CONFIRMED] <= event.capacity
        if c[st.WAITLISTED] and not event.shifts:  # shifts: see tests/test_shifts_views.py
            assert c[st.CONFIRMED] == event.capacity  # nobody waits while places are free
        if c[st.PENDING]:
            assert event.approval_required
        if event.status == "draft":
            assert not c


def test_guest_volunteers_and_the_demo_volunteer(seeded):
    signups = db.session.scalars(select(Signup)).all()
    guests = [s for s in signups if s.user_id is None]
    assert all(s.email.endswith("@example.org") for s in guests)
    assert {s.locale for s in guests} == {"en", "he", "ar"}
    mine = [s for s in signups if s.user_id is not None]
    assert {s.email for s in mine} == {"volunteer@demo.organizer"}
    assert {s.status for s in mine} == {st.CONFIRMED, st.WAITLISTED}
    confirmed = [s for s in signups if s.status == st.CONFIRMED]
    assert all(s.confirmed_at for s in confirmed)
    assert all(s.created_at <= NOW for s in signups)


def test_actions_cohosted_by_two_organizations(seeded):
    cohosted = [e for e in seeded if e.cohosts]
    assert len(cohosted) >= 2
    for event in cohosted:
        assert len(event.host_ids) == 2


def test_one_cohost_request_waits_for_an_answer(seeded):
    rows = db.session.scalars(select(EventHost)).all()
    pending = [h for h in rows if h.status == "pending"]
    assert len(pending) == 1
    assert pending[0].organization.slug == "two-languages-parents"
    assert pending[0].organization_id not in pending[0].event.host_ids
    assert all(h.requested_by_id and h.requested_at for h in rows)
    assert all(h.responded_at for h in rows if h.status == "accepted")


def test_past_actions_with_attendance_for_the_dashboard(seeded):
    from organizer.models import Subscription
    from organizer.services import dashboard

    past = [e for e in seeded if e.title in demo.past_action_titles()]
    assert len(past) == demo.HISTORY_WEEKS * len({p.org for p in demo.PAST_ACTIONS})
    assert all(e.ends_at < NOW and e.status == "published" for e in past)
    marks = Counter(
        db.session.scalars(
            select(Signup.attendance).where(Signup.event_id.in_([e.id for e in past]))
        )
    )
    assert marks[st.ATTENDED] > marks[st.NO_SHOW] > 0 and marks[None] == 0
    org = db.session.scalar(select(Organization).where(Organization.slug == "common-road"))
    board = dashboard.organization_dashboard(org, NOW)
    assert sum(w.new for w in board.weeks) > 5
    assert sum(w.returning for w in board.weeks) > 5
    assert {k.kind for k in board.attendance} == {"demonstration", "training"}
    counts = [w.count for w in board.subscribers]
    assert counts[0] < counts[-1]  # followers grew over the weeks
    assert db.session.scalar(select(func.count()).select_from(Subscription)) > 0
