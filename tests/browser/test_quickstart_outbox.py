"""The quick start's outbox: the front desk reads what a patient was sent and opens its link."""

import importlib
from datetime import timedelta

import pytest
from django.urls import clear_url_caches
from django.utils import timezone

from patients.services import consent_record
from scheduling.models import Recall
from scheduling.reminders import services as reminders
from scheduling.services import recall_open
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _reload_urls():
    import clinic.urls

    importlib.reload(clinic.urls)
    clear_url_caches()


@pytest.fixture
def quick_start(settings, tmp_path, live_server):
    """As bin/run sets it up: DEBUG on, messages into the outbox, links to this server."""
    settings.DEBUG = True
    settings.OUTBOX_DIR = str(tmp_path / "outbox")
    settings.EMAIL_BACKEND = "clinic.outbox.OutboxEmailBackend"
    settings.SMS_BACKEND = "outbox"
    settings.SITE_URL = live_server.url
    _reload_urls()
    yield
    settings.DEBUG = False
    _reload_urls()


def test_front_desk_reads_the_outbox_and_opens_the_patients_link(page, clinic, front_desk_user, quick_start):
    patient = PatientFactory(first_name="Niamh", last_name="Brennan", email="niamh@example.com")
    consent_record(
        patient=patient, channel="email", purpose="recalls", granted=True, method="written", actor=None
    )
    today = timezone.localdate()
    recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=today - timedelta(days=84),
        # Safe since yesterday and due today: its first reminder is already late, so it goes out
        # at once whatever the hour (a reminder dated today would wait for 10:00).
        earliest_date=today - timedelta(days=1),
        due_date=today,
        overdue_date=today + timedelta(days=28),
        source="toxin_session:outbox",
        preferred_provider=clinic.injector,
    )
    # What the worker does every minute, done here: claim the due messages and send them.
    assert reminders.messages_send_batch(message_ids=reminders.messages_claim_due())["sent"] >= 1

    login(page, front_desk_user)
    page.goto(f"{page.base}/dev/outbox/")
    message = page.locator("article", has_text="Email to niamh@example.com")
    assert message.count() >= 1
    screenshot(page, "quickstart-outbox")
    assert_accessible(page)
    link = message.first.locator("a[href*='/p/']").first
    with page.expect_navigation():
        link.click()
    assert page.get_by_role("heading", name="Book your next appointment").is_visible()
