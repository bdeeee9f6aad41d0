"""Subscribing to the digest: double opt-in, no address enumeration, preferences, the boxes."""

from __future__ import annotations

import time

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models.digest import (
    SUB_ACTIVE,
    SUB_PENDING,
    SUB_SUSPENDED,
    SUB_UNSUBSCRIBED,
    Subscription,
)
from organizer.services import subscriptions
from organizer.web import now_utc

from . import factories
from .helpers import text_part
from .test_auth_register import emailed_path

FULL = {
    "email": "Noa@Example.org",
    "name": "Noa",
    "causes": ["peace", "equality"],
    "regions": ["jerusalem"],
    "locale": "he",
    "weekday": "4",
    "hour": "18",
    "timezone": "Europe/London",
    "max_actions": "5",
}


def subscription_count() -> int:
    return db.session.scalar(select(func.count(Subscription.id)))


def only_subscription() -> Subscription:
    db.session.expire_all()
    (subscription,) = db.session.scalars(select(Subscription)).all()
    return subscription


def make_subscription(email: str = "dana@example.org", status: str = SUB_ACTIVE, **kwargs):
    """A subscription in any state, as the service would leave it."""
    subscription = Subscription(
        email=email,
        timezone=kwargs.pop("timezone", "Asia/Jerusalem"),
        status=status,
        confirmed_at=now_utc() if status != SUB_PENDING else None,
        **kwargs,
    )
    db.session.add(subscription)
    db.session.commit()
    return subscription


def subscribe(post_form, data, page=None):
    return post_form("/digest/subscribe", data, page=page or "/digest/subscribe")


# ---- the form ------------------------------------------------------------------------------


def test_the_form_offers_every_choice_with_the_defaults(client):
    factories.make_org(name="Standing Together")
    html = client.get("/digest/subscribe").text
    assert "Standing Together" in html
    assert 'value="peace"' in html and 'value="negev"' in html
    assert '<option selected value="1">Tuesday</option>' in html
    assert '<option selected value="9">09:00</option>' in html
    assert 'value="Asia/Jerusalem"' in html
    assert 'name="max_actions"' in html and 'value="3"' in html
    assert '<option selected value="en">English</option>' in html


def test_day_names_and_default_language_follow_the_reader(client):
    html = client.get("/digest/subscribe?lang=he").text
    assert '<option selected value="1">יום שלישי</option>' in html
    assert '<option selected value="he">עברית</option>' in html
    html = client.get("/digest/subscribe?lang=ar").text
    assert '<option selected value="1">الثلاثاء</option>' in html


def test_coming_from_an_organization_ticks_it(client):
    org = factories.make_org(slug="circle")
    html = client.get("/digest/subscribe?org=circle").text
    assert (
        f'checked id="organizations-0" name="organizations" type="checkbox" value="{org.id}"'
        in html
    )


# ---- double opt-in -------------------------------------------------------------------------


def test_double_opt_in_end_to_end(client, post_form, mailbox):
    org = factories.make_org()
    response = subscribe(post_form, {**FULL, "organizations": [str(org.id)]})
    assert response.status_code == 302
    assert response.headers["Location"] == "/digest/subscribe/sent"
    assert "Check your inbox" in client.get("/digest/subscribe/sent").text

    subscription = only_subscription()
    assert subscription.email == "noa@example.org"
    assert subscription.status == SUB_PENDING  # nothing is sent before the confirmation
    assert subscription.confirmed_at is None
    assert subscription.name == "Noa"
    assert subscription.organization_ids == {org.id}
    assert subscription.cause_slugs == {"peace", "equality"}
    assert subscription.region_slugs == {"jerusalem"}
    assert (subscription.locale, subscription.timezone) == ("he", "Europe/London")
    assert (subscription.weekday, subscription.hour, subscription.max_actions) == (4, 18, 5)

    (message,) = mailbox.wait_for(1)
    assert message["To"] == "noa@example.org"
    path = emailed_path(message, "/digest/confirm/")

    response = client.get(path)
    assert response.status_code == 200
    assert "You are subscribed" in response.text
    assert "/digest/preferences/" in response.text
    subscription = only_subscription()
    assert subscription.status == SUB_ACTIVE
    first_confirmed = subscription.confirmed_at
    assert first_confirmed is not None

    again = client.get(path)  # confirming twice is harmless
    assert again.status_code == 200
    subscription = only_subscription()
    assert subscription.status == SUB_ACTIVE
    assert subscription.confirmed_at == first_confirmed
    assert subscription_count() == 1


def test_the_confirmation_is_in_the_chosen_language(post_form, mailbox):
    subscribe(post_form, FULL)
    (message,) = mailbox.wait_for(1)
    assert 'dir="rtl"' in message.get_body(("html",)).get_content()


def test_an_expired_confirmation_link_offers_to_subscribe_again(
    client, post_form, mailbox, monkeypatch
):
    subscribe(post_form, FULL)
    path = emailed_path(mailbox.wait_for(1)[0], "/digest/confirm/")
    later = int(time.time()) + 7 * 24 * 3600 + 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)

    response = client.get(path)
    assert response.status_code == 400
    assert "expired" in response.text
    assert 'href="/digest/subscribe"' in response.text
    assert only_subscription().status == SUB_PENDING


def test_a_link_six_days_old_still_confirms(client, post_form, mailbox, monkeypatch):
    subscribe(post_form, FULL)
    path = emailed_path(mailbox.wait_for(1)[0], "/digest/confirm/")
    later = int(time.time()) + 6 * 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    assert client.get(path).status_code == 200
    assert only_subscription().status == SUB_ACTIVE


@pytest.mark.parametrize("token", ["nonsense", "WzEsMF0.abc.def"])
def test_a_tampered_confirmation_link_is_refused(client, token):
    make_subscription(status=SUB_PENDING)
    response = client.get(f"/digest/confirm/{token}")
    assert response.status_code == 400
    assert "not valid" in response.text
    assert only_subscription().status == SUB_PENDING


def test_a_link_for_another_purpose_does_not_confirm(client):
    subscription = make_subscription(status=SUB_PENDING)
    prefs = subscriptions.link_token(subscriptions.PREFS_PURPOSE, subscription)
    assert client.get(f"/digest/confirm/{prefs}").status_code == 400
    assert only_subscription().status == SUB_PENDING


# ---- no enumeration ------------------------------------------------------------------------


def answer_for(client, post_form, email) -> tuple[int, str, str]:
    response = subscribe(post_form, {**FULL, "email": email})
    page = client.get(response.headers["Location"]).text
    return response.status_code, response.headers["Location"], page


def test_the_answer_never_tells_whether_an_address_is_subscribed(client, post_form, mailbox):
    make_subscription("pending@example.org", status=SUB_PENDING)
    make_subscription("active@example.org", status=SUB_ACTIVE)
    make_subscription("gone@example.org", status=SUB_UNSUBSCRIBED, token_version=1)
    make_subscription("bounced@example.org", status=SUB_SUSPENDED, bounce_count=3)

    answers = {
        email: answer_for(client, post_form, email)
        for email in (
            "new@example.org",
            "pending@example.org",
            "ACTIVE@example.org",
            "gone@example.org",
            "bounced@example.org",
        )
    }
    assert len(set(answers.values())) == 1
    status, location, page = answers["new@example.org"]
    assert (status, location) == (302, "/digest/subscribe/sent")
    assert "Check your inbox" in page
    # One row per address, whatever happened.
    assert subscription_count() == 5
    assert len(mailbox.wait_for(5)) == 5


def test_an_active_subscriber_gets_the_preferences_link_and_nothing_changes(
    client, post_form, mailbox
):
    subscription = make_subscription("active@example.org", weekday=0, hour=7, max_actions=2)
    subscribe(post_form, {**FULL, "email": "Active@example.org", "causes": ["women"]})

    (message,) = mailbox.wait_for(1)
    body = text_part(message)
    assert "/digest/preferences/" in body
    assert "/digest/confirm/" not in body
    assert "already subscribed" in body

    subscription = only_subscription()
    assert subscription.status == SUB_ACTIVE
    assert (subscription.weekday, subscription.hour, subscription.max_actions) == (0, 7, 2)
    assert subscription.cause_slugs == set()
    assert subscription.name == ""

    path = emailed_path(message, "/digest/preferences/")
    assert client.get(path).status_code == 200


def test_a_pending_address_gets_a_fresh_link_and_the_latest_choices(post_form, mailbox):
    subscribe(post_form, FULL)
    subscribe(post_form, {**FULL, "hour": "7", "causes": ["women"]})
    assert len(mailbox.wait_for(2)) == 2
    subscription = only_subscription()
    assert subscription.status == SUB_PENDING
    assert subscription.hour == 7
    assert subscription.cause_slugs == {"women"}


def test_subscribing_again_after_unsubscribing_needs_a_new_confirmation(client, post_form, mailbox):
    subscribe(post_form, FULL)
    old_confirm = emailed_path(mailbox.wait_for(1)[0], "/digest/confirm/")
    client.get(old_confirm)
    subscription = only_subscription()
    subscriptions.unsubscribe(subscription.id, now_utc())
    version = only_subscription().token_version
    mailbox.clear()

    subscribe(post_form, FULL)
    subscription = only_subscription()
    assert subscription.status == SUB_PENDING
    assert subscription.token_version == version + 1
    assert subscription.confirmed_at is None
    assert subscription_count() == 1

    # The link from the first subscription cannot confirm the new one.
    assert client.get(old_confirm).status_code == 404
    assert only_subscription().status == SUB_PENDING
    new_confirm = emailed_path(mailbox.wait_for(1)[0], "/digest/confirm/")
    assert client.get(new_confirm).status_code == 200
    assert only_subscription().status == SUB_ACTIVE


# ---- the boxes on the home page and organization pages -----------------------------------


def test_the_home_page_box_subscribes_with_the_defaults(client, post_form, mailbox):
    html = client.get("/").text
    assert 'action="/digest/subscribe"' in html and 'name="email"' in html
    response = post_form("/digest/subscribe", {"email": "box@example.org"}, page="/")
    assert response.status_code == 302
    subscription = only_subscription()
    assert subscription.status == SUB_PENDING
    assert (subscription.weekday, subscription.hour, subscription.max_actions) == (1, 9, 3)
    assert subscription.timezone == "Asia/Jerusalem"
    assert subscription.locale == "en"
    assert subscription.organization_ids == set()
    assert subscription.cause_slugs == set() and subscription.region_slugs == set()
    assert len(mailbox.wait_for(1)) == 1


def test_the_box_uses_the_language_of_the_page(client, post_form, mailbox):
    client.get("/?lang=ar")  # remembered in the cookie
    post_form("/digest/subscribe", {"email": "box@example.org"}, page="/")
    assert only_subscription().locale == "ar"


def test_an_organization_page_box_follows_that_organization(client, post_form, mailbox):
    org = factories.make_org(slug="circle", name="Parents Circle")
    factories.make_org(slug="other")
    html = client.get("/orgs/circle").text
    assert 'name="org" value="circle"' in html
    response = post_form(
        "/digest/subscribe", {"email": "box@example.org", "org": "circle"}, page="/orgs/circle"
    )
    assert response.status_code == 302
    assert only_subscription().organization_ids == {org.id}


def test_an_unknown_organization_in_the_box_is_refused(post_form, mailbox):
    response = post_form("/digest/subscribe", {"email": "box@example.org", "org": "nope"})
    assert response.status_code == 400
    assert "does not exist" in response.text
    assert subscription_count() == 0


# ---- hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"email": ""}, "required"),
        ({"email": "a" * 250 + "@example.org"}, "email"),
        ({"email": "noa@example.org\r\nBcc: x@example.org"}, "email"),
        ({"organizations": ["999999"]}, "not a valid choice"),
        ({"organizations": ["abc"]}, "Invalid"),
        ({"causes": ["world_domination"]}, "not a valid choice"),
        ({"regions": ["atlantis"]}, "not a valid choice"),
        ({"weekday": "7"}, "Not a valid choice"),
        ({"weekday": "Tuesday"}, "Invalid"),
        ({"hour": "24"}, "Not a valid choice"),
        ({"hour": "-1"}, "Not a valid choice"),
        ({"timezone": "Mars/Olympus_Mons"}, "time zone"),
        ({"timezone": "x" * 65}, "64"),
        ({"max_actions": "0"}, "between 1 and 10"),
        ({"max_actions": "11"}, "between 1 and 10"),
        ({"max_actions": "many"}, "between 1 and 10"),
        ({"locale": "fr"}, "Not a valid choice"),
        ({"name": "N" * 121}, "120"),
        ({"org": "x" * 65}, "64"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(post_form, mailbox, changes, message):
    response = subscribe(post_form, {**FULL, **changes})
    assert response.status_code == 400
    assert message in response.text
    assert "Please correct the marked fields" in response.text
    assert subscription_count() == 0
    assert mailbox.wait_for(1, timeout=0.2) == []


def test_nul_bytes_are_refused(post_form, mailbox):
    response = subscribe(post_form, {**FULL, "name": "No\x00a"})
    assert response.status_code == 400
    assert subscription_count() == 0


def test_a_form_without_csrf_token_is_refused(client, mailbox):
    response = client.post("/digest/subscribe", data={"email": "x@example.org"})
    assert response.status_code == 400
    assert subscription_count() == 0


def test_the_service_checks_everything_again(app):
    org = factories.make_org()
    good = {
        "name": "",
        "organization_ids": {org.id},
        "causes": {"peace"},
        "regions": set(),
        "locale": "en",
        "timezone": "UTC",
        "weekday": 1,
        "hour": 9,
        "max_actions": 3,
    }
    for bad in (
        {"organization_ids": {org.id + 1}},
        {"organization_ids": {"1"}},
        {"causes": {"nope"}},
        {"regions": {"nope"}},
        {"locale": "de"},
        {"timezone": "Nowhere/Land"},
        {"weekday": 7},
        {"weekday": True},
        {"hour": 24},
        {"max_actions": 11},
    ):
        with pytest.raises(subscriptions.InvalidInput):
            subscriptions.subscribe("a@example.org", **{**good, **bad}, now=now_utc())
    with pytest.raises(subscriptions.InvalidInput):
        subscriptions.subscribe("not an address", **good, now=now_utc())
    assert subscription_count() == 0


# ---- preferences by signed link ------------------------------------------------------------


def test_preferences_by_link_without_login(client, post_form):
    org = factories.make_org(name="Combatants for Peace")
    subscription = make_subscription(max_actions=3)
    with client.application.test_request_context():
        url = subscriptions.preferences_url(subscription)
    assert url.startswith("http://localhost/digest/preferences/")
    path = url.removeprefix("http://localhost")

    html = client.get(path).text
    assert "dana@example.org" in html
    assert "Combatants for Peace" in html
    assert "/digest/unsubscribe/" in html
    assert 'name="email"' not in html  # the address is not editable here

    response = post_form(
        path,
        {
            "organizations": [str(org.id)],
            "regions": ["negev", "galilee"],
            "locale": "ar",
            "weekday": "6",
            "hour": "20",
            "timezone": "America/New_York",
            "max_actions": "10",
            "name": "Dana",
        },
    )
    assert response.status_code == 302
    subscription = only_subscription()
    assert subscription.organization_ids == {org.id}
    assert subscription.region_slugs == {"negev", "galilee"}
    assert (subscription.weekday, subscription.hour, subscription.max_actions) == (6, 20, 10)
    assert (subscription.locale, subscription.timezone) == ("ar", "America/New_York")
    assert subscription.email == "dana@example.org"

    # Unticking everything clears the follows.
    response = post_form(
        path,
        {"locale": "ar", "weekday": "6", "hour": "20", "timezone": "UTC", "max_actions": "1"},
    )
    assert response.status_code == 302
    subscription = only_subscription()
    assert subscription.organization_ids == set() and subscription.region_slugs == set()


def test_bad_preferences_change_nothing(client, post_form):
    subscription = make_subscription(hour=9)
    path = subscriptions.preferences_url(subscription).removeprefix("http://localhost")
    response = post_form(path, {"hour": "25", "weekday": "1", "locale": "en", "max_actions": "3"})
    assert response.status_code == 400
    assert only_subscription().hour == 9


def test_tampered_and_stale_preference_links_are_refused(client, post_form):
    subscription = make_subscription()
    path = subscriptions.preferences_url(subscription).removeprefix("http://localhost")
    assert client.get(path + "x").status_code == 400
    unsubscribe = subscriptions.unsubscribe_url(subscription).removeprefix("http://localhost")
    foreign = unsubscribe.replace("/unsubscribe/", "/preferences/")
    assert client.get(foreign).status_code == 400

    subscriptions.unsubscribe(subscription.id, now_utc())
    response = client.get(path)
    assert response.status_code == 404
    assert "ended" in response.text
    response = post_form(path, {"hour": "3"}, page="/digest/subscribe")
    assert response.status_code == 404

    # Re-subscribed: the link from before still does not reach the new subscription.
    subscriptions.subscribe(
        "dana@example.org",
        name="",
        organization_ids=(),
        causes=(),
        regions=(),
        locale="en",
        timezone="UTC",
        weekday=1,
        hour=9,
        max_actions=3,
        now=now_utc(),
    )
    assert client.get(path).status_code == 404


def test_urls_work_outside_a_request(app):
    subscription = make_subscription()
    for url in (
        subscriptions.preferences_url(subscription),
        subscriptions.unsubscribe_url(subscription),
        subscriptions.confirm_url(subscription),
    ):
        assert url.startswith("http://localhost/digest/")


# ---- bounces -------------------------------------------------------------------------------


def test_three_hard_bounces_suspend_the_subscription(app):
    subscription = make_subscription()
    now = now_utc()
    for expected in (1, 2):
        assert subscriptions.record_bounce(subscription.id, now).status == SUB_ACTIVE
        assert only_subscription().bounce_count == expected
    assert subscriptions.record_bounce(subscription.id, now).status == SUB_SUSPENDED
    assert subscriptions.record_bounce(10**6, now) is None


def test_a_suspended_address_can_start_over(post_form, client, mailbox):
    make_subscription("dana@example.org", status=SUB_SUSPENDED, bounce_count=3)
    subscribe(post_form, {**FULL, "email": "dana@example.org"})
    subscription = only_subscription()
    assert (subscription.status, subscription.bounce_count) == (SUB_PENDING, 0)
    client.get(emailed_path(mailbox.wait_for(1)[0], "/digest/confirm/"))
    assert only_subscription().status == SUB_ACTIVE


# ---- logged-in users -----------------------------------------------------------------------


def test_the_profile_links_to_the_digest(client, auth):
    auth.login(factories.make_user())
    assert 'href="/digest/mine"' in client.get("/auth/profile").text


def test_mine_needs_a_login(client):
    response = client.get("/digest/mine")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_mine_creates_and_edits_the_subscription_of_the_account(client, auth, post_form):
    user = factories.make_user(email="Rami@Example.org", name="Rami", locale="he")
    make_subscription("someone@example.org")
    auth.login(user)

    html = client.get("/digest/mine").text
    assert 'lang="he"' in html  # the profile's language
    html = client.get("/digest/mine?lang=en").text
    assert "You do not get the digest yet" in html
    assert 'value="Rami"' in html

    response = post_form(
        "/digest/mine",
        {"name": "Rami", "causes": ["peace"], "locale": "he", "weekday": "0", "hour": "8",
         "timezone": "Asia/Jerusalem", "max_actions": "4"},
    )  # fmt: skip
    assert response.status_code == 302
    subscription = db.session.scalar(
        select(Subscription).where(Subscription.email == "rami@example.org")
    )
    assert subscription.status == SUB_ACTIVE  # the account's address is already confirmed
    assert subscription.user_id == user.id
    assert subscription.cause_slugs == {"peace"}
    assert subscription_count() == 2

    html = client.get("/digest/mine").text
    assert "rami@example.org" in html and "/digest/unsubscribe/" in html
    response = post_form(
        "/digest/mine",
        {"locale": "en", "weekday": "2", "hour": "8", "timezone": "UTC", "max_actions": "2"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (subscription.weekday, subscription.max_actions) == (2, 2)
    assert subscription.cause_slugs == set()
    assert subscription_count() == 2

    response = post_form("/digest/mine", {"locale": "en", "weekday": "9", "max_actions": "2"})
    assert response.status_code == 400
    db.session.expire_all()
    assert subscription.weekday == 2


def test_mine_finds_a_subscription_made_with_the_form(client, auth, post_form, mailbox):
    user = factories.make_user(email="rami@example.org")
    subscribe(post_form, {**FULL, "email": "RAMI@example.org"})
    auth.login(user)
    html = client.get("/digest/mine").text
    assert "rami@example.org" in html
    assert '<option selected value="18">18:00</option>' in html
    assert subscriptions.find_for_user(user).id == only_subscription().id


def test_mine_asks_an_unconfirmed_account_to_confirm_first(client, auth, post_form):
    user = factories.make_user(email_confirmed_at=None)
    auth.login(user)
    html = client.get("/digest/mine").text
    assert "Confirm your account" in html
    response = post_form(
        "/digest/mine",
        {"locale": "en", "weekday": "1", "hour": "9", "timezone": "UTC", "max_actions": "3"},
        page="/auth/profile",  # this page has no form, so take a token from another
    )
    assert response.status_code == 400
    assert subscription_count() == 0
    assert subscriptions.find_for_user(user) is None


def test_the_same_address_arriving_twice_at_once_makes_one_row(app, monkeypatch, mailbox):
    make_subscription("dana@example.org", status=SUB_PENDING)
    real = subscriptions._by_email
    calls: list[str] = []

    def blind_the_first_time(address):  # as if the other request committed in between
        calls.append(address)
        return None if len(calls) == 1 else real(address)

    monkeypatch.setattr(subscriptions, "_by_email", blind_the_first_time)
    subscriptions.subscribe(
        "Dana@example.org",
        name="Dana",
        organization_ids=(),
        causes=("peace",),
        regions=(),
        locale="en",
        timezone="UTC",
        weekday=1,
        hour=9,
        max_actions=3,
        now=now_utc(),
    )
    assert len(calls) == 2
    subscription = only_subscription()
    assert (subscription.name, subscription.cause_slugs) == ("Dana", {"peace"})
    assert len(mailbox.wait_for(1)) == 1
