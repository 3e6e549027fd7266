"""Front-desk journeys: find a patient (even misspelt), find a slot, book, see it, confirm."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from scheduling.models import Appointment, Message
from scheduling.reminders import services as reminders
from tests.browser.conftest import assert_accessible, login, screenshot, wait_for_htmx
from tests.factories import PatientFactory
from tests.scheduling.messaging_helpers import grant_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _send_due_messages():
    for message_id in reminders.messages_claim_due():
        reminders.message_send(message_id=message_id)


def test_front_desk_books_the_next_free_consultation_for_a_misspelt_patient(page, clinic, front_desk_user):
    patient = PatientFactory(first_name="Siobhan", last_name="Gallagher")
    grant_all(patient)
    PatientFactory(first_name="Sean", last_name="Murphy")
    mail.outbox.clear()
    login(page, front_desk_user)

    page.goto(f"{page.base}/schedule/next/")
    page.get_by_label("Appointment type").select_option(label="New patient consultation")
    page.get_by_role("button", name="Find").click()
    first_slot = page.locator(".slot-list a").first
    first_slot.click()
    dialog = page.get_by_role("dialog")
    wait_for_htmx(page, "#book-q")
    dialog.get_by_label("Find a patient").fill("Galagher")
    dialog.get_by_role("radio", name="Siobhan Gallagher").check()
    screenshot(page, "booking-dialog", full_page=False)
    dialog.get_by_role("button", name="Book", exact=True).click()

    page.wait_for_url("**/schedule/?date=*")
    appointment = Appointment.objects.get(patient=patient)
    assert page.get_by_text("Booked New patient consultation").is_visible()
    assert page.locator(".appt", has_text="Gallagher").count() == 1
    screenshot(page, "day-view", tablet=True)
    assert_accessible(page)

    confirmation = Message.objects.get(
        appointment=appointment, kind="appointment_confirmation", channel="email"
    )
    _send_due_messages()
    confirmation.refresh_from_db()
    assert confirmation.status == "sent"
    assert [m.to for m in mail.outbox if m.subject.startswith("Your appointment")] == [[patient.email]]


def test_front_desk_registers_a_new_patient_in_the_booking_dialog_and_books(page, clinic, front_desk_user):
    login(page, front_desk_user)

    page.goto(f"{page.base}/schedule/next/")
    page.get_by_label("Appointment type").select_option(label="New patient consultation")
    page.get_by_role("button", name="Find").click()
    page.locator(".slot-list a").first.click()
    dialog = page.get_by_role("dialog")
    wait_for_htmx(page, "#book-q")
    dialog.get_by_label("Find a patient").fill("Cathal Farrell")
    dialog.get_by_text("No patient matches").wait_for()
    # Nobody found: the new-patient form opens by itself, the typed name filled in.
    expect(dialog.locator("details.new-patient")).to_have_attribute("open", "")
    dialog.get_by_label("First name").fill("Cathal")
    dialog.get_by_label("Last name").fill("Farrell")
    dialog.get_by_label("Date of birth").fill("1984-05-17")
    dialog.get_by_label("Email", exact=True).fill("cathal@example.org")
    dialog.get_by_role("button", name="Register and choose").click()
    expect(dialog.get_by_role("radio", name="Cathal Farrell")).to_be_checked()
    assert_accessible(page)
    dialog.get_by_role("button", name="Book", exact=True).click()

    page.wait_for_url("**/schedule/?date=*")
    appointment = Appointment.objects.get(patient__last_name="Farrell")
    assert appointment.patient.email == "cathal@example.org"
    assert page.locator(".appt", has_text="Farrell").count() == 1
    assert_accessible(page)
