"""The owners' webhook pages: who may see them, registering (URL rules), the secret, rotating,
pausing, testing, deleting, and the delivery log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Membership, WebhookDelivery, WebhookEndpoint
from organizer.models import webhook as wh
from organizer.services import webhooks as service
from organizer.services.errors import InvalidInput

from . import factories
from .helpers import count_queries
from .webhook_receiver import serve


@pytest.fixture()
def receiver():
    """A real HTTP receiver on 127.0.0.1 that checks signatures and records the calls."""
    with serve() as running:
        yield running


@pytest.fixture()
def org(app):
    owner = factories.make_user(email="owner@example.org")
    org = factories.make_org(slug="host", name="Host Org", owner=owner)
    organizer = factories.make_user(email="organizer@example.org")
    db.session.add(Membership(organization_id=org.id, user_id=organizer.id, role="organizer"))
    db.session.commit()
    org.owner, org.organizer = owner, organizer
    return org


def endpoints() -> list[WebhookEndpoint]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def add(org, url="https://example.org/hook") -> WebhookEndpoint:
    return service.create_endpoint(org, org.owner, url, wh.EVENT_TYPES, factories.now())


# --- who may ------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client, org):
    endpoint = add(org)
    for path in ("/orgs/host/webhooks", f"/orgs/host/webhooks/{endpoint.id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post(f"/orgs/host/webhooks/{endpoint.id}/rotate").status_code in (302, 400)
    assert endpoints()[0].secret == endpoint.secret


@pytest.mark.parametrize("who", ["volunteer", "organizer", "other_owner"])
def test_only_owners_of_the_organization(client, auth, post_form, org, who):
    endpoint = add(org)
    user = org.organizer if who == "organizer" else factories.make_user()
    if who == "other_owner":
        factories.make_org(owner=user)
    auth.login(user)
    assert client.get("/orgs/host/webhooks").status_code == 403
    assert client.get(f"/orgs/host/webhooks/{endpoint.id}").status_code == 403
    response = post_form(
        "/orgs/host/webhooks",
        {"url": "https://evil.example/x", "events": ["signup.created"]},
        page="/",
    )
    assert response.status_code == 403
    for action in ("rotate", "pause", "ping", "delete"):
        response = post_form(f"/orgs/host/webhooks/{endpoint.id}/{action}", {}, page="/")
        assert response.status_code == 403
    (same,) = endpoints()
    assert same.secret == endpoint.secret and same.active


def test_another_organizations_endpoint_is_not_found(client, auth, post_form, org):
    other = factories.make_org(slug="other", owner=factories.make_user())
    theirs = service.create_endpoint(
        other, None, "https://example.org/theirs", wh.EVENT_TYPES, factories.now()
    )
    auth.login(org.owner)
    assert client.get(f"/orgs/host/webhooks/{theirs.id}").status_code == 404
    response = post_form(f"/orgs/host/webhooks/{theirs.id}/delete", {}, page="/orgs/host/webhooks")
    assert response.status_code == 404
    assert client.get(f"/orgs/other/webhooks/{theirs.id}").status_code == 403
    assert len(endpoints()) == 1


def test_manage_page_links_owners_to_webhooks(client, auth, org):
    auth.login(org.owner)
    assert "/orgs/host/webhooks" in client.get("/orgs/host/manage").get_data(as_text=True)
    auth.logout()
    auth.login(org.organizer)
    assert "/orgs/host/webhooks" not in client.get("/orgs/host/manage").get_data(as_text=True)


# --- registering --------------------------------------------------------------------------------


def test_owner_registers_an_endpoint_and_sees_its_secret(client, auth, post_form, org):
    auth.login(org.owner)
    page = client.get("/orgs/host/webhooks")
    assert page.status_code == 200
    response = post_form(
        "/orgs/host/webhooks",
        {"url": " https://crm.example.org/hooks/organizer ", "events": ["signup.created"]},
    )
    assert response.status_code == 302
    (endpoint,) = endpoints()
    assert endpoint.url == "https://crm.example.org/hooks/organizer"
    assert endpoint.event_types == ["signup.created"]
    assert endpoint.active and endpoint.created_by_id == org.owner.id
    assert re.fullmatch(r"whsec_[0-9a-f]{48}", endpoint.secret)
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert endpoint.secret in detail
    assert "https://crm.example.org/hooks/organizer" in client.get("/orgs/host/webhooks").text


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hook",
        "javascript:alert(1)",
        "http://example.org/hook",  # http only to this machine
        "https://user:secret@example.org/hook",
        "https://@example.org/hook",
        "https://example.org:99999/hook",
        "https://example.org/hook#part",
        "example.org/hook",
        "https://exa mple.org/hook",
        "",
    ],
)
def test_bad_addresses_are_refused_with_a_message(client, auth, post_form, org, url):
    auth.login(org.owner)
    response = post_form("/orgs/host/webhooks", {"url": url, "events": ["signup.created"]})
    assert response.status_code == 400
    assert 'class="error"' in response.text
    assert endpoints() == []


def test_at_least_one_event(client, auth, post_form, org):
    auth.login(org.owner)
    response = post_form("/orgs/host/webhooks", {"url": "https://example.org/h"})
    assert response.status_code == 400 and "Choose at least one event." in response.text
    response = post_form(
        "/orgs/host/webhooks", {"url": "https://example.org/h", "events": ["signup.hacked"]}
    )
    assert response.status_code == 400
    assert endpoints() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost:5000/hook",
        "http://[::1]:8000/hook",
        "https://10.0.0.5/hook",
        "https://example.org/hook",
    ],
)
def test_development_allows_this_machine(url):
    assert service.check_url(url, allow_http_localhost=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://api.localhost/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.1/hook",
        "https://172.16.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/hook",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
    ],
)
def test_production_refuses_private_and_local_addresses(url):
    with pytest.raises(InvalidInput):
        service.check_url(url, allow_http_localhost=False)


def test_production_accepts_public_https():
    for url in ("https://example.org/hook", "https://93.184.216.34:8443/x?y=1"):
        assert service.check_url(url, allow_http_localhost=False) == url


def test_production_config_refuses_http_localhost(app):
    app.config["WEBHOOKS_ALLOW_HTTP_LOCALHOST"] = False
    with pytest.raises(InvalidInput):
        service.check_url("http://127.0.0.1:8000/hook")


# --- managing -----------------------------------------------------------------------------------


def test_rotate_pause_resume_delete(client, auth, post_form, org):
    endpoint = add(org)
    old = endpoint.secret
    page = f"/orgs/host/webhooks/{endpoint.id}"
    auth.login(org.owner)
    assert post_form(f"{page}/rotate", {}, page=page).status_code == 302
    (rotated,) = endpoints()
    assert rotated.secret != old and rotated.secret_rotated_at is not None
    assert rotated.secret in client.get(page).text and old not in client.get(page).text
    post_form(f"{page}/pause", {}, page=page)
    assert endpoints()[0].paused
    assert "Paused" in client.get(page).text
    # A paused endpoint gets nothing queued.
    event = factories.make_event(org)
    service.emit_action(wh.ACTION_CANCELLED, event, factories.now())
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    post_form(f"{page}/resume", {}, page=page)
    assert endpoints()[0].active
    assert post_form(f"{page}/delete", {}, page=page).status_code == 302
    assert endpoints() == []


def test_buttons_need_the_form_token(client, auth, org):
    endpoint = add(org)
    auth.login(org.owner)
    response = client.post(f"/orgs/host/webhooks/{endpoint.id}/rotate")
    assert response.status_code == 400
    assert endpoints()[0].secret == endpoint.secret


def test_test_call_reaches_the_receiver(client, auth, post_form, org, receiver):
    endpoint = add(org, receiver.url("/ping"))
    receiver.expect(endpoint, "/ping")
    page = f"/orgs/host/webhooks/{endpoint.id}"
    auth.login(org.owner)
    response = post_form(f"{page}/ping", {}, page=page)
    assert response.status_code == 302
    response.close()
    (call,) = receiver.wait_for(1)
    assert call.valid and call.type == "ping"
    assert call.json["data"]["organization"]["slug"] == "host"
    html = client.get(page).text
    assert call.delivery_id in html and "Delivered" in html and ">200<" in html


def test_delivery_log_is_paginated_in_few_queries(client, auth, org):
    endpoint = add(org)
    now = factories.now()
    for _ in range(30):
        service.send_ping(endpoint, now)
    ids = [d.delivery_id for d in db.session.scalars(select(WebhookDelivery))]
    page = f"/orgs/host/webhooks/{endpoint.id}"
    auth.login(org.owner)
    client.get(page)
    with count_queries() as queries:
        first = client.get(page).text
    assert len(queries) <= 8
    assert ids[-1] in first and ids[5] in first and ids[4] not in first
    assert "Older deliveries" in first
    second = client.get(f"{page}?page=2").text
    assert ids[4] in second and ids[0] in second and ids[-1] not in second
    assert "Newer deliveries" in second and "Older deliveries" not in second
    assert client.get(f"{page}?page=999999999").status_code == 200
    assert client.get(f"{page}?page=abc").status_code == 200
