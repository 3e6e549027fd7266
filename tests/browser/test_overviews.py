"""The overview pages with realistic data: the recall worklist, the grading trend, the message log."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scheduling.models import Recall
from scheduling.reminders import services as reminders
from scheduling.services import appointment_book, recall_open
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory
from tests.scheduling.messaging_helpers import grant_all
from tests.treatments.factories import SUNNYBROOK_NORMAL
from tests.treatments.test_pages import _clinical_history
from treatments import services as clinical

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = [
    ("Ciara", "Byrne"),
    ("Padraig", "Ryan"),
    ("Grainne", "O'Connor"),
    ("Eoin", "McCarthy"),
    ("Roisin", "Quinn"),
    ("Fionn", "Nolan"),
]


@pytest.fixture
def busy_clinic(clinic):
    """Six patients with recalls due over the coming weeks (two already overdue), and their
    appointment messages, some sent and one that could not be sent."""
    today = timezone.localdate()
    patients = []
    for n, (first, last) in enumerate(NAMES):
        if n < 5:
            patient = PatientFactory(first_name=first, last_name=last)
            grant_all(patient)
        else:  # no contact details and no consent: their messages are skipped, with the reason
            patient = PatientFactory(first_name=first, last_name=last, email="", mobile="")
        due = today + timedelta(days=7 * n - 14)
        recall_open(
            patient=patient,
            kind=Recall.Kind.REINJECTION,
            appointment_type_code="toxin",
            anchor_date=due - timedelta(days=84),
            earliest_date=due,
            due_date=due,
            overdue_date=due + timedelta(days=7),
            source=f"browser:{n}",
            label="Toxin reinjection",
            preferred_provider=clinic.injector,
        )
        patients.append(patient)
    start = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=2)
    for n, patient in enumerate(patients[3:]):
        appointment_book(
            patient=patient,
            appointment_type=clinic.consultation,
            provider=clinic.surgeon,
            starts_at=start + timedelta(hours=n),
            actor=None,
        )
    for message_id in reminders.messages_claim_due():
        reminders.message_send(message_id=message_id)
    return patients


def test_recall_worklist_with_overdue_and_due_recalls(page, busy_clinic, front_desk_user):
    login(page, front_desk_user)
    page.goto(f"{page.base}/recalls/")
    assert page.get_by_role("row", name="Grainne O'Connor").is_visible()
    page.get_by_role("link", name="Overdue").click()
    for first, last in NAMES[:2]:
        expect(page.get_by_role("row", name=f"{first} {last}")).to_be_visible()
    screenshot(page, "recall-worklist")
    assert_accessible(page)


def test_message_log_shows_sent_and_skipped_messages(page, busy_clinic, front_desk_user):
    login(page, front_desk_user)
    page.goto(f"{page.base}/recalls/messages/")
    assert page.locator("tbody tr").count() >= 3
    screenshot(page, "message-log")
    assert_accessible(page)


def test_grading_trend_renders_with_a_years_history(page, clinic):
    surgeon = clinic.surgeon.user
    patient = PatientFactory(first_name="Orla", last_name="Fitzgerald")
    _clinical_history(patient, surgeon, clinic.injector.user, clinic.therapist.user, sessions=4)
    for months, weak in ((9, 2), (6, 3), (3, 4)):
        clinical.assessment_record(
            patient=patient,
            instrument="sunnybrook",
            items={
                **SUNNYBROOK_NORMAL,
                "voluntary_open_mouth_smile": weak,
                "synkinesis_open_mouth_smile": 3 - weak // 2,
            },
            assessed_at=timezone.now() - timedelta(days=30 * months),
            actor=surgeon,
        )
    login(page, surgeon)
    page.goto(f"{page.base}/clinical/patients/{patient.pk}/")
    assert page.get_by_role("heading", name="Gradings over time").is_visible()
    assert page.locator("svg[role=img]").first.is_visible()
    screenshot(page, "clinical-overview")
    assert_accessible(page)
