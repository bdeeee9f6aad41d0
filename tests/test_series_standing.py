"""Standing sign-ups: "every week" from a date's sign-up form joins every coming date and each
new one on extend (places and waitlists hold), and stops in one click from the email. A guest
confirms from their inbox first; a logged-in volunteer's starts at once."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Event, Signup, StandingSignup
from organizer.models import signup as st
from organizer.services import series as service
from organizer.tokens import make_token

from . import factories
from .helpers import html_part, text_part

STOP_LINK = re.compile(r"http://localhost(/standing/[A-Za-z0-9_.\-]+)")
CONFIRM_LINK = re.compile(r"http://localhost(/standing/confirm/[A-Za-z0-9_.\-]+)")


def dates(series_id: int) -> list[Event]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Event).where(Event.series_id == series_id).order_by(Event.occurrence_start)
        )
    )


def signups_of(email: str) -> list[Signup]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Signup)
            .join(Event, Event.id == Signup.event_id)
            .where(Signup.email == email)
            .order_by(Event.starts_at)
        )
    )


@pytest.fixture()
def series(app):
    now = factories.now()
    return factories.make_series(first=now + timedelta(days=2), created=now, title="Vigil")


def sign_up(client, post_form, event: Event, email: str = "maya@example.org", **extra):
    data = {"name": "Maya", "email": email, "phone": "", **extra}
    return post_form(f"/events/{event.id}/signup", data, page=f"/events/{event.id}")


def confirm_link(mailbox, email: str = "maya@example.org") -> str:
    """The path of the "sign me up for every date" button emailed to `email`."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for message in mailbox.to(email):
            if "Please confirm" in message["Subject"]:
                return CONFIRM_LINK.search(text_part(message)).group(1)
        time.sleep(0.02)
    raise AssertionError(f"no confirmation email to {email}")


def every_week(client, post_form, event: Event, mailbox, email: str = "maya@example.org"):
    """A guest signs up for `event` with "every week" ticked, then confirms from the email."""
    sign_up(client, post_form, event, email=email, standing="y")
    link = confirm_link(mailbox, email)
    response = post_form(link, {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def every_date_email(mailbox, email: str = "maya@example.org"):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for message in mailbox.to(email):
            if "Signed up for every date" in message["Subject"]:
                return message
        time.sleep(0.02)
    raise AssertionError(f"no standing email to {email}")


def standing_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(StandingSignup))


def test_a_dates_sign_up_box_offers_every_week(client, series):
    first = dates(series.id)[0]
    for url in (f"/events/{first.id}", f"/events/{first.id}/signup"):
        html = client.get(url).get_data(as_text=True)
        assert "Every week: sign me up for all coming dates" in html
        assert 'name="standing" value="y"' in html


def test_a_guest_confirms_every_week_from_their_inbox(client, post_form, series, mailbox):
    """One form sent by anyone signs up for the one date; every date only once the address's
    owner presses the emailed button (a GET, as mail scanners do, changes nothing)."""
    occurrences = dates(series.id)
    first = occurrences[0]

    response = sign_up(client, post_form, first, standing="y")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "please check your email to confirm" in html
    assert "also signed up for every coming date" not in html
    assert standing_count() == 0
    assert [s.event_id for s in signups_of("maya@example.org")] == [first.id]
    messages = mailbox.wait_for(2)
    assert len(messages) == 2  # this date's confirmation, and the button for every date
    ask = next(m for m in messages if "Please confirm" in m["Subject"])
    assert CONFIRM_LINK.search(html_part(ask))
    link = confirm_link(mailbox)
    mailbox.clear()

    page = client.get(link)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "Yes, sign me up for every date" in page.get_data(as_text=True)
    assert client.post(link).status_code == 400  # no form token: nothing
    assert standing_count() == 0
    assert len(signups_of("maya@example.org")) == 1
    assert mailbox.messages == []

    confirmed = post_form(link, {})

    assert confirmed.status_code == 200
    assert "signed up for every date" in confirmed.get_data(as_text=True)
    standing = db.session.scalars(select(StandingSignup)).one()
    assert (standing.email, standing.name, standing.cancelled_at, standing.user_id) == (
        "maya@example.org",
        "Maya",
        None,
        None,
    )
    mine = signups_of("maya@example.org")
    assert [s.event_id for s in mine] == [o.id for o in occurrences]
    assert {s.status for s in mine} == {st.CONFIRMED}
    assert mine[0].standing_signup_id is None  # the date they signed up for themselves
    assert {s.standing_signup_id for s in mine[1:]} == {standing.id}
    every = every_date_email(mailbox)
    body = text_part(every)
    assert "Repeats every" in body
    assert body.count("Confirmed") == len(occurrences)
    assert STOP_LINK.search(body) and STOP_LINK.search(html_part(every))
    # The link used again keeps the one standing sign-up.
    assert post_form(link, {}).status_code == 200
    assert standing_count() == 1
    assert len(signups_of("maya@example.org")) == len(occurrences)


def test_an_address_already_signed_up_is_only_emailed_too(client, post_form, series, mailbox):
    """The form sent again for someone else's address (already signed up) signs them up for
    nothing more, and the page does not tell it apart."""
    first = dates(series.id)[0]
    factories.make_signup(first, email="victim@example.org", name="Victim")
    response = sign_up(client, post_form, first, email="victim@example.org", standing="y")
    assert "please check your email to confirm" in response.get_data(as_text=True)
    assert standing_count() == 0
    assert len(signups_of("victim@example.org")) == 1
    assert confirm_link(mailbox, "victim@example.org")


@pytest.mark.parametrize("problem", ["tampered", "expired", "other purpose"])
def test_a_bad_confirmation_link_is_refused_and_writes_nothing(
    client, post_form, series, mailbox, monkeypatch, problem
):
    first = dates(series.id)[0]
    if problem == "expired":
        old = int(time.time()) - service.STANDING_START_MAX_AGE - 60
        with monkeypatch.context() as patch:
            patch.setattr(TimestampSigner, "get_timestamp", lambda self: old)
            sign_up(client, post_form, first, standing="y")
            link = confirm_link(mailbox)
    else:
        sign_up(client, post_form, first, standing="y")
        link = confirm_link(mailbox)
        if problem == "tampered":
            link = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
        else:  # a stop link's token is no confirmation
            with client.application.test_request_context():
                token = make_token(service.STANDING_PURPOSE, [first.id, "maya@example.org"])
            link = f"/standing/confirm/{token}"
    mailbox.clear()

    page = client.get(link)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    if problem == "expired":
        assert "This link has expired" in html and "sign up again" in html
    else:
        assert "This link is not valid" in html
    assert client.post(link, data={}).status_code == 400
    assert standing_count() == 0
    assert len(signups_of("maya@example.org")) == 1
    assert mailbox.messages == []


def test_a_confirmation_after_the_series_ended_writes_nothing(client, post_form, series, mailbox):
    first = dates(series.id)[0]
    sign_up(client, post_form, first, standing="y")
    link = confirm_link(mailbox)
    service.end_series(series.id, factories.now().date() + timedelta(days=60), factories.now())
    response = client.get(link)
    assert response.status_code == 409
    assert "This series has ended" in response.get_data(as_text=True)
    assert standing_count() == 0


def test_a_logged_in_volunteer_is_signed_up_for_every_date_at_once(
    client, auth, post_form, series, mailbox
):
    occurrences = dates(series.id)
    user = factories.make_user(email="lea@example.org", name="Lea")
    auth.login(user)

    response = post_form(
        f"/events/{occurrences[0].id}/signup",
        {"standing": "y"},
        page=f"/events/{occurrences[0].id}",
    )

    assert response.status_code == 200
    assert "also signed up for every coming date" in response.get_data(as_text=True)
    standing = db.session.scalars(select(StandingSignup)).one()
    assert (standing.email, standing.user_id) == ("lea@example.org", user.id)
    assert len(signups_of("lea@example.org")) == len(occurrences)
    assert every_date_email(mailbox, "lea@example.org")
    assert not any("Please confirm" in m["Subject"] for m in mailbox.messages)


def test_a_logged_in_user_signing_up_another_address_needs_its_confirmation(
    client, auth, post_form, series, mailbox
):
    auth.login(factories.make_user(email="lea@example.org"))
    sign_up(client, post_form, dates(series.id)[0], email="friend@example.org", standing="y")
    assert standing_count() == 0
    assert len(signups_of("friend@example.org")) == 1
    assert confirm_link(mailbox, "friend@example.org")


def test_places_and_waitlists_hold_for_standing_sign_ups(client, post_form, series, mailbox):
    occurrences = dates(series.id)
    waitlisted, closed = occurrences[2], occurrences[3]
    waitlisted.capacity = 1
    closed.capacity = 1
    closed.waitlist_enabled = False
    db.session.commit()
    factories.make_signup(waitlisted)
    factories.make_signup(closed)

    every_week(client, post_form, occurrences[0], mailbox)

    by_event = {s.event_id: s.status for s in signups_of("maya@example.org")}
    assert by_event[waitlisted.id] == st.WAITLISTED
    assert closed.id not in by_event  # full without a waitlist: skipped, not an error
    assert len(by_event) == len(occurrences) - 1


def test_asking_twice_keeps_one_standing_sign_up(client, post_form, series, mailbox):
    first = dates(series.id)[0]
    every_week(client, post_form, first, mailbox)
    mailbox.clear()
    again = every_week(client, post_form, first, mailbox)
    assert again.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(StandingSignup)) == 1
    assert len(signups_of("maya@example.org")) == len(dates(series.id))


def test_new_dates_on_extend_join_the_standing_volunteer(
    client, post_form, series, mailbox, runner
):
    every_week(client, post_form, dates(series.id)[0], mailbox)
    second = dates(series.id)[1]
    # Maya can't come once: that date stays cancelled.
    service_signup = next(s for s in signups_of("maya@example.org") if s.event_id == second.id)
    from organizer.services import signups as signup_service

    signup_service.cancel(service_signup.id, factories.now())
    mailbox.clear()

    later = factories.now() + timedelta(weeks=1, hours=1)
    result = runner.invoke(args=["events", "extend", "--now", later.isoformat()])

    assert result.exit_code == 0, result.output
    assert "1 new dates, 1 standing sign-ups" in result.output
    newest = dates(series.id)[-1]
    mine = {s.event_id: s for s in signups_of("maya@example.org")}
    assert mine[newest.id].status == st.CONFIRMED
    assert mine[newest.id].standing_signup_id is not None
    assert mine[second.id].status == st.CANCELLED
    messages = mailbox.wait_for(1)
    assert [m["To"] for m in messages] == ["maya@example.org"]
    assert "You're signed up" in messages[0]["Subject"]
    # Running it again adds nobody twice.
    runner.invoke(args=["events", "extend", "--now", later.isoformat()])
    assert len(signups_of("maya@example.org")) == len(dates(series.id))


def test_the_stop_link_stops_in_one_click(client, post_form, series, mailbox):
    occurrences = dates(series.id)
    full = occurrences[4]
    full.capacity = 1
    db.session.commit()
    every_week(client, post_form, occurrences[0], mailbox)
    waiting = factories.make_signup(full, status=st.WAITLISTED, email="next@example.org")
    every = every_date_email(mailbox)
    stop = STOP_LINK.search(text_part(every)).group(1)
    mailbox.clear()

    page = client.get(stop)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Stop signing me up" in html and html.count('type="submit"') >= 1
    assert page.headers["Cache-Control"] == "private, no-store"
    assert db.session.scalars(select(StandingSignup)).one().cancelled_at is None  # GET: nothing

    response = post_form(stop, {})
    assert response.status_code == 200
    assert "Stopped" in response.get_data(as_text=True)

    mine = signups_of("maya@example.org")
    assert mine[0].status == st.CONFIRMED  # the date they chose themselves stays
    assert {s.status for s in mine[1:]} == {st.CANCELLED}
    db.session.refresh(waiting)
    assert waiting.status == st.CONFIRMED  # the freed place went to the waitlist
    assert [m["To"] for m in mailbox.wait_for(1)] == ["next@example.org"]
    assert db.session.scalars(select(StandingSignup)).one().cancelled_at is not None

    # Twice is fine, and extend no longer signs them up.
    again = post_form(stop, {}, page=f"/events/{occurrences[0].id}")
    assert "already stopped" in again.get_data(as_text=True)
    service.extend_series(series.id, factories.now() + timedelta(weeks=2))
    assert len(signups_of("maya@example.org")) == len(occurrences)


def test_a_forged_or_stale_stop_link_is_a_404(client, series):
    assert client.get("/standing/not-a-token").status_code == 404
    standing = StandingSignup(series_id=series.id, name="X", email="x@example.org")
    db.session.add(standing)
    db.session.commit()
    with client.application.test_request_context():
        token = service.standing_token(standing)
    db.session.delete(standing)
    db.session.commit()
    response = client.get(f"/standing/{token}")
    assert response.status_code == 404
    assert "This link is not valid" in response.get_data(as_text=True)


def test_a_stop_without_its_form_token_changes_nothing(client, series, post_form, mailbox):
    every_week(client, post_form, dates(series.id)[0], mailbox)
    standing = db.session.scalars(select(StandingSignup)).one()
    with client.application.test_request_context():
        token = service.standing_token(standing)
    assert client.post(f"/standing/{token}").status_code == 400
    db.session.refresh(standing)
    assert standing.cancelled_at is None


def test_an_ended_series_offers_no_standing_sign_up(client, post_form, series, mailbox):
    service.end_series(series.id, factories.now().date() + timedelta(days=60), factories.now())
    first = dates(series.id)[0]
    assert "Every week" not in client.get(f"/events/{first.id}").get_data(as_text=True)
    response = sign_up(client, post_form, first, standing="y")
    assert "check your email to confirm" not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StandingSignup)) == 0
    assert len(signups_of("maya@example.org")) == 1
    assert not any("Please confirm" in m["Subject"] for m in mailbox.wait_for(1))


def test_without_the_box_ticked_only_one_date(client, post_form, series):
    sign_up(client, post_form, dates(series.id)[0])
    assert len(signups_of("maya@example.org")) == 1
    assert db.session.scalar(select(func.count()).select_from(StandingSignup)) == 0


def test_standing_sign_ups_follow_a_new_series(app):
    now = factories.now()
    series = factories.make_series(first=now + timedelta(days=2), created=now)
    standing, joined = service.start_standing(
        series.id, name="Sam", email="Sam@Example.org", now=now
    )
    assert standing.email == "sam@example.org" and len(joined) == 12
    third = dates(series.id)[2]
    from organizer.services import events as event_service

    data = event_service.EventData(
        title=third.title,
        region=third.region,
        starts_at=third.starts_at + timedelta(hours=1),
        ends_at=third.ends_at + timedelta(hours=1),
        causes=third.cause_slugs,
        city=third.city,
        address=third.address,
    )
    edit = service.update_following(third, data, now, None)
    db.session.refresh(standing)
    assert standing.series_id == edit.new_series.id
    created = service.extend_series(edit.new_series.id, now + timedelta(weeks=1)).created
    assert created
    assert (
        db.session.scalar(
            select(func.count()).where(
                Signup.event_id == created[0], Signup.email == "sam@example.org"
            )
        )
        == 1
    )
