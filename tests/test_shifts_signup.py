"""Signing up for shifts: a row per shift, each with its own places, waitlist and approval."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Membership, Shift, Signup
from organizer.services import signups as service
from organizer.services.errors import InvalidInput, SignupClosed

from . import factories
from .helpers import ics_attachments, text_part

MANAGE_LINK = re.compile(r"http://[^\s\"<]+/signups/[A-Za-z0-9._-]+")


@pytest.fixture()
def drive():
    """An aid drive 08:00–16:00 with sorting (2 places), loading (1 place) and drivers."""
    org = factories.make_org(name="Common Road")
    day = (factories.now() + timedelta(days=5)).date()
    event = factories.make_event(
        org,
        title="Aid depot day",
        kind="aid_drive",
        starts_at=datetime.combine(day, time(8), tzinfo=ZoneInfo(org.timezone)),
        duration=timedelta(hours=8),
    )
    start = event.starts_at
    sorting = factories.make_shift(
        event, "Sorting", capacity=2, starts_at=start, ends_at=start + timedelta(hours=4)
    )
    loading = factories.make_shift(
        event,
        "Loading",
        capacity=1,
        starts_at=start + timedelta(hours=4),
        ends_at=start + timedelta(hours=8),
    )
    drivers = factories.make_shift(event, "Drivers")
    return event, sorting, loading, drivers


def signup_url(event) -> str:
    return f"/events/{event.id}/signup"


def rows(event, email: str | None = None) -> list[Signup]:
    db.session.expire_all()
    query = select(Signup).where(Signup.event_id == event.id).order_by(Signup.id)
    if email:
        query = query.where(Signup.email == email)
    return list(db.session.scalars(query))


def by_shift(event, email: str) -> dict[str, str]:
    return {s.shift.name: s.status for s in rows(event, email)}


def sign_up(post_form, event, shifts, name="Dana", email="dana@example.org", **extra):
    data = {"name": name, "email": email, "shifts": [s.id for s in shifts], **extra}
    return post_form(signup_url(event), data, page=f"/events/{event.id}")


def row_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Signup))


# --- the form -----------------------------------------------------------------------------


def test_the_action_page_lists_each_shift_with_its_places(client, drive):
    event, sorting, loading, drivers = drive
    factories.make_signup(event, "confirmed", shift=loading)
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert html.count('name="shifts"') == 3
    assert f'value="{sorting.id}"' in html and f'value="{drivers.id}"' in html
    assert "2 places left" in html  # sorting
    assert "Full — join the waitlist" in html  # loading
    assert "No limit" in html  # drivers
    local = sorting.starts_at.astimezone(event.tz)
    assert f"{local:%H:%M}–{local + timedelta(hours=4):%H:%M}" in html


def test_signing_up_for_two_of_three_shifts(client, post_form, mailbox, drive):
    event, sorting, loading, drivers = drive

    response = sign_up(post_form, event, [sorting, drivers], phone="050-1234567")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "You're signed up!" in page and "Sorting" in page and "Drivers" in page
    assert "Loading" not in page.split("Your shifts")[1]
    signups = rows(event)
    assert [(s.shift_id, s.status) for s in signups] == [
        (sorting.id, "confirmed"),
        (drivers.id, "confirmed"),
    ]
    assert {s.phone for s in signups} == {"050-1234567"}
    # One email, listing both shifts, with the calendar file.
    assert len(mailbox.wait_for(1)) == 1
    message = mailbox.to("dana@example.org")[0]
    body = text_part(message)
    assert message["Subject"] == "You're signed up: Aid depot day"
    assert "- Sorting" in body and ": Confirmed" in body and "- Drivers: Confirmed" in body
    assert "Loading" not in body
    assert len(ics_attachments(message)) == 1


def test_confirmed_in_one_shift_and_waitlisted_in_another(post_form, mailbox, drive):
    event, sorting, loading, _drivers = drive
    factories.make_signup(event, "confirmed", shift=loading)
    factories.make_signup(event, "waitlisted", shift=loading)

    response = sign_up(post_form, event, [sorting, loading])

    assert by_shift(event, "dana@example.org") == {"Sorting": "confirmed", "Loading": "waitlisted"}
    page = response.get_data(as_text=True)
    assert "Your place in line: 2" in page
    body = text_part(mailbox.wait_for(1)[0])
    assert "Sorting" in body and "Waitlisted (your place in line: 2)" in body


def test_all_waitlisted_gets_the_waitlist_wording(post_form, mailbox, drive):
    event, _sorting, loading, _drivers = drive
    factories.make_signup(event, "confirmed", shift=loading)
    response = sign_up(post_form, event, [loading])
    assert "You're on the waitlist" in response.get_data(as_text=True)
    message = mailbox.wait_for(1)[0]
    assert message["Subject"] == "You're on the waitlist: Aid depot day"
    assert ics_attachments(message) == []


def test_each_shift_has_its_own_capacity(app, drive):
    event, sorting, loading, _drivers = drive
    now = factories.now()
    for i in range(3):
        service.sign_up_for_shifts(
            event.id, [sorting.id, loading.id], name=f"V{i}", email=f"v{i}@example.org", now=now
        )
    statuses = {(s.shift.name, s.email): s.status for s in rows(event)}
    assert [statuses[("Sorting", f"v{i}@example.org")] for i in range(3)] == [
        "confirmed",
        "confirmed",
        "waitlisted",
    ]
    assert [statuses[("Loading", f"v{i}@example.org")] for i in range(3)] == [
        "confirmed",
        "waitlisted",
        "waitlisted",
    ]
    positions = [
        service.waitlist_position(s)
        for s in rows(event)
        if s.shift.name == "Loading" and s.status == "waitlisted"
    ]
    assert positions == [1, 2]  # counted within the shift, not across the action


# --- cancelling and promotion ---------------------------------------------------------------


def test_cancelling_one_shift_promotes_that_shifts_waitlist_only(client, post_form, mailbox, drive):
    event, sorting, loading, _drivers = drive
    factories.make_signup(event, "waitlisted", shift=sorting, email="sorter@example.org")
    waiting = factories.make_signup(event, "waitlisted", shift=loading, email="next@example.org")
    sign_up(post_form, event, [sorting, loading])
    factories.make_signup(event, "confirmed", shift=sorting)
    link = MANAGE_LINK.search(text_part(mailbox.wait_for(1)[0])).group(0)
    path = link.replace("http://127.0.0.1:5000", "")  # PUBLIC_URL of the tests
    mailbox.clear()

    page = client.get(path).get_data(as_text=True)
    assert "Sorting" in page and "Loading" in page
    assert page.count("Cancel this shift") == 2
    loading_row = next(s for s in rows(event, "dana@example.org") if s.shift_id == loading.id)
    response = post_form(f"{path}/cancel", {"signup": loading_row.id}, page=path)

    assert response.status_code == 302
    assert by_shift(event, "dana@example.org") == {"Sorting": "confirmed", "Loading": "cancelled"}
    assert db.session.get(Signup, waiting.id).status == "confirmed"
    statuses = {s.email: s.status for s in rows(event) if s.shift_id == sorting.id}
    assert statuses["sorter@example.org"] == "waitlisted"  # the other shift did not move
    promoted = mailbox.wait_for(1)
    assert [m["To"] for m in promoted] == ["next@example.org"]
    assert "Shift: Loading" in text_part(promoted[0])


def test_the_cancel_button_cannot_reach_someone_elses_signup(client, post_form, mailbox, drive):
    event, sorting, loading, _drivers = drive
    other = factories.make_signup(event, "confirmed", shift=loading, email="other@example.org")
    sign_up(post_form, event, [sorting])
    link = MANAGE_LINK.search(text_part(mailbox.wait_for(1)[0])).group(0)
    path = link.replace("http://127.0.0.1:5000", "")

    for forged in (str(other.id), "999999", "abc"):
        response = post_form(f"{path}/cancel", {"signup": forged}, page=path)
        assert response.status_code == 404
    assert db.session.get(Signup, other.id).status == "confirmed"
    assert by_shift(event, "dana@example.org") == {"Sorting": "confirmed"}


def test_organizer_declining_a_confirmed_shift_promotes_within_it(app, drive):
    event, sorting, loading, _drivers = drive
    confirmed = factories.make_signup(event, "confirmed", shift=loading)
    waiting_sorting = factories.make_signup(event, "waitlisted", shift=sorting)
    waiting_loading = factories.make_signup(event, "waitlisted", shift=loading)

    change = service.decline(confirmed.id, factories.now())

    assert [s.id for s in change.promoted] == [waiting_loading.id]
    assert db.session.get(Signup, waiting_sorting.id).status == "waitlisted"


# --- approval -------------------------------------------------------------------------------


def test_approval_is_per_action_and_places_per_shift(client, auth, post_form, mailbox, drive):
    event, sorting, loading, _drivers = drive
    event.approval_required = True
    db.session.commit()
    factories.make_signup(event, "confirmed", shift=loading)

    response = sign_up(post_form, event, [sorting, loading])

    assert "Your request is sent" in response.get_data(as_text=True)
    assert by_shift(event, "dana@example.org") == {"Sorting": "pending", "Loading": "pending"}
    assert mailbox.wait_for(1)[0]["Subject"] == "Request received: Aid depot day"
    mailbox.clear()

    owner = factories.make_user()
    db.session.add(Membership(organization=event.organization, user=owner, role="owner"))
    db.session.commit()
    auth.login(owner)
    mine = {s.shift_id: s for s in rows(event, "dana@example.org")}
    for shift in (sorting, loading):
        roster = f"/events/{event.id}/roster"
        url = f"/events/{event.id}/signups/{mine[shift.id].id}/approve"
        assert post_form(url, {}, page=roster).status_code == 302

    # Approved into a free place of sorting, and onto loading's waitlist (it is full).
    assert by_shift(event, "dana@example.org") == {"Sorting": "confirmed", "Loading": "waitlisted"}
    subjects = sorted(m["Subject"] for m in mailbox.wait_for(2))
    assert subjects == [
        "You're approved and on the waitlist: Aid depot day",
        "You're approved: Aid depot day",
    ]


def test_a_full_shift_without_waitlist_refuses_and_writes_nothing(post_form, mailbox, drive):
    event, sorting, loading, _drivers = drive
    event.waitlist_enabled = False
    db.session.commit()
    factories.make_signup(event, "confirmed", shift=loading)
    before = row_count()

    response = sign_up(post_form, event, [sorting, loading])

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "“Loading” is full and there is no waitlist" in page
    assert re.search(rf'value="{loading.id}"\s+disabled', page)
    assert row_count() == before
    assert mailbox.wait_for(1, timeout=0.5) == []


def test_an_action_full_in_every_shift_without_waitlist_is_closed(client, drive):
    event, sorting, loading, drivers = drive
    event.waitlist_enabled = False
    drivers.capacity = 1
    db.session.commit()
    for shift, n in ((sorting, 2), (loading, 1), (drivers, 1)):
        for _ in range(n):
            factories.make_signup(event, "confirmed", shift=shift)
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "All places are taken and there is no waitlist." in html
    assert 'name="shifts"' not in html


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "choose, message",
    [
        (lambda d, other: [], "Please choose at least one shift."),
        (lambda d, other: [other.id], "A shift you chose is no longer offered."),
        (lambda d, other: [d[1].id, other.id], "A shift you chose is no longer offered."),
        (lambda d, other: ["sorting"], "Please choose at least one shift."),
        (lambda d, other: [2**40], "A shift you chose is no longer offered."),
    ],
    ids=["none", "another-actions-shift", "one-foreign", "not-a-number", "huge"],
)
def test_bad_shift_choices_are_refused_and_write_nothing(
    client, post_form, mailbox, drive, choose, message
):
    event = drive[0]
    other_event = factories.make_event(event.organization)
    other = factories.make_shift(other_event, "Elsewhere", capacity=5)
    before = row_count()

    data = {"name": "Dana", "email": "dana@example.org", "shifts": choose(drive, other)}
    response = post_form(signup_url(event), data, page=f"/events/{event.id}")

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert row_count() == before
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_a_shift_deleted_after_the_page_was_shown(client, post_form, mailbox, drive):
    event, sorting, loading, _drivers = drive
    page = f"/events/{event.id}"
    client.get(page)
    loading_id = loading.id
    db.session.delete(loading)
    db.session.commit()

    data = {"name": "Dana", "email": "dana@example.org", "shifts": [sorting.id, loading_id]}
    response = post_form(signup_url(event), data, page=page)

    assert response.status_code == 400
    assert "no longer offered" in response.get_data(as_text=True)
    assert rows(event) == []


def test_the_service_checks_the_same_rules(app, drive):
    event, sorting, _loading, _drivers = drive
    now = factories.now()
    with pytest.raises(InvalidInput):
        service.sign_up_for_shifts(event.id, [], name="A", email="a@example.org", now=now)
    # An action with shifts takes no sign-up for the whole action.
    with pytest.raises(InvalidInput):
        service.sign_up(event.id, name="A", email="a@example.org", now=now)
    event.status = "cancelled"
    db.session.commit()
    with pytest.raises(SignupClosed):
        service.sign_up_for_shifts(event.id, [sorting.id], name="A", email="a@example.org", now=now)
    assert rows(event) == []


# --- double submits and repeated addresses --------------------------------------------------


def test_a_double_submit_changes_nothing_and_reads_alike(post_form, mailbox, drive):
    event, sorting, loading, _drivers = drive
    first = sign_up(post_form, event, [sorting, loading], email="Dana@Example.org")
    second = sign_up(post_form, event, [sorting, loading], email="dana@example.org ")

    assert first.status_code == second.status_code == 200
    assert len(rows(event)) == 2
    body = lambda r: r.get_data(as_text=True).split("<main", 1)[1]  # noqa: E731
    assert body(first) == body(second)  # a guest is never told the address was in already
    messages = mailbox.wait_for(2)
    assert "was already signed up for this action, so nothing changed" in text_part(messages[1])


def test_adding_a_shift_later_keeps_the_first(post_form, mailbox, drive):
    event, sorting, _loading, drivers = drive
    sign_up(post_form, event, [sorting])
    sign_up(post_form, event, [sorting, drivers])
    assert by_shift(event, "dana@example.org") == {"Sorting": "confirmed", "Drivers": "confirmed"}
    assert len(rows(event)) == 2
    body = text_part(mailbox.wait_for(2)[1])
    assert "Sorting" in body and "Drivers" in body and "already signed up" not in body


def test_a_cancelled_shift_can_be_taken_again(app, drive):
    event, sorting, _loading, _drivers = drive
    now = factories.now()
    first = service.sign_up_for_shifts(
        event.id, [sorting.id], name="A", email="a@example.org", now=now
    )
    service.cancel(first.signups[0].id, now)
    again = service.sign_up_for_shifts(
        event.id, [sorting.id], name="A", email="a@example.org", now=now
    )
    assert [s.id for s in again.new] == [first.signups[0].id]
    assert again.new[0].status == "confirmed"


def test_the_unique_index_holds_per_shift(app, drive):
    event, sorting, loading, _drivers = drive
    factories.make_signup(event, shift=sorting, email="same@example.org")
    factories.make_signup(event, shift=loading, email="same@example.org")  # another shift: fine
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        factories.make_signup(event, shift=sorting, email="same@example.org")
    db.session.rollback()


# --- logged-in volunteers --------------------------------------------------------------------


def test_one_click_for_a_logged_in_volunteer_and_their_shifts_on_the_page(
    client, auth, post_form, mailbox, drive
):
    event, sorting, loading, drivers = drive
    user = factories.make_user(email="maya@example.org", name="Maya")
    auth.login(user)
    page = f"/events/{event.id}"
    assert "You'll sign up as" in client.get(page).get_data(as_text=True)

    response = post_form(signup_url(event), {"shifts": [loading.id]}, page=page)
    assert response.status_code == 200
    assert by_shift(event, "maya@example.org") == {"Loading": "confirmed"}
    assert rows(event)[0].user_id == user.id

    html = client.get(page).get_data(as_text=True)
    assert "Your shifts" in html and "See or cancel my sign-ups" in html
    assert html.count('name="shifts"') == 2  # loading is theirs already
    assert f'value="{loading.id}"' not in html

    response = post_form(signup_url(event), {"shifts": [loading.id]}, page=page)
    assert "You're already signed up" in response.get_data(as_text=True)  # told: it's them


def test_actions_without_shifts_are_unchanged(client, post_form, drive):
    plain = factories.make_event(title="Plain vigil", capacity=3)
    html = client.get(f"/events/{plain.id}").get_data(as_text=True)
    assert 'name="shifts"' not in html and "3 places left" in html
    response = post_form(
        signup_url(plain), {"name": "A", "email": "a@example.org"}, page=f"/events/{plain.id}"
    )
    assert response.status_code == 200
    assert [s.shift_id for s in rows(plain)] == [None]
    assert db.session.scalar(select(func.count()).select_from(Shift)) == 3  # the drive's


def test_shifts_added_while_a_guest_fills_in_the_form(client, post_form, monkeypatch):
    """The view saw no shifts, the service (with the roster locked) does: 409, the new form."""
    event = factories.make_event(title="Plain, then shifts")
    page = f"/events/{event.id}"
    client.get(page)
    factories.make_shift(event, "Sorting", capacity=3)
    monkeypatch.setattr(type(event), "shifts", property(lambda self: []))

    response = post_form(signup_url(event), {"name": "A", "email": "a@example.org"}, page=page)

    monkeypatch.undo()
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This action now has shifts: please choose one or more." in html
    assert 'name="shifts"' in html
    assert rows(event) == []
