"""The embeddable sign-up (/events/<id>/embed): framable by other sites, and usable there
without a session cookie, with the same rules, answers and emails as the action page."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from config import TestingConfig
from organizer import create_app
from organizer.extensions import db
from organizer.models import Membership, Signup
from organizer.models.organization import ROLE_OWNER
from organizer.web import frame_ancestors

from . import factories
from .helpers import count_queries, text_part

TOKEN_RE = re.compile(r'name="embed_token" value="([^"]+)"')
ACTION_RE = re.compile(r'<form method="post" action="([^"]+)" class="signup-form">')


def embed_url(event, query: str = "") -> str:
    return f"/events/{event.id}/embed{query}"


def open_embed(client, event, query: str = "") -> tuple[str, str]:
    """GET the embed as the frame does; the form's address and its signed token."""
    response = client.get(embed_url(event, query))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    token, action = TOKEN_RE.search(page), ACTION_RE.search(page)
    assert token and action, "no embed sign-up form"
    return html.unescape(action.group(1)), token.group(1)


def frame_client(app):
    """A browser inside another site's iframe: it sends no cookie (the session is SameSite=Lax)."""
    return app.test_client(use_cookies=False)


def embed_signup(client, event, query: str = "", **data):
    action, token = open_embed(client, event, query)
    data.setdefault("name", "Dana Levi")
    data.setdefault("email", "dana@example.org")
    return client.post(action, data={**data, "embed_token": token})


def signups(event) -> list[Signup]:
    db.session.expire_all()
    return list(db.session.scalars(select(Signup).where(Signup.event_id == event.id)))


def count_all_signups() -> int:
    return db.session.scalar(select(func.count()).select_from(Signup))


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture()
def hidden_event():
    org = factories.make_org(name="Standing Together Jerusalem")
    return factories.make_event(
        org,
        title="Vigil at the square",
        address="Secret Garden 7",
        capacity=10,
        location_visibility="confirmed",
    )


# --- headers ---------------------------------------------------------------------------------


def test_only_the_embed_may_be_framed(client, hidden_event):
    embed = client.get(embed_url(hidden_event))
    assert "frame-ancestors *;" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    assert "no-store" in embed.headers["Cache-Control"]

    for url in ("/", f"/events/{hidden_event.id}", f"/events/{hidden_event.id}/signup"):
        response = client.get(url)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], url
        assert response.headers["X-Frame-Options"] == "DENY", url


def test_embed_error_pages_may_be_framed_too(client):
    response = client.get("/events/999/embed")
    assert response.status_code == 404
    assert "frame-ancestors *;" in response.headers["Content-Security-Policy"]


def test_frame_ancestors_can_be_limited(app):
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        EMBED_FRAME_ANCESTORS = "https://peace.example, https://www.peace.example"

    limited = create_app(Config)
    with limited.app_context():
        db.create_all()  # a new in-memory SQLite database; on PostgreSQL the fixture's tables
        client = limited.test_client()
        embed = client.get("/events/999/embed")  # the embed's own 404, as a frame shows it
        other = client.get("/events/999")
        db.session.remove()
        db.engine.dispose()
    embed_policy = embed.headers["Content-Security-Policy"]
    assert "frame-ancestors https://peace.example https://www.peace.example;" in embed_policy
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]


@pytest.mark.parametrize("value", ["", "https://a.example; script-src *", "'none' 'self'"])
def test_bad_frame_ancestors_are_refused_at_start(value):
    with pytest.raises(ValueError):
        frame_ancestors(value)


# --- signing up in the frame -----------------------------------------------------------------


def test_guest_signs_up_without_any_cookie(app, mailbox, hidden_event):
    client = frame_client(app)
    response = embed_signup(client, hidden_event, name="Dana Levi", phone="+972 50 123 4567")

    assert response.status_code == 200
    page = page_text(response)
    assert "You're signed up!" in page
    assert "dana@example.org" in page
    # Compact: no site header, menu or footer, and the way out opens a new tab.
    assert "site-header" not in page and "site-footer" not in page
    assert 'target="_blank" rel="noopener"' in page
    assert "Open on Organizer" in page
    assert "Secret Garden" not in page
    assert "frame-ancestors *;" in response.headers["Content-Security-Policy"]

    (signup,) = signups(hidden_event)
    assert (signup.status, signup.name, signup.phone) == (
        "confirmed",
        "Dana Levi",
        "+972 50 123 4567",
    )
    (message,) = mailbox.wait_for(1)
    assert message["To"] == "dana@example.org"
    assert message["Subject"] == "You're signed up: Vigil at the square"
    assert "Secret Garden 7" in text_part(message)  # the confirmed volunteer's email has it


def test_embed_keeps_its_language_right_to_left(app, hidden_event):
    client = frame_client(app)
    action, _token = open_embed(client, hidden_event, "?lang=ar")
    page = client.get(embed_url(hidden_event, "?lang=ar")).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    # The frame cannot keep a language cookie: the form's address carries the language.
    assert action.endswith("?lang=ar")

    response = embed_signup(client, hidden_event, "?lang=ar")
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in response.get_data(as_text=True)
    assert signups(hidden_event)[0].locale == "ar"


def test_the_embed_form_has_no_session_token(app, hidden_event):
    page = frame_client(app).get(embed_url(hidden_event)).get_data(as_text=True)
    assert 'name="csrf_token"' not in page
    assert 'name="embed_token"' in page


def test_logged_in_volunteers_are_guests_in_the_frame(app, client, auth, hidden_event):
    """A framed button must never act for whoever is logged in (clickjacking): the embed
    always asks for a name and an address, even when a session cookie does arrive."""
    user = factories.make_user(email="noa@example.org", name="Noa")
    auth.login(user)
    action, token = open_embed(client, hidden_event)
    page = client.get(embed_url(hidden_event)).get_data(as_text=True)
    assert 'name="email"' in page and "sign up as" not in page

    response = client.post(action, data={"embed_token": token})
    assert response.status_code == 400
    assert signups(hidden_event) == []


@pytest.mark.parametrize("case", ["missing", "forged", "other_action", "expired"])
def test_bad_token_is_refused_and_nothing_is_written(app, mailbox, hidden_event, monkeypatch, case):
    other = factories.make_event(hidden_event.organization)
    client = frame_client(app)
    action, token = open_embed(client, hidden_event)
    _other_action, other_token = open_embed(client, other)
    tokens = {
        "missing": None,
        "forged": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        "other_action": other_token,
        "expired": token,
    }
    if case == "expired":
        later = int(time.time()) + app.config["EMBED_TOKEN_MAX_AGE"] + 60
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    data = {"name": "Dana Levi", "email": "dana@example.org"}
    if tokens[case] is not None:
        data["embed_token"] = tokens[case]

    response = client.post(action, data=data)

    assert response.status_code == 400
    page = page_text(response)
    if case == "expired":
        assert "This form was open too long and expired. Please send it again." in page
    else:
        assert "This form could not be checked, so nothing was saved." in page
    assert 'value="Dana Levi"' in page  # what was typed is kept, with a fresh token
    assert TOKEN_RE.search(page)
    assert "frame-ancestors *;" in response.headers["Content-Security-Policy"]
    assert count_all_signups() == 0
    assert mailbox.wait_for(1, timeout=0.3) == []


def test_double_submit_makes_one_signup(app, mailbox, hidden_event):
    client = frame_client(app)
    action, token = open_embed(client, hidden_event)
    data = {"name": "Dana Levi", "email": "dana@example.org", "embed_token": token}
    first = client.post(action, data=data)
    second = client.post(action, data=data)
    assert first.status_code == second.status_code == 200
    # A guest's page never tells whether the address was already in.
    assert "You're signed up!" in page_text(second)
    assert len(signups(hidden_event)) == 1


# --- what the frame shows --------------------------------------------------------------------


def test_hidden_place_never_in_the_embed(app, client, auth, hidden_event):
    factories.make_signup(hidden_event, email="in@example.org")
    # The host's own organizer, logged in, sees it on the action page; never in the embed.
    organizer = factories.make_user()
    db.session.add(
        Membership(organization=hidden_event.organization, user=organizer, role=ROLE_OWNER)
    )
    db.session.commit()
    auth.login(organizer)
    assert "Secret Garden" in client.get(f"/events/{hidden_event.id}").get_data(as_text=True)

    for lang in ("en", "he", "ar"):
        page = client.get(embed_url(hidden_event, f"?lang={lang}")).get_data(as_text=True)
        assert "Secret Garden" not in page
    page = page_text(client.get(embed_url(hidden_event, "?lang=en")))
    assert "the exact place is shared with confirmed volunteers" in page
    assert "9 places left" in page


def test_online_link_never_in_the_embed(app):
    event = factories.make_event(
        is_online=True,
        online_url="https://meet.example/secret-room",
        address="",
        location_visibility="confirmed",
    )
    response = embed_signup(frame_client(app), event)
    assert response.status_code == 200
    assert "secret-room" not in response.get_data(as_text=True)
    assert "secret-room" not in frame_client(app).get(embed_url(event)).get_data(as_text=True)


def test_unlisted_action_can_be_embedded(app):
    event = factories.make_event(visibility="unlisted")
    assert frame_client(app).get(embed_url(event)).status_code == 200


def test_draft_is_not_found(app):
    event = factories.make_event(status="draft")
    client = frame_client(app)
    assert client.get(embed_url(event)).status_code == 404
    assert client.post(embed_url(event), data={"name": "x"}).status_code == 404
    assert count_all_signups() == 0


def test_cancelled_action_says_so(app):
    event = factories.make_event(status="cancelled")
    page = page_text(frame_client(app).get(embed_url(event)))
    assert "This action was cancelled, so sign-ups are closed." in page
    assert 'name="email"' not in page


def test_cancelled_after_the_page_was_shown(app):
    event = factories.make_event()
    client = frame_client(app)
    action, token = open_embed(client, event)
    event.status = "cancelled"
    db.session.commit()
    response = client.post(
        action, data={"name": "A", "email": "a@example.org", "embed_token": token}
    )
    assert response.status_code == 409
    page = page_text(response)
    assert "This action was cancelled, so sign-ups are closed." in page
    assert "site-header" not in page and "Open on Organizer" in page
    assert count_all_signups() == 0


def test_past_action_is_closed(app):
    event = factories.make_event(starts_in=-timedelta(days=2))
    page = page_text(frame_client(app).get(embed_url(event)))
    assert "This action is over, so sign-ups are closed." in page
    assert 'name="email"' not in page


def test_full_action_offers_the_waitlist(app, mailbox):
    event = factories.make_event(capacity=1)
    factories.make_signup(event)
    client = frame_client(app)
    assert "Join the waitlist" in page_text(client.get(embed_url(event)))

    response = embed_signup(client, event)
    assert response.status_code == 200
    assert "You're on the waitlist" in page_text(response)
    assert {s.email: s.status for s in signups(event)}["dana@example.org"] == "waitlisted"
    assert mailbox.wait_for(1)


def test_full_action_without_waitlist_is_closed(app):
    event = factories.make_event(capacity=1, waitlist_enabled=False)
    factories.make_signup(event)
    page = page_text(frame_client(app).get(embed_url(event)))
    assert "All places are taken and there is no waitlist." in page
    assert 'name="email"' not in page


def test_approval_request_through_the_embed(app, mailbox):
    event = factories.make_event(approval_required=True)
    client = frame_client(app)
    assert "Ask to join" in page_text(client.get(embed_url(event)))
    response = embed_signup(client, event)
    assert "Your request is sent" in page_text(response)
    assert [s.status for s in signups(event)] == ["pending"]
    assert mailbox.wait_for(1)


def test_shifts_through_the_embed(app, mailbox):
    event = factories.make_event(title="Aid depot day", kind="aid_drive")
    sorting = factories.make_shift(event, "Sorting", capacity=2)
    loading = factories.make_shift(event, "Loading", capacity=1)
    factories.make_signup(event, shift=loading)
    client = frame_client(app)
    page = page_text(client.get(embed_url(event)))
    assert "Sorting" in page and "2 places left" in page
    assert "Loading" in page and "Full — join the waitlist" in page

    # No shift chosen: the form again, with the reason.
    action, token = open_embed(client, event)
    refused = client.post(
        action, data={"name": "Dana", "email": "dana@example.org", "embed_token": token}
    )
    assert refused.status_code == 400
    assert "Please choose at least one shift." in page_text(refused)

    response = embed_signup(client, event, shifts=[sorting.id, loading.id])
    assert response.status_code == 200
    page = page_text(response)
    assert "You're signed up!" in page and "site-header" not in page
    statuses = {s.shift.name: s.status for s in signups(event) if s.email == "dana@example.org"}
    assert statuses == {"Sorting": "confirmed", "Loading": "waitlisted"}
    (message,) = mailbox.wait_for(1)
    assert message["To"] == "dana@example.org"


def test_embed_page_takes_a_fixed_number_of_queries(app):
    small = factories.make_event(capacity=50)
    large = factories.make_event(capacity=50)
    for event, shifts, volunteers in ((small, 1, 1), (large, 6, 20)):
        made = [factories.make_shift(event, capacity=10) for _ in range(shifts)]
        for n in range(volunteers):
            factories.make_signup(event, shift=made[n % len(made)])
    client = frame_client(app)
    client.get(embed_url(small))  # warm-up
    counts = []
    for event in (small, large):
        db.session.expire_all()  # as in a request of its own: nothing already loaded
        with count_queries() as statements:
            assert client.get(embed_url(event)).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert counts[1] <= 12


# --- the snippet on the action page ----------------------------------------------------------


def test_action_page_offers_the_snippet(client):
    event = factories.make_event(title='Say "peace" </textarea><b>')
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    match = re.search(r'<textarea id="embed-code"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, "no embed code on the action page"
    snippet = html.unescape(match.group(1))  # what the textarea holds, and the copy button copies
    assert snippet == (
        f'<iframe src="http://localhost/events/{event.id}/embed" '
        'title="Sign up: Say &#34;peace&#34; &lt;/textarea&gt;&lt;b&gt;" width="100%" '
        'height="640" style="border:0" loading="lazy"></iframe>'
    )
    assert 'data-copy-from="embed-code"' in page
    assert page.count("</textarea>") == 1


def test_draft_page_has_no_snippet(client, auth):
    owner = factories.make_user()
    org = factories.make_org(owner=owner)
    event = factories.make_event(org, status="draft")
    auth.login(owner)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert 'id="embed-code"' not in page


def test_head_requests_answer_like_get(client):
    org = factories.make_org(slug="joint")
    event = factories.make_event(org)
    for url in (f"/events/{event.id}/embed", f"/events/{event.id}/signup"):
        assert client.head(url).status_code == 200, url
