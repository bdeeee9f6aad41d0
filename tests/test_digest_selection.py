"""Choosing a subscriber's actions: order, skips, fallbacks, and a fixed number of queries."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

from organizer.extensions import db
from organizer.models import (
    Highlight,
    Subscription,
    SubscriptionCause,
    SubscriptionOrganization,
    SubscriptionRegion,
)
from organizer.services.digest_selection import (
    Candidates,
    SubscriberProfile,
    load_candidates,
    pick,
    signed_up_event_ids,
    week_of,
)

from .factories import make_event, make_org, make_signup, now
from .helpers import count_queries

DAY = timedelta(days=1)


def profile(orgs=(), causes=(), regions=(), max_actions=10) -> SubscriberProfile:
    return SubscriberProfile(
        organization_ids=frozenset(o.id for o in orgs),
        cause_slugs=frozenset(causes),
        region_slugs=frozenset(regions),
        max_actions=max_actions,
    )


def highlight(org, event, at=None) -> Highlight:
    row = Highlight(
        organization_id=org.id, event_id=event.id, week=week_of(at or now(), org.timezone)
    )
    db.session.add(row)
    db.session.commit()
    return row


def titles(events) -> list[str]:
    return [e.title for e in events]


def chosen(subscriber, signed_up=frozenset()) -> list[str]:
    return titles(pick(subscriber, load_candidates(now()), set(signed_up)))


def test_highlighted_then_causes_or_regions_then_followed_soonest_first(app):
    followed, other = make_org(), make_org()
    plain = {"causes": ("democracy",), "region": "jerusalem"}
    make_event(followed, title="followed 1d", starts_in=DAY, **plain)
    hl_5d = make_event(followed, title="highlighted 5d", starts_in=5 * DAY, **plain)
    make_event(
        other, title="cause 2d", starts_in=2 * DAY, causes=("education",), region="haifa_north"
    )
    make_event(other, title="region 3d", starts_in=3 * DAY, causes=("education",), region="negev")
    make_event(other, title="unrelated 1d", starts_in=DAY, **plain)
    hl_4d = make_event(followed, title="highlighted 4d", starts_in=4 * DAY, **plain)
    make_event(followed, title="followed cause 6d", starts_in=6 * DAY, causes=("education",))
    # Highlighted by an organization the subscriber does not follow: only its region counts.
    by_other = make_event(other, title="other's highlight 7d", starts_in=7 * DAY, region="negev")
    highlight(followed, hl_5d)
    highlight(followed, hl_4d)
    highlight(other, by_other)

    subscriber = profile(orgs=[followed], causes=["education"], regions=["negev"])
    assert chosen(subscriber) == [
        "highlighted 4d",
        "highlighted 5d",
        "cause 2d",
        "region 3d",  # matches both the cause and the region: listed once
        "followed cause 6d",
        "other's highlight 7d",
        "followed 1d",
    ]


def test_at_most_max_actions_and_groups_in_order(app):
    followed = make_org()
    first = make_event(followed, title="highlight", starts_in=6 * DAY)
    make_event(title="cause", starts_in=2 * DAY, causes=("women",))
    make_event(followed, title="followed", starts_in=DAY)
    highlight(followed, first)
    base = {"orgs": [followed], "causes": ["women"]}
    assert chosen(profile(**base, max_actions=1)) == ["highlight"]
    assert chosen(profile(**base, max_actions=2)) == ["highlight", "cause"]
    assert chosen(profile(**base, max_actions=3)) == ["highlight", "cause", "followed"]
    assert chosen(profile(**base, max_actions=10)) == ["highlight", "cause", "followed"]


def test_skips_what_nobody_should_be_sent(app):
    org = make_org()
    make_event(org, title="ok", starts_in=2 * DAY)
    make_event(org, title="cancelled", status="cancelled")
    make_event(org, title="draft", status="draft")
    make_event(org, title="unlisted", visibility="unlisted")
    make_event(org, title="past", starts_in=-2 * DAY)
    make_event(org, title="started", starts_in=-timedelta(hours=1), duration=timedelta(hours=3))
    make_event(org, title="beyond 14 days", starts_in=15 * DAY)
    make_event(org, title="day 13", starts_in=13 * DAY)
    full = make_event(org, title="full", capacity=1, waitlist_enabled=False)
    make_signup(full, "confirmed")
    waitlist = make_event(org, title="full with waitlist", starts_in=4 * DAY, capacity=1)
    make_signup(waitlist, "confirmed")
    roomy = make_event(
        org, title="capacity left", starts_in=5 * DAY, capacity=2, waitlist_enabled=False
    )
    make_signup(roomy, "confirmed")

    for subscriber in (profile(orgs=[org]), profile()):
        assert chosen(subscriber) == ["ok", "full with waitlist", "capacity left", "day 13"]


def test_skips_the_subscribers_own_signups(app):
    org = make_org()
    mine = make_event(org, title="mine", starts_in=DAY)
    declined = make_event(org, title="declined", starts_in=2 * DAY)
    dropped = make_event(org, title="cancelled my sign-up", starts_in=3 * DAY)
    make_event(org, title="other", starts_in=4 * DAY)
    make_signup(mine, "waitlisted", email="dana@example.org")
    make_signup(declined, "declined", email="dana@example.org")
    make_signup(dropped, "cancelled", email="dana@example.org")
    make_signup(dropped, "confirmed", email="someone@example.org")

    candidates = load_candidates(now())
    with count_queries() as queries:
        signed = signed_up_event_ids(["Dana@Example.org", "nobody@example.org"])
    assert len(queries) == 1
    assert signed == {"Dana@Example.org": {mine.id, declined.id}, "nobody@example.org": set()}
    with_events = signed_up_event_ids(["dana@example.org"], event_ids=candidates.event_ids)
    assert with_events == {"dana@example.org": {mine.id, declined.id}}
    assert signed_up_event_ids([]) == {}

    got = pick(profile(orgs=[org]), candidates, signed["Dana@Example.org"])
    assert titles(got) == ["cancelled my sign-up", "other"]


def test_follows_nothing_gets_the_soonest_actions(app):
    make_event(title="later", starts_in=3 * DAY)
    make_event(title="soonest", starts_in=DAY)
    make_event(title="middle", starts_in=2 * DAY)
    assert chosen(profile(max_actions=2)) == ["soonest", "middle"]


def test_no_match_means_an_empty_digest(app):
    make_event(title="elsewhere", region="jerusalem", causes=("peace",))
    assert chosen(profile(causes=["education"], regions=["negev"])) == []
    assert chosen(profile(orgs=[make_org()])) == []


def test_cohosts_count_as_hosts_once_they_accept(app):
    host, cohost, asked = make_org(), make_org(), make_org()
    shared = make_event(host, title="shared", starts_in=2 * DAY, cohosts=(cohost,))
    make_event(host, title="only asked", starts_in=DAY, pending_cohosts=(asked,))
    make_event(cohost, title="own", starts_in=3 * DAY)
    assert chosen(profile(orgs=[cohost])) == ["shared", "own"]
    assert chosen(profile(orgs=[asked])) == []

    highlight(cohost, shared)  # a co-host's highlight puts it first for its followers
    candidates = load_candidates(now())
    assert candidates.highlighted_by[shared.id] == {cohost.id}
    assert candidates.host_ids[shared.id] == {host.id, cohost.id}
    # An organization that does not host the action cannot push it, whatever the table says.
    db.session.add(
        Highlight(organization_id=asked.id, event_id=shared.id, week=week_of(now(), asked.timezone))
    )
    db.session.commit()
    assert load_candidates(now()).highlighted_by[shared.id] == {cohost.id}


def test_only_this_weeks_highlights_count(app):
    org = make_org()
    make_event(org, title="soon", starts_in=DAY)
    later = make_event(org, title="later", starts_in=2 * DAY)
    highlight(org, later, at=now() - 7 * DAY)  # last week's
    assert chosen(profile(orgs=[org])) == ["soon", "later"]
    highlight(org, later)
    assert chosen(profile(orgs=[org])) == ["later", "soon"]


def test_highlight_week_is_the_organizations_own(app):
    """Monday 01:30 in Jerusalem is still Sunday in UTC: Jerusalem's new week has begun."""
    from datetime import UTC, datetime

    jerusalem = make_org(timezone="Asia/Jerusalem")
    monday_early = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Mon 30 Nov 01:30 in Jerusalem
    event = make_event(jerusalem, title="x", starts_at=monday_early + DAY)
    db.session.add(Highlight(organization_id=jerusalem.id, event_id=event.id, week="2026-W49"))
    db.session.commit()
    assert week_of(monday_early, "UTC") == "2026-W48"
    assert load_candidates(monday_early).highlighted_by == {event.id: {jerusalem.id}}


def test_organization_filter(app):
    a, b, c = make_org(), make_org(), make_org()
    make_event(a, title="a")
    make_event(b, title="b cohosted by c", cohosts=(c,))
    make_event(c, title="c", starts_in=4 * DAY)
    assert titles(load_candidates(now(), organization_ids=[c.id]).events) == [
        "b cohosted by c",
        "c",
    ]
    assert titles(load_candidates(now(), organization_ids=[]).events) == []


def test_a_stored_subscription_works_too(app):
    org = make_org()
    make_event(org, title="followed", starts_in=3 * DAY)
    make_event(title="by region", starts_in=2 * DAY, region="galilee")
    make_event(title="by cause", starts_in=DAY, causes=("education",))
    sub = Subscription(
        email="s@example.org",
        timezone="Europe/London",
        status="active",
        max_actions=3,
        organizations=[SubscriptionOrganization(organization_id=org.id)],
        causes=[SubscriptionCause(cause="education")],
        regions=[SubscriptionRegion(region="galilee")],
    )
    db.session.add(sub)
    db.session.commit()
    assert chosen(sub) == ["by cause", "by region", "followed"]


def _seed(n: int) -> None:
    orgs = [make_org() for _ in range(3)]
    for i in range(n):
        event = make_event(
            orgs[i % 3],
            starts_in=DAY + i * timedelta(hours=1),
            cohosts=(orgs[(i + 1) % 3],),
            causes=("peace", "women"),
            capacity=5,
        )
        make_signup(event, "confirmed")
        if i < 3:
            highlight(orgs[i % 3], event)


def test_load_candidates_uses_the_same_queries_for_5_or_50_actions(app):
    _seed(5)
    with count_queries() as small:
        loaded = load_candidates(now())
        _ = [(e.host_organizations, e.cause_slugs, e.organization.name) for e in loaded.events]
    assert len(loaded) == 5
    _seed(45)
    db.session.expire_all()
    with count_queries() as large:
        loaded = load_candidates(now())
        facts = [([o.name for o in e.host_organizations], e.cause_slugs) for e in loaded.events]
        pick(profile(causes=["women"]), loaded, set())
    assert len(loaded) == 50 and len(facts) == 50
    assert len(small) == len(large) <= 7  # six, and the networks' members (networks.py)
    assert loaded.places_left(loaded.events[0]) == 4


def test_pick_is_fast_enough_for_a_hundred_thousand_subscribers(app):
    """500 actions, 20,000 varied subscribers, no database: a few microseconds each."""
    orgs = list(range(1, 41))
    causes = ["peace", "women", "education", "democracy", "equality"]
    regions = ["jerusalem", "negev", "galilee", "center", "tel_aviv"]
    events = [SimpleNamespace(id=i) for i in range(500)]
    candidates = Candidates(
        now=now(),
        events=events,  # type: ignore[arg-type]
        host_ids={i: frozenset({orgs[i % 40], orgs[(i * 7) % 40]}) for i in range(500)},
        causes={i: frozenset({causes[i % 5], causes[(i // 5) % 5]}) for i in range(500)},
        regions={i: regions[(i // 3) % 5] for i in range(500)},
        highlighted_by={i: frozenset({orgs[i % 40]}) for i in range(0, 500, 37)},
    )
    subscribers = [
        profile(
            orgs=[SimpleNamespace(id=orgs[(n * k) % 40]) for k in range(n % 4)],
            causes=causes[: n % 3],
            regions=regions[n % 5 : n % 5 + (n % 2)],
            max_actions=1 + n % 5,
        )
        for n in range(20_000)
    ]
    started = time.perf_counter()
    picked = [pick(s, candidates, {1, 2, 3}) for s in subscribers]
    elapsed = time.perf_counter() - started
    assert all(len(p) <= s.max_actions for p, s in zip(picked, subscribers, strict=True))
    assert all(len({e.id for e in p}) == len(p) for p in picked)
    assert elapsed < 2.0, f"{elapsed:.2f} s for 20,000 picks"
