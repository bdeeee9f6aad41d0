"""Organizers' highlights (three a week at most) and the digest preview, service and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Highlight, Membership
from organizer.services import highlights as hl
from organizer.services.errors import InvalidInput, NotAllowed

from .factories import make_event, make_org, make_signup, make_user, now

DAY = timedelta(days=1)


def highlight_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Highlight))


@pytest.fixture()
def team(app):
    owner = make_user()
    org = make_org(owner=owner)
    return owner, org


# --- the service ------------------------------------------------------------------------------


def test_three_a_week_and_the_fourth_is_refused(team):
    owner, org = team
    events = [make_event(org, starts_in=(i + 1) * DAY) for i in range(5)]
    t = now()
    for event in events[:3]:
        hl.highlight(org, event, owner, t)
    with pytest.raises(hl.HighlightLimitReached):
        hl.highlight(org, events[3], owner, t)
    assert highlight_count() == 3
    this_week, next_week = hl.weeks(org, t)
    hl.highlight(org, events[3], owner, t, week=next_week)  # next week has its own three
    assert hl.highlight(org, events[0], owner, t).event_id == events[0].id  # again: harmless
    assert highlight_count() == 4
    assert hl.unhighlight(org, events[0], owner, t) is True
    assert hl.unhighlight(org, events[0], owner, t) is False
    hl.highlight(org, events[4], owner, t)  # a place came free
    rows = db.session.scalars(select(Highlight).where(Highlight.week == this_week))
    assert sorted(r.event_id for r in rows) == sorted(e.id for e in events[1:3] + [events[4]])


def test_each_organization_has_its_own_three(team):
    owner, org = team
    partner = make_org(owner=owner)
    shared = [make_event(org, starts_in=(i + 1) * DAY, cohosts=(partner,)) for i in range(4)]
    for event in shared[:3]:
        hl.highlight(org, event, owner, now())
    hl.highlight(partner, shared[3], owner, now())  # a co-host that accepted may highlight too
    assert highlight_count() == 4


def test_only_actions_the_organization_hosts(team):
    owner, org = team
    asked, stranger = make_org(owner=owner), make_org()
    theirs = make_event(stranger)
    only_asked = make_event(stranger, pending_cohosts=(asked,))
    draft_elsewhere = make_event(stranger, status="draft")
    for target, event in ((org, theirs), (asked, only_asked), (org, draft_elsewhere)):
        with pytest.raises(hl.NotHostedByOrganization):
            hl.highlight(target, event, owner, now())
    assert highlight_count() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": "draft"},
        {"status": "cancelled"},
        {"visibility": "unlisted"},
        {"starts_in": -DAY},
        {"starts_in": -timedelta(hours=1), "duration": timedelta(hours=3)},
    ],
)
def test_only_published_public_upcoming_actions(team, kwargs):
    owner, org = team
    with pytest.raises(hl.NotEligible):
        hl.highlight(org, make_event(org, **kwargs), owner, now())
    assert highlight_count() == 0


def test_only_this_week_or_next_and_only_by_organizers(team):
    owner, org = team
    event = make_event(org)
    with pytest.raises(InvalidInput):
        hl.highlight(org, event, owner, now(), week="2020-W01")
    with pytest.raises(NotAllowed):
        hl.highlight(org, event, make_user(), now())
    admin = make_user(is_admin=True)
    hl.highlight(org, event, admin, now())
    with pytest.raises(NotAllowed):
        hl.unhighlight(org, event, make_user(), now())
    assert highlight_count() == 1


def test_weeks_follow_the_organizations_clock(app):
    sunday_night_utc = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert hl.weeks(make_org(timezone="Asia/Jerusalem"), sunday_night_utc) == (
        "2026-W49",
        "2026-W50",
    )
    assert hl.weeks(make_org(timezone="America/New_York"), sunday_night_utc) == (
        "2026-W48",
        "2026-W49",
    )


# --- the pages ----------------------------------------------------------------------------------


def test_who_may_see_the_pages(client, auth, team):
    owner, org = team
    colleague = make_user()
    db.session.add(Membership(organization_id=org.id, user_id=colleague.id, role="organizer"))
    db.session.commit()
    pages = [f"/digest/orgs/{org.slug}/highlights", f"/digest/orgs/{org.slug}/preview"]

    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    for user, status in ((make_user(), 403), (owner, 200), (colleague, 200)):
        auth.login(user)
        assert [client.get(url).status_code for url in pages] == [status, status]
        auth.logout()
    auth.login(make_user(is_admin=True))
    assert [client.get(url).status_code for url in pages] == [200, 200]
    assert client.get("/digest/orgs/no-such-org/highlights").status_code == 404


def test_strangers_cannot_post(client, auth, post_form, team):
    owner, org = team
    event = make_event(org)
    week = hl.weeks(org, now())[0]
    url = f"/digest/orgs/{org.slug}/highlights/add"
    response = post_form(url, {"event_id": event.id, "week": week}, page="/auth/login")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    auth.login(make_user())
    response = post_form(url, {"event_id": event.id, "week": week}, page="/")
    assert response.status_code == 403
    assert highlight_count() == 0
    assert client.post(url, data={"event_id": event.id, "week": week}).status_code == 400  # CSRF


def test_highlighting_from_the_page(client, auth, post_form, team):
    owner, org = team
    events = [make_event(org, title=f"Vigil {i}", starts_in=(i + 1) * DAY) for i in range(4)]
    other = make_event(make_org(), title="Someone else's march")
    auth.login(owner)
    page = f"/digest/orgs/{org.slug}/highlights"
    html = client.get(page).get_data(as_text=True)
    assert "Vigil 3" in html and "Someone else" not in html
    this_week = hl.weeks(org, now())[0]
    add, remove = page + "/add", page + "/remove"

    for event in events[:3]:
        response = post_form(add, {"event_id": event.id, "week": this_week}, page=page)
        assert response.status_code == 302
    response = post_form(add, {"event_id": events[3].id, "week": this_week}, page=page)
    assert response.status_code == 409
    assert "already highlights 3 actions" in response.get_data(as_text=True)
    assert highlight_count() == 3

    response = post_form(add, {"event_id": other.id, "week": this_week}, page=page)
    assert response.status_code == 400
    assert "hosts or co-hosts" in response.get_data(as_text=True)
    response = post_form(add, {"event_id": events[0].id, "week": "1999-W01"}, page=page)
    assert response.status_code == 400
    assert post_form(add, {"event_id": "abc", "week": this_week}, page=page).status_code == 400
    assert post_form(add, {"event_id": 99999, "week": this_week}, page=page).status_code == 404
    assert highlight_count() == 3

    response = post_form(remove, {"event_id": events[0].id, "week": this_week}, page=page)
    assert response.status_code == 302
    assert highlight_count() == 2
    html = client.get(page).get_data(as_text=True)
    assert "2 of 3 chosen" in html


def test_preview_shows_what_a_kind_of_subscriber_gets(client, auth, team):
    owner, org = team
    followed_later = make_event(org, title="Our vigil", starts_in=5 * DAY)
    make_event(org, title="Our meeting", starts_in=DAY)
    make_event(
        title="Negev aid drive",
        starts_in=2 * DAY,
        region="negev",
        location_visibility="confirmed",
        address="7 Secret Street",
    )
    full = make_event(title="Full in the Negev", region="negev", capacity=1, waitlist_enabled=False)
    make_signup(full)
    hl.highlight(org, followed_later, owner, now())
    auth.login(owner)
    url = f"/digest/orgs/{org.slug}/preview"

    html = client.get(url).get_data(as_text=True)  # default: follows this organization
    assert html.index("Our vigil") < html.index("Our meeting")
    assert "Negev aid drive" not in html

    query = {"follows": "y", "regions": "negev", "locale": "en", "timezone": "Europe/London"}
    html = client.get(url, query_string={**query, "max_actions": 2}).get_data(as_text=True)
    assert html.index("Our vigil") < html.index("Negev aid drive")
    assert "Our meeting" not in html and "Full in the Negev" not in html
    assert "7 Secret Street" not in html
    assert "London time" in html

    html = client.get(
        url,
        query_string={
            "regions": "negev",
            "locale": "he",
            "timezone": "Asia/Jerusalem",
            "max_actions": 3,
        },
    ).get_data(as_text=True)
    assert 'lang="he" dir="rtl"' in html
    assert "Negev aid drive" in html and "Our vigil" not in html

    response = client.get(url, query_string={**query, "max_actions": 99})
    assert response.status_code == 400
    response = client.get(url, query_string={**query, "max_actions": 3, "timezone": "Mars/Base"})
    assert response.status_code == 400

    html = client.get(
        url,
        query_string={"causes": "education", "locale": "en", "timezone": "UTC", "max_actions": 3},
    ).get_data(as_text=True)
    assert "would get no email this week" in html


def test_preview_refuses_bad_choices_without_errors(client, auth, team):
    owner, org = team
    auth.login(owner)
    url = f"/digest/orgs/{org.slug}/preview"
    assert client.get(url + "?lang=he").status_code == 200  # the language switcher's link
    for query in (
        "?max_actions=abc",
        "?max_actions=99999999999999999999",
        "?max_actions=0&locale=en&timezone=UTC",
        "?max_actions=3&regions=%FF&locale=en&timezone=UTC",
        "?max_actions=3&causes=nope&locale=en&timezone=UTC",
        "?max_actions=3&locale=xx&timezone=UTC",
    ):
        assert client.get(url + query).status_code == 400, query
