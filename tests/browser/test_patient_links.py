"""A patient books from a recall link; the front desk sees it; an old link explains itself."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from scheduling.models import Appointment, Recall
from scheduling.reminders.links import Action, link_url
from scheduling.services import recall_open
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _recall(clinic, patient):
    today = timezone.localdate()
    return recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=today - timedelta(days=84),
        earliest_date=today,
        due_date=today + timedelta(days=7),
        overdue_date=today + timedelta(days=28),
        source="toxin_session:browser",
        preferred_provider=clinic.injector,
    )


def test_patient_books_from_a_recall_link_and_the_front_desk_sees_it(page, clinic, front_desk_user):
    patient = PatientFactory(first_name="Niamh", last_name="Brennan")
    recall = _recall(clinic, patient)

    page.goto(page.base + _path(link_url(patient_id=patient.pk, action=Action.BOOK, target=recall.pk)))
    assert page.get_by_role("heading", name="Book your next appointment").is_visible()
    screenshot(page, "patient-recall-link")
    assert_accessible(page)
    page.locator("input[name=slot]").first.check()
    page.get_by_role("button", name="Book this time").click()
    assert page.get_by_text("You are booked").is_visible()
    assert_accessible(page)

    appointment = Appointment.objects.get(patient=patient)
    assert appointment.booked_via == "patient_link"
    login(page, front_desk_user)
    page.goto(f"{page.base}/schedule/?date={timezone.localtime(appointment.starts_at).date().isoformat()}")
    assert page.locator(".appt", has_text="Brennan").count() == 1
    assert_accessible(page)


def test_an_expired_link_shows_a_friendly_page(page, clinic):
    patient = PatientFactory()
    recall = _recall(clinic, patient)
    with time_machine.travel(timezone.now() - timedelta(days=60)):
        url = link_url(patient_id=patient.pk, action=Action.BOOK, target=recall.pk)

    response = page.goto(page.base + _path(url))
    assert response.status == 410
    assert page.get_by_role("heading", name="This link has expired").is_visible()
    assert page.get_by_text("Please call the clinic").is_visible()
    assert_accessible(page)
    # The 410 status itself is logged by Chromium as a failed resource; that one is expected.
    page.errors[:] = [e for e in page.errors if "status of 410" not in e]
