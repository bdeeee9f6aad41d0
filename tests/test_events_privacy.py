"""A hidden address or meeting link appears nowhere public; volunteers' names never do."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from . import factories

SECRET_ADDRESS = "Secret Street 12"
SECRET_LINK = "https://meet.example.org/secret-room"
SECRETS = (SECRET_ADDRESS, "Secret Street", "secret-room")


def assert_no_secret(body: str | bytes, where: str) -> None:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), f"{secret!r} leaked in {where}"


def head_parts(html: str) -> list[str]:
    """The <title> and every <meta> tag: what link previews and search engines read."""
    title = re.findall(r"<title>.*?</title>", html, re.S)
    metas = re.findall(r"<meta [^>]*>", html)
    return title + metas


@pytest.fixture()
def setup():
    organizer = factories.make_user(name="Org Anizer")
    org = factories.make_org(slug="hosts", owner=organizer)
    in_person = factories.make_event(
        org,
        title="Quiet vigil",
        city="Haifa",
        address=SECRET_ADDRESS,
        location_visibility="confirmed",
        capacity=1,
    )
    online = factories.make_event(
        org,
        title="Online memorial",
        is_online=True,
        online_url=SECRET_LINK,
        address="",
        location_visibility="confirmed",
    )
    return {"organizer": organizer, "in_person": in_person, "online": online}


def volunteer_with(event, status: str):
    user = factories.make_user(name=f"Named {status.title()} Volunteer")
    factories.make_signup(event, status, user_id=user.id, email=user.email, name=user.name)
    return user


def public_urls(setup) -> list[str]:
    ids = [setup["in_person"].id, setup["online"].id]
    return [
        "/",
        "/events/",
        "/calendar/events.ics",
        *(f"/events/{i}" for i in ids),
        *(f"/events/{i}.ics" for i in ids),
    ]


def test_anonymous_sees_no_hidden_place_anywhere(client, setup):
    for url in public_urls(setup):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_secret(response.data, url)
    html = client.get(f"/events/{setup['in_person'].id}").get_data(as_text=True)
    assert "Haifa" in html
    assert "Exact place shared with confirmed volunteers" in html
    assert "Link shared with confirmed volunteers" in client.get(
        f"/events/{setup['online'].id}"
    ).get_data(as_text=True)


@pytest.mark.parametrize("as_organizer", [False, True])
@pytest.mark.parametrize("q", ["Secret", "Street 12", "secret-room", "meet.example.org"])
def test_search_cannot_find_an_action_by_its_hidden_place(client, auth, setup, q, as_organizer):
    if as_organizer:
        auth.login(setup["organizer"])
    html = client.get(f"/events/?q={q}").get_data(as_text=True)
    assert "0 upcoming actions" in html
    for event in (setup["in_person"], setup["online"]):
        assert f'href="/events/{event.id}"' not in html
    assert "Quiet vigil" in client.get("/events/?q=quiet").get_data(as_text=True)


@pytest.mark.parametrize("status", ["waitlisted", "pending", "cancelled", "declined"])
def test_unconfirmed_volunteers_do_not_see_it(client, auth, setup, status):
    for event in (setup["in_person"], setup["online"]):
        auth.login(volunteer_with(event, status))
        for url in public_urls(setup):
            assert_no_secret(client.get(url).data, f"{url} as {status}")
        auth.logout()


def test_confirmed_volunteer_and_organizers_see_it(client, auth, setup):
    event, online = setup["in_person"], setup["online"]
    auth.login(volunteer_with(event, "confirmed"))
    # A confirmed volunteer finds the place on their own sign-up page, linked from the action.
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert_no_secret(html, "the action page")
    manage_link = re.search(r'<a href="([^"]+)">You are confirmed: the exact place', html)
    assert manage_link, "no link to the volunteer's own page"
    assert SECRET_ADDRESS in client.get(manage_link.group(1)).get_data(as_text=True)
    # ...only for the action they are confirmed for.
    assert_no_secret(client.get(f"/events/{online.id}").data, "another action")
    auth.logout()
    for user in (setup["organizer"], factories.make_user(is_admin=True)):
        auth.login(user)
        assert SECRET_ADDRESS in client.get(f"/events/{event.id}").get_data(as_text=True)
        assert SECRET_LINK in client.get(f"/events/{online.id}").get_data(as_text=True)
        auth.logout()


def test_even_insiders_never_get_it_in_title_meta_or_public_calendar(client, auth, setup):
    event = setup["in_person"]
    auth.login(setup["organizer"])
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    for part in head_parts(html):
        assert_no_secret(part, "the page head")
    assert_no_secret(client.get(f"/events/{event.id}.ics").data, "the public .ics")
    assert_no_secret(client.get("/calendar/events.ics").data, "the calendar feed")


def test_confirmed_volunteer_waits_for_the_reveal_time(client, auth, setup):
    org = setup["in_person"].organization
    later = factories.make_event(
        org,
        starts_in=timedelta(days=5),
        address=SECRET_ADDRESS,
        location_visibility="confirmed",
        reveal_hours_before=24,
    )
    auth.login(volunteer_with(later, "confirmed"))
    html = client.get(f"/events/{later.id}").get_data(as_text=True)
    assert_no_secret(html, "before the reveal time")
    assert "Exact place shared with confirmed volunteers" in html


def test_public_place_is_shown_when_not_hidden(client, setup):
    org = setup["in_person"].organization
    open_event = factories.make_event(org, address="Open Square 1", location_visibility="public")
    assert "Open Square 1" in client.get(f"/events/{open_event.id}").get_data(as_text=True)


def test_public_pages_show_counts_never_names(client, setup):
    event = setup["in_person"]
    factories.make_signup(
        event, "confirmed", name="Miriam Haddad", email="miriam@example.org", phone="+972501234567"
    )
    factories.make_signup(event, "waitlisted", name="Yossi Cohen", email="yossi@example.org")
    for url in (
        "/",
        "/events/",
        f"/events/{event.id}",
        f"/events/{event.id}.ics",
        "/calendar/events.ics",
    ):
        body = client.get(url).get_data(as_text=True)
        for private in ("Miriam", "Haddad", "miriam@", "Yossi", "yossi@", "501234567"):
            assert private not in body, f"{private} on {url}"
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "Waitlist open" in html
    assert "1 on the waitlist" in html
