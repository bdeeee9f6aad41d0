from organizer.email import send_email


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "could not find" in response.get_data(as_text=True)


def test_language_switch_is_remembered(client):
    response = client.get("/?lang=he")
    assert 'lang="he" dir="rtl"' in response.get_data(as_text=True)
    assert 'lang="he" dir="rtl"' in client.get("/").get_data(as_text=True)


def test_email_goes_over_smtp_as_multipart(app, mailbox):
    with app.test_request_context():
        assert send_email("someone@example.org", "test_message", "en", subject="Hello\r\nBcc: x")
    (message,) = mailbox.wait_for(1)
    assert message["Subject"] == "Hello Bcc: x"
    assert message["Message-ID"] and message["Date"]
    assert message.is_multipart()
    kinds = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= kinds
