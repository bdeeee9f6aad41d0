"""The dashboard's figures: weeks, new and returning volunteers, attendance, attention, and
digest subscribers over time (organizer/services/dashboard.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from organizer.extensions import db
from organizer.services import dashboard

from .factories import make_event, make_org, make_signup, make_subscription, make_user

# A Wednesday noon in Jerusalem: the week shown last began on Monday 30 November 2026.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
THIS_MONDAY = date(2026, 11, 30)


def weeks_ago(weeks: int, days: int = 1) -> datetime:
    """An instant in the week `weeks` before this one (Tuesday by default)."""
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    return monday - timedelta(weeks=weeks) + timedelta(days=days)


def test_weeks_are_local_mondays_across_daylight_saving_time(app):
    bounds = dashboard.week_bounds(NOW, "Asia/Jerusalem")
    assert len(bounds) == dashboard.WEEKS + 1
    assert bounds[-2].date() == THIS_MONDAY
    assert bounds[0].date() == THIS_MONDAY - timedelta(weeks=11)
    zone = ZoneInfo("Asia/Jerusalem")
    for bound in bounds:
        local = bound.astimezone(zone)
        assert (local.weekday(), local.hour, local.minute) == (0, 0, 0)
    # Israel left summer time on 25 October 2026: the weeks around it are 7 local days long,
    # so one of them is an hour longer in UTC.
    utc = [b.astimezone(UTC) for b in bounds]
    lengths = {b2 - b1 for b1, b2 in zip(utc, utc[1:], strict=False)}
    assert lengths == {timedelta(days=7), timedelta(days=7, hours=1)}


def test_week_of_a_sunday_night_in_jerusalem_is_that_week_not_the_next(app):
    # Sunday 29 November, 23:30 in Jerusalem is 21:30 UTC: still the week before this one.
    sunday_night = datetime(2026, 11, 29, 21, 30, tzinfo=UTC)
    org = make_org()
    event = make_event(org, starts_at=NOW + timedelta(days=3))
    make_signup(event, created_at=sunday_night)
    weeks = dashboard.signups_per_week([org.id], dashboard.week_bounds(NOW, org.timezone))
    assert [w.signups for w in weeks[-2:]] == [1, 0]


def test_new_and_returning_volunteers_per_week(app):
    org = make_org()
    other = make_org()
    old = make_event(org, starts_at=weeks_ago(30))
    recent = make_event(org, starts_at=weeks_ago(2, days=4))
    coming = make_event(org, starts_at=NOW + timedelta(days=2))
    elsewhere = make_event(other, starts_at=weeks_ago(20))
    member = make_user()

    # A veteran from long ago comes back this week: returning.
    make_signup(old, email="veteran@example.org", created_at=weeks_ago(31))
    make_signup(coming, email="veteran@example.org", created_at=weeks_ago(0))
    # New two weeks ago (twice in that week: one volunteer), back this week.
    make_signup(recent, email="nadia@example.org", created_at=weeks_ago(2))
    make_signup(recent, email="other-nadia@example.org", created_at=weeks_ago(2, days=2))
    make_signup(coming, email="nadia@example.org", created_at=weeks_ago(0, days=0))
    # An account is one volunteer whatever address it signed up with.
    make_signup(recent, email="a@example.org", user_id=member.id, created_at=weeks_ago(2))
    make_signup(coming, email="b@example.org", user_id=member.id, created_at=weeks_ago(0))
    # A sign-up with another organization first does not make them returning here.
    make_signup(elsewhere, email="newcomer@example.org", created_at=weeks_ago(21))
    make_signup(coming, email="newcomer@example.org", created_at=weeks_ago(0))

    weeks = dashboard.signups_per_week([org.id], dashboard.week_bounds(NOW, org.timezone))
    assert [w.starts_on for w in weeks][-1] == THIS_MONDAY
    by_start = {w.starts_on: w for w in weeks}
    two_weeks_ago = by_start[THIS_MONDAY - timedelta(weeks=2)]
    assert (two_weeks_ago.new, two_weeks_ago.returning, two_weeks_ago.signups) == (3, 0, 3)
    this_week = by_start[THIS_MONDAY]
    assert (this_week.new, this_week.returning, this_week.signups) == (1, 3, 4)
    assert this_week.volunteers == 4
    assert sum(w.signups for w in weeks) == 7  # the old sign-ups fall before the weeks shown


def test_guest_addresses_are_compared_lower_cased(app):
    org = make_org()
    event = make_event(org, starts_at=NOW + timedelta(days=2))
    make_signup(event, email="Rana@Example.org", created_at=weeks_ago(3))
    make_signup(make_event(org), email="rana@example.org", created_at=weeks_ago(0))
    weeks = dashboard.signups_per_week([org.id], dashboard.week_bounds(NOW, org.timezone))
    assert (weeks[-1].new, weeks[-1].returning) == (0, 1)


def test_cohosted_actions_count_for_both_hosts(app):
    host, cohost = make_org(), make_org()
    event = make_event(host, cohosts=(cohost,), starts_at=NOW + timedelta(days=2))
    make_signup(event, created_at=weeks_ago(0))
    bounds = dashboard.week_bounds(NOW, host.timezone)
    assert dashboard.signups_per_week([cohost.id], bounds)[-1].new == 1
    pending = make_org()
    asked = make_event(host, pending_cohosts=(pending,), starts_at=NOW + timedelta(days=2))
    make_signup(asked, created_at=weeks_ago(0))
    assert dashboard.signups_per_week([pending.id], bounds)[-1].signups == 0


def _past(org, kind: str, weeks: int, confirmed: int, attended: int, no_show: int = 0):
    event = make_event(org, kind=kind, starts_at=weeks_ago(weeks))
    for i in range(confirmed):
        mark = "attended" if i < attended else "no_show" if i < attended + no_show else None
        make_signup(event, attendance=mark, created_at=weeks_ago(weeks + 1))
    return event


def test_attendance_rate_per_kind_counts_only_actions_where_it_was_taken(app):
    org = make_org()
    _past(org, "rally", 1, confirmed=4, attended=3, no_show=1)
    _past(org, "rally", 3, confirmed=6, attended=3)  # the other three never checked in
    _past(org, "rally", 2, confirmed=5, attended=0)  # attendance not taken: left out
    _past(org, "training", 4, confirmed=2, attended=1)
    _past(org, "training", 30, confirmed=10, attended=10)  # before the weeks shown
    cancelled = _past(org, "meeting", 1, confirmed=3, attended=3)
    cancelled.status = "cancelled"
    db.session.commit()
    waitlisted_event = _past(org, "dialogue", 1, confirmed=1, attended=1)
    make_signup(waitlisted_event, status="waitlisted")  # only confirmed sign-ups count

    rows = dashboard.attendance_by_kind([org.id], dashboard.week_bounds(NOW, org.timezone), NOW)
    by_kind = {r.kind: r for r in rows}
    assert set(by_kind) == {"rally", "training", "dialogue"}
    rally = by_kind["rally"]
    assert (rally.actions, rally.confirmed, rally.attended) == (2, 10, 6)
    assert rally.rate == 0.6
    assert by_kind["training"].rate == 0.5
    assert by_kind["dialogue"].rate == 1.0
    assert dashboard.KindAttendance("x", 0, 0, 0).rate is None


def test_actions_that_need_attention(app):
    org = make_org()
    soon = NOW + timedelta(days=2)
    pending = make_event(
        org, title="Pending", approval_required=True, starts_at=NOW + timedelta(days=9)
    )
    make_signup(pending, status="pending")
    full = make_event(org, title="Full", capacity=2, starts_at=NOW + timedelta(days=10))
    for status in ("confirmed", "confirmed", "waitlisted"):
        make_signup(full, status=status)
    few = make_event(org, title="Few", capacity=20, starts_at=soon)
    for _ in range(4):  # 4 of 20 places: under a quarter
        make_signup(few)
    enough = make_event(org, title="Enough", capacity=20, starts_at=soon)
    for _ in range(5):  # a quarter exactly: fine
        make_signup(enough)
    uncapped = make_event(org, title="Uncapped few", starts_at=soon + timedelta(hours=1))
    make_signup(uncapped)
    later = make_event(org, title="Few but later", capacity=20, starts_at=NOW + timedelta(days=5))
    make_signup(later)
    cancelled = make_event(org, title="Cancelled", capacity=20, starts_at=soon, status="cancelled")
    make_signup(cancelled, status="pending")
    past = make_event(org, title="Past", starts_at=NOW - timedelta(days=1))
    make_signup(past, status="pending")
    make_event(make_org(), title="Someone else's", capacity=20, starts_at=soon)

    items, more = dashboard.needs_attention(org, NOW)
    assert not more
    assert [i.event.title for i in items] == ["Few", "Uncapped few", "Pending", "Full"]
    by_title = {i.event.title: i for i in items}
    assert (by_title["Few"].few, by_title["Few"].confirmed) == (True, 4)
    assert by_title["Uncapped few"].few
    assert (by_title["Pending"].pending, by_title["Pending"].few) == (1, False)
    assert by_title["Full"].full_with_waitlist and by_title["Full"].waitlisted == 1
    assert not by_title["Pending"].full_with_waitlist


def test_attention_list_is_bounded(app):
    org = make_org()
    for i in range(dashboard.ATTENTION_LIMIT + 2):
        make_event(org, starts_at=NOW + timedelta(days=1, hours=i))  # nobody signed up yet
    items, more = dashboard.needs_attention(org, NOW)
    assert len(items) == dashboard.ATTENTION_LIMIT
    assert more


def test_subscribers_over_time_from_confirmation_and_unsubscription(app):
    org, other = make_org(), make_org()
    make_subscription(organizations=(org,), confirmed_at=weeks_ago(20))
    make_subscription(organizations=(org, other), confirmed_at=weeks_ago(5))
    make_subscription(
        organizations=(org,),
        status="unsubscribed",
        confirmed_at=weeks_ago(8),
        unsubscribed_at=weeks_ago(2),
    )
    make_subscription(organizations=(org,), status="pending")  # never confirmed
    make_subscription(organizations=(org,), status="suspended", confirmed_at=weeks_ago(9))
    make_subscription(organizations=(other,), confirmed_at=weeks_ago(9))
    make_subscription(confirmed_at=weeks_ago(9))  # follows no organization in particular
    make_subscription(organizations=(org,), confirmed_at=NOW + timedelta(hours=1))  # not yet

    counts = [
        w.count
        for w in dashboard.subscribers_per_week(
            [org.id], dashboard.week_bounds(NOW, org.timezone), NOW
        )
    ]
    #           11 10  9  8  7  6  5  4  3  2  1  0 weeks ago
    assert counts == [1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 2, 2]


def test_network_figures_add_up_members_without_counting_anyone_twice(app):
    first, second = make_org(), make_org()
    shared = make_event(first, cohosts=(second,), starts_at=NOW + timedelta(days=2))
    make_signup(shared, email="both@example.org", created_at=weeks_ago(0))
    make_signup(make_event(second), email="both@example.org", created_at=weeks_ago(0))
    make_subscription(organizations=(first, second), confirmed_at=weeks_ago(3))
    board = dashboard.network_dashboard([first.id, second.id, first.id], "Asia/Jerusalem", NOW)
    assert board.organizations == 2
    assert (board.weeks[-1].new, board.weeks[-1].signups) == (1, 2)
    assert board.subscribers[-1].count == 1
    empty = dashboard.network_dashboard([], "Asia/Jerusalem", NOW)
    assert empty.organizations == 0 and len(empty.weeks) == dashboard.WEEKS
