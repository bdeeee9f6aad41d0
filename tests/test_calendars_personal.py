"""The personal feed: a volunteer's own actions behind a secret URL they can reset; the only
feed that may carry a hidden place, and only once they may see it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar

from organizer.extensions import db
from organizer.models import Shift, User
from organizer.services import calendars

from . import factories
from .calendar_checks import check_ics, vevents
from .helpers import count_queries

SECRET = "Hidden Orchard Gate 7"
FEED_RE = re.compile(r'value="(http://localhost/calendar/([A-Za-z0-9_-]+)\.ics)"')


def uid(event) -> str:
    return f"event-{event.id}@localhost"


def feed_path(user: User) -> str:
    return f"/calendar/{calendars.calendar_token(user)}.ics"


# --- the secret URL --------------------------------------------------------------------------


def test_profile_creates_shows_and_resets_the_link(client, auth, post_form):
    user = factories.make_user()
    auth.login(user)
    page = client.get("/auth/profile").get_data(as_text=True)
    assert "Create my calendar link" in page and not FEED_RE.search(page)
    assert db.session.get(User, user.id).calendar_token is None  # nothing made by looking

    response = post_form("/me/calendar", {}, page="/auth/profile")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/profile#calendar")
    page = client.get("/auth/profile").get_data(as_text=True)
    url, token = FEED_RE.search(page).groups()
    assert 'data-copy-from="calendar-url"' in page
    assert f'href="webcal://localhost/calendar/{token}.ics"' in page
    assert len(token) >= 40
    first = client.get(f"/calendar/{token}.ics")
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, no-store"
    check_ics(first.data)

    post_form("/me/calendar", {}, page="/auth/profile")  # asked again: the same link
    assert FEED_RE.search(client.get("/auth/profile").get_data(as_text=True)).group(2) == token

    response = post_form("/me/calendar/reset", {}, page="/auth/profile")
    assert response.status_code == 302
    new_token = FEED_RE.search(client.get("/auth/profile").get_data(as_text=True)).group(2)
    assert new_token != token
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    assert client.get(f"/calendar/{new_token}.ics").status_code == 200


def test_unknown_tokens_are_404(client):
    factories.make_user(calendar_token="a" * 43)
    for token in ("b" * 43, "a" * 42, "events2", "x" * 500, "A" * 43):
        assert client.get(f"/calendar/{token}.ics").status_code == 404, token


def test_creating_or_resetting_needs_a_login_and_the_form_token(client, auth):
    assert client.post("/me/calendar").status_code in (400, 302)
    user = factories.make_user()
    auth.login(user)
    assert client.post("/me/calendar").status_code == 400  # no CSRF token
    assert client.post("/me/calendar/reset").status_code == 400
    assert db.session.get(User, user.id).calendar_token is None


def test_anonymous_is_sent_to_log_in(client, post_form):
    response = post_form("/me/calendar", {}, page="/auth/login")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# --- what the feed lists ---------------------------------------------------------------------


@pytest.fixture()
def volunteer(app):
    """Maya's sign-ups of every kind, and someone else's."""
    maya = factories.make_user(email="maya@example.org", name="Maya")
    org = factories.make_org(name="Tag Meir")
    hidden = {"location_visibility": "confirmed", "address": SECRET}
    events = {
        "confirmed": factories.make_event(org, title="Harvest", **hidden, sequence=2),
        "guest": factories.make_event(
            org, title="Guest", starts_in=timedelta(days=3), reveal_hours_before=2, **hidden
        ),
        "waitlisted": factories.make_event(org, title="Waitlisted", **hidden),
        "online": factories.make_event(
            org,
            title="Online circle",
            is_online=True,
            address="",
            online_url="https://meet.example.org/secret-room",
            location_visibility="confirmed",
        ),
        "called_off": factories.make_event(org, title="Called off", status="cancelled"),
        "unlisted": factories.make_event(org, title="Unlisted", visibility="unlisted"),
        "cancelled_signup": factories.make_event(org, title="Changed my mind"),
        "someone_else": factories.make_event(org, title="Not mine", **hidden),
        "long_ago": factories.make_event(org, title="Long ago", starts_in=timedelta(days=-40)),
    }
    mine = {"user_id": maya.id, "email": maya.email}
    factories.make_signup(events["confirmed"], **mine)
    factories.make_signup(events["guest"], email="maya@example.org")  # as a guest
    factories.make_signup(events["waitlisted"], "waitlisted", **mine)
    factories.make_signup(events["online"], **mine)
    factories.make_signup(events["called_off"], **mine)
    factories.make_signup(events["unlisted"], **mine)
    factories.make_signup(events["cancelled_signup"], "cancelled", **mine)
    factories.make_signup(events["someone_else"], email="other@example.org")
    factories.make_signup(events["long_ago"], **mine)
    return maya, events


LISTED = ("confirmed", "guest", "waitlisted", "online", "called_off", "unlisted")


def test_the_feed_lists_my_active_signups_and_matches_the_database(client, volunteer):
    maya, events = volunteer
    response = client.get(feed_path(maya))
    calendar = check_ics(response.data)
    found = vevents(calendar)
    assert set(found) == {uid(events[k]) for k in LISTED}
    for key in LISTED:
        assert int(found[uid(events[key])]["SEQUENCE"]) == events[key].sequence
    status = {key: str(found[uid(events[key])]["STATUS"]) for key in LISTED}
    assert status == {
        "confirmed": "CONFIRMED",
        "guest": "CONFIRMED",
        "waitlisted": "TENTATIVE",
        "online": "CONFIRMED",
        "called_off": "CANCELLED",
        "unlisted": "CONFIRMED",
    }
    assert "waitlist" in str(found[uid(events["waitlisted"])]["DESCRIPTION"])
    assert b"Not mine" not in response.data and b"Long ago" not in response.data


def test_hidden_places_only_for_the_confirmed_and_only_from_the_reveal_time(client, volunteer):
    maya, events = volunteer
    found = vevents(check_ics(client.get(feed_path(maya)).data))

    def location(key: str) -> str:
        vevent = found[uid(events[key])]
        return f"{vevent['LOCATION']} {vevent['DESCRIPTION']}"

    assert SECRET in location("confirmed")  # confirmed, no reveal time
    assert SECRET not in location("guest")  # confirmed, but shared 2 hours before only
    assert SECRET not in location("waitlisted")
    assert "secret-room" in location("online")

    # Once the reveal time has come, the guest sign-up's place is in the feed too.
    later = events["guest"].starts_at - timedelta(hours=1)
    calendar = Calendar.from_ical(calendars.personal_feed(maya, later))
    guest = vevents(calendar)[uid(events["guest"])]
    assert SECRET in str(guest["LOCATION"])


def test_hidden_places_never_reach_public_feeds_or_files(client, volunteer):
    maya, events = volunteer
    org = events["confirmed"].organization
    urls = ["/calendar/events.ics", f"/orgs/{org.slug}/events.ics"]
    urls += [f"/events/{e.id}.ics" for e in events.values() if e.status != "draft"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        check_ics(response.data)
        assert SECRET.encode() not in response.data, url
        assert b"secret-room" not in response.data, url


def test_guest_signups_count_only_for_a_confirmed_address(client, app):
    user = factories.make_user(email="sam@example.org", email_confirmed_at=None)
    by_account = factories.make_event(title="By account")
    by_address = factories.make_event(title="By address")
    factories.make_signup(by_account, user_id=user.id, email="sam@example.org")
    factories.make_signup(by_address, email="sam@example.org")
    found = vevents(check_ics(client.get(feed_path(user)).data))
    assert set(found) == {uid(by_account)}


def test_each_person_sees_only_their_own(client, volunteer):
    maya, events = volunteer
    other = factories.make_user(email="other@example.org")
    found = vevents(check_ics(client.get(feed_path(other)).data))
    assert set(found) == {uid(events["someone_else"])}
    # Not even the place: the other volunteer is confirmed, Maya is not on that action.
    assert SECRET in str(found[uid(events["someone_else"])]["LOCATION"])
    assert uid(events["someone_else"]) not in vevents(check_ics(client.get(feed_path(maya)).data))


def test_a_shift_with_its_own_times_is_listed_at_those_times(client):
    user = factories.make_user()
    event = factories.make_event(title="Aid drive", duration=timedelta(hours=8))
    sorting = Shift(
        event=event,
        name="Sorting",
        starts_at=event.starts_at,
        ends_at=event.starts_at + timedelta(hours=4),
        position=0,
    )
    loading = Shift(
        event=event,
        name="Loading",
        starts_at=event.starts_at + timedelta(hours=4),
        ends_at=event.ends_at,
        position=1,
    )
    db.session.add_all([sorting, loading])
    db.session.commit()
    for shift in (sorting, loading):
        factories.make_signup(event, user_id=user.id, email=user.email, shift_id=shift.id)
    found = vevents(check_ics(client.get(feed_path(user)).data))
    assert set(found) == {
        f"event-{event.id}-shift-{sorting.id}@localhost",
        f"event-{event.id}-shift-{loading.id}@localhost",
    }
    loading_item = found[f"event-{event.id}-shift-{loading.id}@localhost"]
    assert str(loading_item["SUMMARY"]) == "Aid drive – Loading"
    assert loading_item.decoded("DTSTART") == loading.starts_at.replace(microsecond=0)
    assert loading_item.decoded("DTEND") == event.ends_at.replace(microsecond=0)


def test_the_feed_takes_a_fixed_number_of_queries(app, client):
    user = factories.make_user()
    path = feed_path(user)

    def add_signups(n: int) -> None:
        for _ in range(n):
            factories.make_signup(factories.make_event(), user_id=user.id, email=user.email)

    add_signups(2)
    client.get(path)
    with count_queries() as few:
        client.get(path)
    add_signups(15)
    with count_queries() as many:
        response = client.get(path)
    assert len(vevents(check_ics(response.data))) == 17
    assert len(few) == len(many) <= 3
