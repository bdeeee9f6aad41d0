"""Finding actions: the listing's filters and pages, the action page, calendar files."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from . import factories
from .helpers import count_queries

CARD_LINK = re.compile(r'href="/events/(\d+)" dir="auto"')


def listed_ids(client, query: str = "") -> list[int]:
    response = client.get("/events/" + query)
    assert response.status_code == 200
    return [int(i) for i in CARD_LINK.findall(response.get_data(as_text=True))]


@pytest.fixture()
def orgs():
    return {
        "alpha": factories.make_org(slug="alpha", name="Alpha Movement"),
        "beta": factories.make_org(slug="beta", name="Beta Forum"),
    }


def test_listing_shows_upcoming_public_actions_soonest_first(client, orgs):
    alpha = orgs["alpha"]
    later = factories.make_event(alpha, title="Later", starts_in=timedelta(days=5))
    sooner = factories.make_event(alpha, title="Sooner", starts_in=timedelta(days=1))
    same_time = factories.make_event(alpha, title="Same time", starts_at=sooner.starts_at)
    ongoing = factories.make_event(
        alpha, title="Ongoing", starts_in=timedelta(hours=-1), duration=timedelta(hours=3)
    )
    factories.make_event(alpha, title="Draft", status="draft")
    factories.make_event(alpha, title="Unlisted", visibility="unlisted")
    factories.make_event(alpha, title="Cancelled", status="cancelled")
    factories.make_event(alpha, title="Over", starts_in=timedelta(days=-2))
    assert listed_ids(client) == [ongoing.id, sooner.id, same_time.id, later.id]


def test_search_q_matches_title_description_and_city_but_never_the_address(client, orgs):
    alpha = orgs["alpha"]
    by_title = factories.make_event(alpha, title="Olive harvest shift")
    by_text = factories.make_event(alpha, title="Other", description_md="We pick OLIVES together")
    by_city = factories.make_event(alpha, title="Third", city="Olive Town")
    factories.make_event(alpha, title="Fourth", address="Olive Street 3")
    factories.make_event(alpha, title="Online", is_online=True, online_url="https://olive.example")
    assert sorted(listed_ids(client, "?q=olive")) == sorted([by_title.id, by_text.id, by_city.id])
    assert listed_ids(client, "?q=100%25") == []  # LIKE wildcards are literal


def test_filter_by_org_includes_cohosted_actions(client, orgs):
    own = factories.make_event(orgs["alpha"], title="Own")
    joint = factories.make_event(orgs["beta"], title="Joint", cohosts=(orgs["alpha"],))
    factories.make_event(orgs["beta"], title="Theirs")
    assert sorted(listed_ids(client, "?org=alpha")) == sorted([own.id, joint.id])
    response = client.get("/events/?org=nobody")
    assert response.status_code == 200
    assert "We don" in response.get_data(as_text=True)
    assert len(listed_ids(client, "?org=nobody")) == 3


def test_filters_cause_region_kind_online(client, orgs):
    alpha = orgs["alpha"]
    peace = factories.make_event(alpha, causes=("peace",), region="haifa_north", kind="rally")
    aid = factories.make_event(
        alpha, causes=("humanitarian", "equality"), region="negev", kind="aid_drive"
    )
    online = factories.make_event(
        alpha,
        causes=("bereavement",),
        is_online=True,
        online_url="https://meet.example/x",
        kind="memorial",
    )
    assert listed_ids(client, "?cause=equality") == [aid.id]
    assert listed_ids(client, "?region=haifa_north") == [peace.id]
    assert listed_ids(client, "?kind=memorial") == [online.id]
    assert listed_ids(client, "?online=1") == [online.id]
    assert sorted(listed_ids(client, "?online=0")) == sorted([peace.id, aid.id])
    assert len(listed_ids(client, "?online=maybe&cause=nonsense&region=mars")) == 3
    assert listed_ids(client, "?cause=peace&region=negev") == []


def test_dates_are_whole_days_in_the_viewers_zone(client, orgs):
    alpha = orgs["alpha"]
    year = factories.now().year + 1
    # 23:30 on 10 March in Jerusalem is 21:30 UTC: it belongs to 10 March.
    late = factories.make_event(
        alpha, starts_at=datetime(year, 3, 10, 21, 30, tzinfo=UTC), duration=timedelta(minutes=20)
    )
    next_day = factories.make_event(alpha, starts_at=datetime(year, 3, 11, 8, 0, tzinfo=UTC))
    assert listed_ids(client, f"?from={year}-03-10&to={year}-03-10") == [late.id]
    assert listed_ids(client, f"?from={year}-03-11") == [next_day.id]
    assert listed_ids(client, f"?to={year}-03-10") == [late.id]


@pytest.mark.parametrize(
    "query",
    [
        "?from=2026-02-30",
        "?to=yesterday",
        "?from=2030-01-02&to=2030-01-01",
        "?page=abc",
        "?page=0",
        "?page=99999999999999999999",
        "?q=" + "x" * 5000,
    ],
)
def test_bad_filters_are_gentle(client, orgs, query):
    factories.make_event(orgs["alpha"])
    response = client.get("/events/" + query)
    assert response.status_code == 200


def test_bad_date_says_so(client, orgs):
    html = client.get("/events/?from=2026-02-30").get_data(as_text=True)
    assert "is not a date we understand" in html
    html = client.get("/events/?from=2030-01-02&to=2030-01-01").get_data(as_text=True)
    assert "end date was before the start date" in html


def test_pagination_keeps_the_filters(app, client, orgs):
    app.config["EVENTS_PER_PAGE"] = 4
    events = [
        factories.make_event(orgs["alpha"], region="galilee", starts_in=timedelta(days=1 + i))
        for i in range(10)
    ]
    factories.make_event(orgs["alpha"], region="negev")
    page1 = client.get("/events/?region=galilee").get_data(as_text=True)
    assert [int(i) for i in CARD_LINK.findall(page1)] == [e.id for e in events[:4]]
    assert "10 upcoming actions" in page1
    next_link = re.search(r'<a rel="next" href="([^"]+)"', page1).group(1).replace("&amp;", "&")
    assert "region=galilee" in next_link and "page=2" in next_link
    assert listed_ids(client, "?region=galilee&page=3") == [e.id for e in events[8:]]
    page3 = client.get("/events/?region=galilee&page=3").get_data(as_text=True)
    assert 'rel="next"' not in page3 and 'rel="prev"' in page3
    assert listed_ids(client, "?region=galilee&page=9") == []


def _events_with_everything(n: int) -> None:
    orgs = [factories.make_org() for _ in range(3)]
    for i in range(n):
        event = factories.make_event(
            orgs[i % 3],
            cohosts=(orgs[(i + 1) % 3],),
            causes=("peace", "equality"),
            capacity=5,
            starts_in=timedelta(days=1, hours=i),
        )
        factories.make_signup(event, "confirmed")
        factories.make_signup(event, "waitlisted")


def _queries_for_listing(client) -> int:
    client.get("/events/")  # warm-up: first-request work is not counted
    with count_queries() as statements:
        assert client.get("/events/").status_code == 200
    return len(statements)


def test_listing_runs_the_same_few_queries_for_5_or_50_actions(app):
    _events_with_everything(5)
    few = _queries_for_listing(app.test_client())
    _events_with_everything(45)
    many = _queries_for_listing(app.test_client())
    assert few == many
    assert many <= 8


def test_calendar_feed_runs_a_fixed_number_of_queries(app, client):
    _events_with_everything(3)
    client.get("/calendar/events.ics")
    with count_queries() as few:
        client.get("/calendar/events.ics")
    _events_with_everything(20)
    with count_queries() as many:
        response = client.get("/calendar/events.ics")
    assert len(few) == len(many) <= 3
    assert len(Calendar.from_ical(response.data).walk("VEVENT")) == 23


# --- the action's page and calendar file --------------------------------------------------------


def test_detail_shows_hosts_when_and_places_left(client, orgs):
    event = factories.make_event(
        orgs["alpha"],
        title="Dialogue circle",
        cohosts=(orgs["beta"],),
        starts_at=datetime(2026, 12, 4, 11, 0, tzinfo=UTC),
        duration=timedelta(hours=2),
        capacity=10,
    )
    for _ in range(3):
        factories.make_signup(event, "confirmed", name="Secret Volunteer Name")
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "Friday 4 December 2026, 13:00–15:00 (Jerusalem time)" in html
    assert 'href="/orgs/alpha"' in html and 'href="/orgs/beta"' in html
    assert "7 places left" in html
    assert f'href="/events/{event.id}.ics"' in html
    assert "https://wa.me/?text=" in html and "mailto:?subject=" in html
    assert "Secret Volunteer Name" not in html and "@example.org" not in html


def test_full_action_shows_waitlist_or_full(client, orgs):
    waitlist = factories.make_event(orgs["alpha"], capacity=1)
    factories.make_signup(waitlist, "confirmed")
    no_waitlist = factories.make_event(orgs["alpha"], capacity=1, waitlist_enabled=False)
    factories.make_signup(no_waitlist, "confirmed")
    approval = factories.make_event(orgs["alpha"], approval_required=True)
    assert "Waitlist open" in client.get(f"/events/{waitlist.id}").get_data(as_text=True)
    assert "Full" in client.get(f"/events/{no_waitlist.id}").get_data(as_text=True)
    assert "Approval needed" in client.get(f"/events/{approval.id}").get_data(as_text=True)
    listing = client.get("/events/").get_data(as_text=True)
    assert "Waitlist open" in listing and "Full" in listing and "Approval needed" in listing


def test_unlisted_is_reachable_by_link_but_never_listed(client, orgs):
    unlisted = factories.make_event(orgs["alpha"], title="Invitation only", visibility="unlisted")
    assert client.get(f"/events/{unlisted.id}").status_code == 200
    assert unlisted.id not in listed_ids(client)
    assert unlisted.id not in listed_ids(client, "?q=Invitation")
    assert b"Invitation only" not in client.get("/calendar/events.ics").data
    assert b"Invitation only" not in client.get("/").data


def test_drafts_are_404_for_everyone_but_managers(client, auth, orgs):
    draft = factories.make_event(orgs["alpha"], status="draft")
    assert client.get(f"/events/{draft.id}").status_code == 404
    assert client.get(f"/events/{draft.id}.ics").status_code == 404
    auth.login(factories.make_user())
    assert client.get(f"/events/{draft.id}").status_code == 404
    assert client.get("/events/424242").status_code == 404


def test_event_ics(client, orgs):
    event = factories.make_event(orgs["alpha"], title="Vigil", address="Paris Square")
    response = client.get(f"/events/{event.id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    (vevent,) = Calendar.from_ical(response.data).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Vigil"
    assert vevent.decoded("DTSTART") == event.starts_at.replace(microsecond=0)
    assert "Paris Square" in str(vevent["LOCATION"])


def test_cancelled_action_page_and_calendar_say_so(client, orgs):
    event = factories.make_event(orgs["alpha"], status="cancelled")
    assert "This action was cancelled." in client.get(f"/events/{event.id}").get_data(as_text=True)
    (vevent,) = Calendar.from_ical(client.get(f"/events/{event.id}.ics").data).walk("VEVENT")
    assert str(vevent["STATUS"]) == "CANCELLED"


def test_listing_in_hebrew_is_right_to_left(client, orgs):
    factories.make_event(orgs["alpha"], title="משמרת מחאה", language="he")
    html = client.get("/events/?lang=he").get_data(as_text=True)
    assert 'dir="rtl"' in html
    assert 'lang="he">משמרת מחאה</a>' in html
