"""Organizers translate an action's title and description; each reader sees their language."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from organizer.extensions import db
from organizer.models import Event, EventTranslation
from organizer.services.digest_render import DigestRenderer

from . import factories
from .helpers import html_part, text_part
from .test_events_actions import event_form, fresh, only_event

HEBREW_TITLE = "משמרת שישי בכיכר פריז"
ARABIC_TITLE = "وقفة الجمعة في ساحة باريس"


def translated(**overrides) -> dict:
    fields = {
        "title_he": HEBREW_TITLE,
        "description_he": "הביאו **נרות**.",
        "title_ar": ARABIC_TITLE,
        "description_ar": "",
    }
    return event_form(**(fields | overrides))


def test_organizer_saves_translations_and_each_language_sees_its_own(client, auth, post_form, app):
    owner = factories.make_user()
    factories.make_org(slug="host", owner=owner)
    auth.login(owner)
    response = post_form("/events/new?org=host", translated(title_en="ignored: the original"))
    assert response.status_code == 302
    event = only_event()
    assert {t.locale: t.title for t in event.translations} == {
        "ar": ARABIC_TITLE,
        "he": HEBREW_TITLE,
    }
    assert (
        "<strong>נרות</strong>"
        in next(t for t in event.translations if t.locale == "he").description_html
    )
    post_form(f"/events/{event.id}/publish", {}, page=f"/events/{event.id}/edit")
    assert fresh(event).status == "published"
    auth.logout()

    page = client.get(f"/events/{event.id}?lang=he").get_data(as_text=True)
    assert f'<h1 dir="auto" lang="he">{HEBREW_TITLE}</h1>' in page
    assert 'lang="he"' in page and "<strong>נרות</strong>" in page
    assert "Friday vigil" in page  # the original, named beside the translation

    # Arabic has a title but no description: the original description, marked as English.
    page = client.get(f"/events/{event.id}?lang=ar").get_data(as_text=True)
    assert f'<h1 dir="auto" lang="ar">{ARABIC_TITLE}</h1>' in page
    assert '<section class="description event-about" dir="auto" lang="en"' in page
    assert "<strong>candles</strong>" in page

    page = client.get(f"/events/{event.id}?lang=en").get_data(as_text=True)
    assert '<h1 dir="auto" lang="en">Friday vigil</h1>' in page
    assert HEBREW_TITLE not in page

    listing = client.get("/events/?lang=he").get_data(as_text=True)
    assert f'dir="auto" lang="he">{HEBREW_TITLE}</a>' in listing
    # Search finds the action by its translated title too.
    found = client.get("/events/", query_string={"q": "ساحة باريس"}).get_data(as_text=True)
    assert f"/events/{event.id}" in found


def test_editing_replaces_and_removes_translations(client, auth, post_form):
    owner = factories.make_user()
    factories.make_org(slug="host", owner=owner)
    auth.login(owner)
    post_form("/events/new?org=host", translated())
    event = only_event()
    response = post_form(f"/events/{event.id}/edit", translated(title_he="כותרת חדשה", title_ar=""))
    assert response.status_code == 302
    assert [(t.locale, t.title) for t in fresh(event).translations] == [("he", "כותרת חדשה")]
    # Switching the original language to Hebrew drops the Hebrew "translation".
    post_form(f"/events/{event.id}/edit", translated(language="he", title="מקור", title_ar=""))
    assert fresh(event).translations == []


def test_a_translated_description_without_a_title_is_refused(client, auth, post_form):
    owner = factories.make_user()
    factories.make_org(slug="host", owner=owner)
    auth.login(owner)
    response = post_form("/events/new?org=host", event_form(description_ar="نص بلا عنوان"))
    assert response.status_code == 400
    assert "Please give the title in this language too." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0
    assert db.session.scalar(select(func.count()).select_from(EventTranslation)) == 0


def test_volunteer_emails_and_digest_use_the_readers_language(client, post_form, mailbox, app):
    event = factories.make_event(title="Olive harvest", capacity=10)
    event.translations = [
        EventTranslation(locale="ar", title="قطف الزيتون", description_html="<p>تعالوا</p>")
    ]
    db.session.commit()
    post_form(f"/events/{event.id}/signup?lang=ar", {"name": "Rami", "email": "rami@example.org"})
    (message,) = mailbox.wait_for(1)
    assert "قطف الزيتون" in message["Subject"]
    assert 'lang="ar">قطف الزيتون' in html_part(message)
    assert "قطف الزيتون" in text_part(message)

    with app.test_request_context("/"):
        renderer = DigestRenderer(datetime(2026, 11, 10, 8, 0, tzinfo=UTC))
        text_ar, html_ar = renderer.event_block(event, {}, "ar", "Asia/Jerusalem")
        text_en, html_en = renderer.event_block(event, {}, "en", "Asia/Jerusalem")
    assert "قطف الزيتون" in text_ar and 'lang="ar"' in html_ar
    assert "Olive harvest" in text_en and "قطف الزيتون" not in html_en
