"""The quick start's outbox: what the clinic sent, readable by staff at /dev/outbox/ with DEBUG
on, links clickable; not mounted (404) with DEBUG off."""

import importlib

import pytest
from django.urls import clear_url_caches

from clinic.roles import Role
from scheduling.reminders.channels import EmailContent, send_email, sms_backend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LINK = "http://127.0.0.1:8000/p/confirm/abc123/"


def _reload_urls():
    import clinic.urls

    importlib.reload(clinic.urls)
    clear_url_caches()


@pytest.fixture
def quick_start(settings, tmp_path):
    settings.DEBUG = True
    settings.OUTBOX_DIR = str(tmp_path / "outbox")
    settings.EMAIL_BACKEND = "clinic.outbox.OutboxEmailBackend"
    settings.SMS_BACKEND = "outbox"
    _reload_urls()
    yield tmp_path / "outbox"
    settings.DEBUG = False
    _reload_urls()


def test_sent_email_and_sms_are_shown_to_staff_with_clickable_links(
    client, quick_start, django_assert_max_num_queries
):
    send_email(EmailContent(to="ada@example.com", subject="Your appointment", text=f"Confirm here: {LINK}"))
    sms_backend().send(to="+447700900123", body=f"Reminder. Cancel: {LINK}")
    assert len(list(quick_start.glob("*.json"))) == 2
    assert not list(quick_start.glob(".*.tmp"))

    client.force_login(UserFactory(roles=[Role.FRONT_DESK]))
    # Mounted only with DEBUG on, so outside tests/perf/test_query_counts.py's table: its guard.
    with django_assert_max_num_queries(6):
        response = client.get("/dev/outbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Email to ada@example.com" in html and "Your appointment" in html
    assert "SMS to +447700900123" in html
    assert html.count(f'<a href="{LINK}"') == 2
    # Newest first: the SMS was sent after the email.
    assert html.index("SMS to") < html.index("Email to")


def test_outbox_needs_a_staff_login(client, quick_start):
    response = client.get("/dev/outbox/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_outbox_is_not_mounted_with_debug_off(client, settings):
    assert settings.DEBUG is False
    _reload_urls()
    client.force_login(UserFactory(roles=[Role.MANAGER]))
    assert client.get("/dev/outbox/").status_code == 404


def test_outbox_answers_404_if_debug_is_turned_off_after_mounting(client, quick_start, settings):
    client.force_login(UserFactory(roles=[Role.MANAGER]))
    settings.DEBUG = False
    assert client.get("/dev/outbox/").status_code == 404
