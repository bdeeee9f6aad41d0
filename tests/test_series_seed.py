"""`flask seed`: a weekly Friday vigil and a network meeting every three months, materialized."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from organizer import seed as demo
from organizer.extensions import db
from organizer.models import Event, EventSeries, Signup, StandingSignup
from organizer.services import series as service

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def occurrences(series: EventSeries) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event).where(Event.series_id == series.id).order_by(Event.starts_at)
        )
    )


def test_the_demo_has_a_weekly_vigil_and_a_quarterly_meeting(app):
    demo.seed(now=NOW)
    by_rule = {
        s.rule: s
        for s in db.session.scalars(select(EventSeries))
        if s.organization.slug != demo.NETWORK.slug  # the coalition's: test_networks_seed.py
    }
    assert "FREQ=WEEKLY;BYDAY=FR" in by_rule and len(by_rule) == 2

    vigil = by_rule["FREQ=WEEKLY;BYDAY=FR"]
    dates = occurrences(vigil)
    assert len(dates) == 6  # six weeks ahead, like the rest of the demo
    assert {(d.local_start.weekday(), d.local_start.hour) for d in dates} == {(4, 11)}
    assert {d.status for d in dates} == {"published"}
    assert {d.organization.slug for d in dates} == {"women-at-the-table"}
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(StandingSignup)
            .where(StandingSignup.series_id == vigil.id)
        )
        == 3
    )
    for date in dates[1:]:
        standing = db.session.scalar(
            select(func.count())
            .select_from(Signup)
            .where(Signup.event_id == date.id, Signup.standing_signup_id.is_not(None))
        )
        assert standing == 3

    (meeting,) = [s for s in by_rule.values() if s is not vigil]
    assert meeting.rule.startswith("FREQ=MONTHLY;INTERVAL=3;BYDAY=")
    rule = service.parse_rule(meeting.rule, meeting.timezone)
    (first,) = occurrences(meeting)  # the next one is three months away
    assert first.title == "Network meeting: all our bilingual communities"
    assert rule.byday[0][1] == first.local_start.weekday()


def test_seeding_again_adds_no_series_and_extend_goes_on(app, runner):
    demo.seed(now=NOW)
    events = db.session.scalar(select(func.count()).select_from(Event))
    assert demo.seed(now=NOW + timedelta(days=9)).endswith("(created 0 new rows)")
    assert db.session.scalar(select(func.count()).select_from(Event)) == events

    later = (NOW + timedelta(weeks=2)).isoformat()
    result = runner.invoke(args=["events", "extend", "--now", later])
    assert result.exit_code == 0, result.output
    assert "Extended 3 series" in result.output  # the vigil and two quarterly meetings
    assert db.session.scalar(select(func.count()).select_from(Event)) > events
