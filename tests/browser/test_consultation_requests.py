"""A prospective patient asks for a consultation on the public page; the front desk finds the
request in the triage queue, accepts it, and the booked consultation is on the day view."""

import pytest
from playwright.sync_api import expect

from intake.models import ConsultationRequest
from scheduling.models import Appointment
from tests.browser.conftest import assert_accessible, login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_public_request_is_triaged_accepted_and_booked(page, clinic, front_desk_user):
    page.goto(f"{page.base}/request/")
    expect(page.get_by_role("heading", name="Ask for a consultation")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("What is the problem?").fill("My left eye closes when I smile, since a Bell's palsy.")
    page.get_by_label("Which side of the face?").select_option(label="Left")
    page.get_by_label("How long have you had it?").fill("14 months")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Date of birth").fill("1980-04-12")
    page.get_by_label("Email address").fill("ada@example.org")
    # (A post without the consent is a form error answered 400: tests/intake/test_public_form.py.)
    page.get_by_label("I agree that the clinic may contact me").check()
    screenshot(page, "consultation-request-form")
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_test_id("request-received")).to_be_visible()
    request = ConsultationRequest.objects.get()

    login(page, front_desk_user)
    page.goto(f"{page.base}/intake/")
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_test_id("request-status")).to_have_text("New")
    expect(page.get_by_test_id("request-duplicates")).to_contain_text("No patient in the registry matches")
    assert_accessible(page)
    first_slot = page.locator("input[name=slot]").first
    first_slot.check()
    screenshot(page, "consultation-request-triage")
    page.get_by_role("button", name="Accept and book").click()

    page.wait_for_url("**/schedule/?date=*")
    expect(page.get_by_text("Accepted: Ada Lovelace is booked")).to_be_visible()
    request.refresh_from_db()
    appointment = Appointment.objects.get()
    assert (request.status, request.appointment_id, request.patient_id) == (
        "accepted",
        appointment.pk,
        appointment.patient_id,
    )
    expect(page.locator(".appt", has_text="Lovelace")).to_have_count(1)
