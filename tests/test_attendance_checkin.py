"""Check-in at the action from a phone: who may, idempotent taps, counts, one page of queries."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from organizer.extensions import db
from organizer.models import EventHost, Membership, Shift, Signup
from organizer.services import attendance

from . import factories
from .helpers import count_queries


@pytest.fixture()
def setup(app):
    owner = factories.make_user(name="Owner")
    org = factories.make_org(owner=owner, name="Humans Without Borders")
    event = factories.make_event(org, title="Olive harvest", starts_in=timedelta(hours=-1))
    people = {
        name: factories.make_signup(event, name=name, phone="050-1234567")
        for name in ("Noa Levi", "Samir Haddad", "Rana Khoury")
    }
    people["waiting list"] = factories.make_signup(event, "waitlisted", name="Dana Waitlist")
    return {"owner": owner, "org": org, "event": event, "people": people}


def url(event, signup=None) -> str:
    base = f"/events/{event.id}/checkin"
    return f"{base}/{signup.id}" if signup is not None else base


def tap(post_form, event, signup, action: str, **extra):
    return post_form(url(event, signup), {"action": action, **extra}, page=url(event))


def fresh(signup: Signup) -> Signup:
    db.session.expire_all()
    return db.session.get(Signup, signup.id)


# --- who may ----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client, setup):
    event, noa = setup["event"], setup["people"]["Noa Levi"]
    response = client.get(url(event))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = client.post(url(event, noa), data={"action": "in"})
    assert response.status_code in (302, 400)
    assert fresh(noa).checked_in_at is None


@pytest.mark.parametrize("who", ["volunteer", "other_organizer"])
def test_outsiders_are_refused(client, auth, post_form, setup, who):
    event, noa = setup["event"], setup["people"]["Noa Levi"]
    user = factories.make_user()
    if who == "volunteer":
        factories.make_signup(event, user_id=user.id, email=user.email)
    else:
        factories.make_org(owner=user)
    auth.login(user)
    response = client.get(url(event))
    assert response.status_code == 403
    assert "Noa Levi" not in response.get_data(as_text=True)
    token_page = "/auth/profile"
    response = post_form(url(event, noa), {"action": "in"}, page=token_page)
    assert response.status_code == 403
    assert fresh(noa).checked_in_at is None


def test_a_draft_is_404_for_outsiders(client, auth, setup):
    draft = factories.make_event(setup["org"], status="draft")
    auth.login(factories.make_user())
    assert client.get(url(draft)).status_code == 404


@pytest.mark.parametrize("who", ["owner", "cohost", "admin"])
def test_hosts_and_admins_get_the_page(client, auth, setup, who):
    event = setup["event"]
    if who == "owner":
        user = setup["owner"]
    elif who == "cohost":
        user = factories.make_user()
        partner = factories.make_org(owner=user)
        event.cohosts = [EventHost(organization=partner, status="accepted")]
        db.session.commit()
    else:
        user = factories.make_user(is_admin=True)
    auth.login(user)
    response = client.get(url(event))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    for name in ("Noa Levi", "Samir Haddad", "Rana Khoury"):
        assert name in page
    assert "Dana Waitlist" not in page  # only confirmed volunteers come


def test_a_signup_of_another_action_is_404(client, auth, post_form, setup):
    other = factories.make_event(setup["org"])
    stranger = factories.make_signup(other)
    auth.login(setup["owner"])
    assert tap(post_form, setup["event"], stranger, "in").status_code == 404
    assert fresh(stranger).checked_in_at is None


# --- checking in and out ----------------------------------------------------------------------


def test_check_in_twice_keeps_the_first_time(client, auth, post_form, setup):
    event, noa = setup["event"], setup["people"]["Noa Levi"]
    auth.login(setup["owner"])
    response = tap(post_form, event, noa, "in")
    assert response.status_code == 302
    first = fresh(noa)
    assert first.checked_in_at is not None and first.attendance == "attended"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Noa Levi is checked in." in page

    response = tap(post_form, event, noa, "in")  # a second tap, or the form sent again
    again = fresh(noa)
    assert again.checked_in_at == first.checked_in_at
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Noa Levi was already checked in at" in page


def test_check_out_then_back_on_site(client, auth, post_form, setup):
    event, samir = setup["event"], setup["people"]["Samir Haddad"]
    auth.login(setup["owner"])
    response = tap(post_form, event, samir, "out")  # not checked in yet: nothing happens
    assert "Check this volunteer in first." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert fresh(samir).checked_out_at is None

    tap(post_form, event, samir, "in")
    tap(post_form, event, samir, "out")
    out = fresh(samir).checked_out_at
    assert out is not None
    tap(post_form, event, samir, "out")
    assert fresh(samir).checked_out_at == out  # the first check-out time stays
    tap(post_form, event, samir, "in")  # a check-in after leaving changes nothing either
    assert fresh(samir).checked_out_at == out

    tap(post_form, event, samir, "back")
    back = fresh(samir)
    assert back.checked_out_at is None and back.checked_in_at is not None
    assert back.attendance == "attended"


def test_only_confirmed_volunteers_and_only_at_a_live_action(client, auth, post_form, setup):
    event, people = setup["event"], setup["people"]
    auth.login(setup["owner"])
    response = tap(post_form, event, people["waiting list"], "in")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Only confirmed volunteers can be checked in." in page
    assert fresh(people["waiting list"]).checked_in_at is None

    event.status = "cancelled"
    db.session.commit()
    response = tap(post_form, event, people["Noa Levi"], "in")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nobody can be checked in" in page
    assert fresh(people["Noa Levi"]).checked_in_at is None


def test_bad_forms_are_400_and_write_nothing(client, auth, post_form, setup):
    event, noa = setup["event"], setup["people"]["Noa Levi"]
    auth.login(setup["owner"])
    assert tap(post_form, event, noa, "teleport").status_code == 400
    assert client.post(url(event, noa), data={"action": "in"}).status_code == 400  # no CSRF
    assert fresh(noa).checked_in_at is None


def test_the_redirect_keeps_the_search_and_comes_back_to_the_row(client, auth, post_form, setup):
    event, rana = setup["event"], setup["people"]["Rana Khoury"]
    auth.login(setup["owner"])
    response = tap(post_form, event, rana, "in", q="Rana", show="waiting")
    location = urlsplit(response.headers["Location"])
    assert location.path == url(event)
    assert parse_qs(location.query) == {"q": ["Rana"], "show": ["waiting"]}
    assert location.fragment == f"signup-{rana.id}"


def test_concurrent_taps_record_one_check_in(app, setup):
    """Two organizers tap at once: the conditional update lets exactly one of them write."""
    event, noa = setup["event"], setup["people"]["Noa Levi"]
    now = factories.now()
    first = attendance.check_in(event, noa.id, now)
    second = attendance.check_in(event, noa.id, now + timedelta(seconds=1))
    assert (first.changed, second.changed) == (True, False)
    assert fresh(noa).checked_in_at == now


# --- what the page shows ----------------------------------------------------------------------


def test_page_shows_who_is_on_site_and_the_counts(client, auth, post_form, setup):
    event, people = setup["event"], setup["people"]
    auth.login(setup["owner"])
    tap(post_form, event, people["Noa Levi"], "in")
    tap(post_form, event, people["Samir Haddad"], "in")
    tap(post_form, event, people["Samir Haddad"], "out")
    page = client.get(url(event)).get_data(as_text=True)
    assert "Confirmed <strong>3</strong>" in page
    assert "Not arrived <strong>1</strong>" in page
    assert "On site <strong>1</strong>" in page
    assert "Left <strong>1</strong>" in page

    on_site = client.get(url(event) + "?show=on_site").get_data(as_text=True)
    assert "Noa Levi" in on_site and "Samir Haddad" not in on_site and "Rana" not in on_site
    assert 'value="out"' in on_site  # her button checks her out
    left = client.get(url(event) + "?show=left").get_data(as_text=True)
    assert "Samir Haddad" in left and "Back on site" in left
    waiting = client.get(url(event) + "?show=waiting").get_data(as_text=True)
    assert "Rana Khoury" in waiting and "Noa Levi" not in waiting


def test_search_by_name(client, auth, setup):
    event = setup["event"]
    factories.make_signup(event, name="שירה כהן")
    auth.login(setup["owner"])
    page = client.get(url(event) + "?q=samir").get_data(as_text=True)
    assert "Samir Haddad" in page and "Noa Levi" not in page
    page = client.get(url(event) + "?q=שירה").get_data(as_text=True)
    assert "שירה כהן" in page and "Samir Haddad" not in page
    page = client.get(url(event) + "?q=%25").get_data(as_text=True)  # a literal %, not a wildcard
    assert "Nobody matches that search." in page
    assert client.get(url(event) + "?show=nonsense").status_code == 200


def test_works_without_javascript(client, auth, setup):
    """Plain forms: each button posts by itself with its token, the search is a GET."""
    auth.login(setup["owner"])
    page = client.get(url(setup["event"])).get_data(as_text=True)
    assert page.count('<form method="post"') >= 3 + 1  # three volunteers, and log out
    assert page.count('name="csrf_token"') >= 4
    assert '<form method="get"' in page


def test_the_page_runs_the_same_queries_for_3_or_30_volunteers(client, auth, setup):
    event = setup["event"]
    auth.login(setup["owner"])
    client.get(url(event))
    db.session.expire_all()
    with count_queries() as small:
        assert client.get(url(event)).status_code == 200
    shift = Shift(event=event, name="Picking", position=0)
    db.session.add(shift)
    db.session.commit()
    for i in range(27):
        factories.make_signup(event, name=f"Picker {i}", shift_id=shift.id if i % 2 else None)
    db.session.expire_all()
    with count_queries() as large:
        page = client.get(url(event)).get_data(as_text=True)
    assert page.count('class="checkin-card') == 30
    assert "Picking" in page
    assert len(large) == len(small) <= 9, "\n\n".join(large)


# --- counts on the roster and the organization's page ------------------------------------------


def test_counts_on_the_roster_and_the_manage_page(client, auth, setup):
    org, event, people = setup["org"], setup["event"], setup["people"]
    now = factories.now()
    event.starts_at, event.ends_at = now - timedelta(days=2), now - timedelta(days=2, hours=-3)
    db.session.commit()
    attendance.check_in(event, people["Noa Levi"].id, now)
    attendance.check_in(event, people["Samir Haddad"].id, now)
    # Rana was never checked in: once the action is over, a no-show.
    quiet = factories.make_event(org, title="Nobody took attendance", starts_in=timedelta(days=-3))
    factories.make_signup(quiet)

    counts = attendance.attendance_counts([event, quiet], now)
    assert (counts[event.id].signed_up, counts[event.id].attended, counts[event.id].no_show) == (
        3,
        2,
        1,
    )
    assert counts[quiet.id].no_show == 0  # attendance was not taken at all

    auth.login(setup["owner"])
    roster = client.get(f"/events/{event.id}/roster").get_data(as_text=True)
    assert "Signed up: <strong>3</strong>" in roster
    assert "Attended: <strong>2</strong>" in roster
    assert "No-show: <strong>1</strong>" in roster
    manage = client.get(f"/orgs/{org.slug}/manage").get_data(as_text=True)
    assert "2 attended · 1 no-show" in manage
    assert "Attendance not taken" in manage


def test_counts_take_one_query_for_many_actions(app, setup):
    events = [setup["event"], *(factories.make_event(setup["org"]) for _ in range(5))]
    for event in events:
        db.session.refresh(event)  # loaded, as a page has them
    with count_queries() as queries:
        attendance.attendance_counts(events, factories.now())
    assert len(queries) == 1


def test_roster_attendance_buttons_keep_the_first_check_in_time(client, auth, post_form, setup):
    event, noa = setup["event"], setup["people"]["Noa Levi"]
    auth.login(setup["owner"])
    tap(post_form, event, noa, "in")
    first = fresh(noa).checked_in_at
    roster = f"/events/{event.id}/roster"
    post_form(f"/events/{event.id}/signups/{noa.id}/attendance", {"value": "attended"}, roster)
    assert fresh(noa).checked_in_at == first
    post_form(f"/events/{event.id}/signups/{noa.id}/attendance", {"value": "clear"}, roster)
    cleared = fresh(noa)
    assert cleared.attendance is None and cleared.checked_in_at is None


def test_members_of_the_host_see_the_links(client, auth, setup):
    member = factories.make_user()
    db.session.add(Membership(organization=setup["org"], user=member, role="organizer"))
    db.session.commit()
    auth.login(member)
    roster = client.get(f"/events/{setup['event'].id}/roster").get_data(as_text=True)
    assert f'href="/events/{setup["event"].id}/checkin"' in roster
    manage = client.get(f"/orgs/{setup['org'].slug}/manage").get_data(as_text=True)
    assert f'href="/events/{setup["event"].id}/checkin"' in manage
