"""Leaving the digest: RFC 8058 one-click POST, the one-button page, links from before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.models.digest import SUB_ACTIVE, SUB_PENDING, SUB_UNSUBSCRIBED, Subscription
from organizer.services import subscriptions
from organizer.web import now_utc

from .test_auth_register import emailed_path
from .test_digest_subscribe import FULL, make_subscription, only_subscription, subscribe

ONE_CLICK = "List-Unsubscribe=One-Click"


def unsubscribe_path(subscription: Subscription) -> str:
    url = subscriptions.unsubscribe_url(subscription)
    assert url.startswith("http://localhost/digest/unsubscribe/")
    return url.removeprefix("http://localhost")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": ONE_CLICK, "content_type": "application/x-www-form-urlencoded"},
        {"data": {"List-Unsubscribe": "One-Click"}, "content_type": "multipart/form-data"},
        {},  # no body at all
    ],
    ids=["one-click-body", "multipart-body", "no-body"],
)
def test_one_click_post_needs_no_csrf_token_and_no_login(app, kwargs):
    subscription = make_subscription()
    path = unsubscribe_path(subscription)
    version = subscription.token_version
    client = app.test_client()  # a mail client: no cookies, no session, no token

    response = client.post(path, **kwargs)
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    subscription = only_subscription()
    assert subscription.status == SUB_UNSUBSCRIBED
    assert subscription.unsubscribed_at is not None
    assert subscription.token_version == version + 1


def test_unsubscribing_is_idempotent(app):
    subscription = make_subscription()
    path = unsubscribe_path(subscription)
    client = app.test_client()
    assert client.post(path, data=ONE_CLICK).status_code == 200
    first = only_subscription()
    when, version = first.unsubscribed_at, first.token_version

    again = client.post(path, data=ONE_CLICK)
    assert again.status_code == 200
    assert "Already unsubscribed" in again.text
    subscription = only_subscription()
    assert subscription.status == SUB_UNSUBSCRIBED
    assert (subscription.unsubscribed_at, subscription.token_version) == (when, version)
    assert subscriptions.unsubscribe(subscription.id, now_utc()) is False


def test_the_link_shows_one_button_and_changes_nothing_until_pressed(client):
    subscription = make_subscription()
    path = unsubscribe_path(subscription)
    response = client.get(path)
    assert response.status_code == 200
    content = response.text.split('id="main"', 1)[1]
    assert content.count("<form") == 1 and content.count("<button") == 1
    assert 'method="post"' in content and 'name="csrf_token"' in content
    assert "dana@example.org" in content
    assert only_subscription().status == SUB_ACTIVE  # a link scanner's GET does nothing

    token = content.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 200
    assert only_subscription().status == SUB_UNSUBSCRIBED
    response = client.get(path)
    assert response.status_code == 200
    assert "Already unsubscribed" in response.text


@pytest.mark.parametrize(
    "mangle", [lambda p: p + "x", lambda p: p[:-3], lambda p: "/digest/unsubscribe/abc"]
)
def test_a_tampered_link_is_refused_clearly(client, mangle):
    path = mangle(unsubscribe_path(make_subscription()))
    for response in (client.get(path), client.post(path, data=ONE_CLICK)):
        assert response.status_code == 400
        assert "not valid" in response.text
    assert only_subscription().status == SUB_ACTIVE


def test_a_link_cannot_be_pointed_at_another_subscription(app):
    mine = make_subscription("mine@example.org")
    other = make_subscription("other@example.org")
    path = unsubscribe_path(mine)
    token = path.rsplit("/", 1)[1]
    forged = token.replace(f"{mine.id}.", f"{other.id}.", 1)
    assert forged != token
    response = app.test_client().post(f"/digest/unsubscribe/{forged}", data=ONE_CLICK)
    assert response.status_code == 400
    assert db.session.get(Subscription, other.id).status == SUB_ACTIVE


def test_a_link_for_another_purpose_does_not_unsubscribe(client):
    subscription = make_subscription()
    token = subscriptions.link_token(subscriptions.PREFS_PURPOSE, subscription)
    assert client.post(f"/digest/unsubscribe/{token}", data=ONE_CLICK).status_code == 400
    assert only_subscription().status == SUB_ACTIVE


def test_an_old_link_does_not_touch_a_new_subscription(app, client, post_form, mailbox):
    subscription = make_subscription("noa@example.org")
    old = unsubscribe_path(subscription)
    assert app.test_client().post(old, data=ONE_CLICK).status_code == 200

    subscribe(post_form, {**FULL, "email": "noa@example.org"})  # a new double opt-in
    assert only_subscription().status == SUB_PENDING
    client.get(emailed_path(mailbox.wait_for(1)[0], "/digest/confirm/"))
    renewed = only_subscription()
    assert renewed.status == SUB_ACTIVE

    response = app.test_client().post(old, data=ONE_CLICK)
    assert response.status_code == 200
    assert "Already unsubscribed" in response.text
    assert app.test_client().get(old).status_code == 200
    db.session.expire_all()
    assert only_subscription().status == SUB_ACTIVE
    assert only_subscription().token_version == renewed.token_version

    # The new subscription's own link works.
    assert app.test_client().post(unsubscribe_path(renewed)).status_code == 200
    assert only_subscription().status == SUB_UNSUBSCRIBED


def test_the_preferences_page_and_unsubscribe_page_link_to_each_other(client):
    subscription = make_subscription()
    prefs = subscriptions.preferences_url(subscription).removeprefix("http://localhost")
    html = client.get(prefs).text
    assert unsubscribe_path(subscription) in html


def test_a_pending_subscription_can_be_stopped_too(app):
    subscription = make_subscription(status=SUB_PENDING)
    assert app.test_client().post(unsubscribe_path(subscription)).status_code == 200
    assert only_subscription().status == SUB_UNSUBSCRIBED
    assert db.session.scalar(select(Subscription.confirmed_at)) is None
