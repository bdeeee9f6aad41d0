"""A guest's data, by a signed link sent to their address: asking for it tells nobody whether
the address is known; the link downloads and deletes, and expires."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Signup, Subscription, User
from organizer.models import signup as st
from organizer.services.privacy import ANONYMOUS_DOMAIN, guest_token

from . import factories
from .conftest import csrf_token
from .helpers import html_part, text_part

LINK = re.compile(r"http://localhost(/privacy/guest/[A-Za-z0-9_.\-]+)")


def ask(post_form, email: str):
    """Ask for the link; the email goes out when the server closes the response, as here."""
    response = post_form("/privacy/guest", {"email": email})
    response.close()
    return response


def link_in(message) -> str:
    match = LINK.search(text_part(message))
    assert match, "no link in the email"
    assert match.group(1) in html_part(message)
    return match.group(1)


def test_known_and_unknown_addresses_get_the_same_answer(client, post_form, mailbox):
    event = factories.make_event(title="Vigil")
    factories.make_signup(event, email="dana@example.org")
    assert client.get("/privacy/guest").status_code == 200
    known = ask(post_form, "Dana@Example.org")
    unknown = ask(post_form, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.headers["Cache-Control"] == "private, no-store"
    pages = [
        r.get_data(as_text=True).replace(address, "ADDRESS")
        for r, address in ((known, "Dana@Example.org"), (unknown, "nobody@example.org"))
    ]
    pages = [re.sub(r'value="[^"]+"', "", p) for p in pages]  # CSRF tokens in the layout
    assert pages[0] == pages[1]
    (message,) = mailbox.wait_for(1)
    assert message["To"] == "dana@example.org"
    assert message["Subject"] == "Your data on Organizer"
    assert link_in(message).startswith("/privacy/guest/")
    assert mailbox.wait_for(2, timeout=0.3) == [message]  # nothing to the unknown address


def test_a_bad_address_is_refused_in_the_users_language(client, mailbox):
    token = csrf_token(client, "/privacy/guest?lang=he")
    response = client.post("/privacy/guest", data={"email": "not an address", "csrf_token": token})
    assert response.status_code == 400
    assert 'lang="he"' in response.get_data(as_text=True)
    response = client.post("/privacy/guest", data={"email": "dana@example.org"})
    assert response.status_code == 400  # no CSRF token
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_the_link_downloads_only_that_addresss_data(client, post_form, mailbox):
    hidden = factories.make_event(
        title="Vigil", address="Secret Garden 7", location_visibility="confirmed"
    )
    waiting = factories.make_event(
        title="Full", address="Hidden Yard 3", location_visibility="confirmed"
    )
    factories.make_signup(hidden, email="dana@example.org", name="Dana", phone="050 111")
    factories.make_signup(waiting, status="waitlisted", email="dana@example.org", name="Dana")
    factories.make_signup(hidden, email="other@example.org", name="Other Person")
    factories.make_subscription("dana@example.org", causes=("peace",))
    ask(post_form, "dana@example.org")
    (message,) = mailbox.wait_for(1)
    path = link_in(message)

    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "dana@example.org" in html and "Delete my data" in html
    response = client.get(path + "/data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    data = json.loads(body)
    assert data["email"] == "dana@example.org"
    assert sorted(s["action"]["title"] for s in data["signups"]) == ["Full", "Vigil"]
    assert data["signups"][0]["phone"] in ("050 111", "")
    assert data["digest_subscriptions"][0]["causes"] == ["peace"]
    assert "Secret Garden 7" in body  # confirmed there
    assert "Hidden Yard 3" not in body  # only waitlisted
    assert "Other Person" not in body and "other@example.org" not in body


def test_forged_and_expired_links_are_refused(app, client):
    factories.make_signup(factories.make_event(), email="dana@example.org")
    response = client.get("/privacy/guest/not-a-token")
    assert response.status_code == 404
    assert "not valid" in response.get_data(as_text=True)
    assert client.get("/privacy/guest/not-a-token/data.json").status_code == 404
    token = guest_token("dana@example.org")
    app.config["GUEST_DATA_LINK_MAX_AGE"] = -1
    response = client.get(f"/privacy/guest/{token}")
    assert response.status_code == 404
    assert "expired" in response.get_data(as_text=True)
    form = {"csrf_token": csrf_token(client, "/privacy/guest")}
    response = client.post(f"/privacy/guest/{token}/delete", data=form)
    assert response.status_code == 404
    assert db.session.scalar(select(Signup)).name != ""


def test_delete_my_data_promotes_the_waitlist_and_leaves_counts(client, mailbox):
    account = factories.make_user(email="dana@example.org", name="Dana's account")
    event = factories.make_event(title="Vigil", capacity=1)
    mine = factories.make_signup(event, email="dana@example.org", name="Dana", phone="050")
    waiting = factories.make_signup(event, status="waitlisted", email="next@example.org")
    factories.make_subscription("dana@example.org")
    path = f"/privacy/guest/{guest_token('dana@example.org')}"
    assert client.post(path + "/delete", data={}).status_code == 400  # no CSRF token
    assert db.session.get(Signup, mine.id).name == "Dana"

    response = client.post(path + "/delete", data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(Signup, mine.id)
    assert row.status == st.CANCELLED
    assert (row.name, row.phone) == ("", "")
    assert row.email.endswith("@" + ANONYMOUS_DOMAIN)
    assert db.session.get(Signup, waiting.id).status == st.CONFIRMED
    assert [m["To"] for m in mailbox.wait_for(1)] == ["next@example.org"]
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
    assert db.session.get(User, account.id) is not None  # the account is its owner's to delete
    page = client.get(path).get_data(as_text=True)
    assert "Your personal data was deleted." in page
    assert "We keep no sign-ups or subscriptions for this address." in page
