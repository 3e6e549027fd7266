"""The front desk's flow: what a booking tells the patient, a new patient registered with their
consent and booked in one step, the header search, and one form style."""

import re

import pytest

from patients.models import MessagingConsent, Patient
from scheduling.models import Appointment, Message
from tests.factories import PatientFactory
from tests.scheduling.messaging_helpers import grant_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client, front_desk_user):
    client.force_login(front_desk_user)
    return client


def _book(desk, clinic, **data):
    post = {
        "appointment_type": clinic.consultation.pk,
        "provider": clinic.surgeon.pk,
        "start": "2027-03-02T10:00",
        **data,
    }
    response = desk.post("/schedule/book/", post, HTTP_HX_REQUEST="true")
    page = desk.get(response["HX-Redirect"]).content.decode() if response.status_code == 204 else ""
    return response, page


def test_the_booking_message_says_where_the_confirmation_went(clinic, desk):
    patient = PatientFactory(email="ada@example.org", mobile="+447700900123")
    grant_all(patient, purposes=["appointment_reminders"], channels=("email",))
    response, page = _book(desk, clinic, patient=patient.pk)
    assert response.status_code == 204
    assert "Confirmation sent to the patient by email to ada@example.org." in page
    assert "Not by SMS: no consent to appointment messages by SMS." in page
    assert 'class="flash flash-success flash-keep"' in page  # stays until read


def test_the_booking_message_says_why_nothing_was_sent(clinic, desk):
    patient = PatientFactory(email="", mobile="+447700900124")
    _, page = _book(desk, clinic, patient=patient.pk)
    assert (
        "Nothing was sent to the patient: no email address; no consent to appointment messages by SMS."
        in page
    )


def test_the_api_booking_answers_with_its_notifications(clinic, front_desk):
    patient = PatientFactory(email="bea@example.org", mobile="")
    grant_all(patient, channels=("email",))
    response = front_desk.post(
        "/api/v1/appointments/",
        {
            "patient": patient.pk,
            "appointment_type": "consultation",
            "provider": clinic.surgeon.pk,
            "start": "2027-03-02T10:00:00+00:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    notifications = response.json()["notifications"]
    assert notifications["sent"] is True
    assert notifications["channels"] == [
        {"channel": "email", "sent": True, "address": "bea@example.org", "reason": "", "reason_text": ""},
        {
            "channel": "sms",
            "sent": False,
            "address": "",
            "reason": "no_address",
            "reason_text": "no mobile number",
        },
    ]
    # What it says is what the sender will do: a confirmation by email is planned.
    assert Message.objects.filter(patient=patient, kind="appointment_confirmation", channel="email").exists()


def test_a_new_patient_is_registered_with_consent_and_booked_in_one_step(clinic, desk):
    response, page = _book(
        desk,
        clinic,
        **{
            "new-first_name": "Cathal",
            "new-last_name": "Farrell",
            "new-date_of_birth": "1984-05-17",
            "new-email": "cathal@example.org",
            "new-consent_email": "on",
        },
    )
    assert response.status_code == 204, response.content.decode()[:2000]
    patient = Patient.objects.get(last_name="Farrell")
    assert Appointment.objects.get().patient == patient
    consent = MessagingConsent.objects.get(patient=patient)
    assert (consent.channel, consent.purpose, consent.granted, consent.address, consent.method) == (
        "email",
        "appointment_reminders",
        True,
        "cathal@example.org",
        "verbal",
    )
    assert "Confirmation sent to the patient by email to cathal@example.org." in page


def test_consent_to_email_without_an_address_is_a_form_error(clinic, desk):
    response = desk.post(
        "/schedule/book/",
        {
            "appointment_type": clinic.consultation.pk,
            "provider": clinic.surgeon.pk,
            "start": "2027-03-02T10:00",
            "new-first_name": "Cathal",
            "new-last_name": "Farrell",
            "new-date_of_birth": "1984-05-17",
            "new-consent_email": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Add the email address the patient agreed to." in response.content.decode()
    assert not Patient.objects.exists() and not Appointment.objects.exists()


def test_the_quick_registration_asks_the_consent_questions(clinic, desk):
    page = desk.get("/schedule/book/").content.decode()
    assert "Agrees to appointment confirmations and reminders by email" in page
    assert "Agrees to appointment confirmations and reminders by SMS" in page


def test_no_label_has_djangos_colon(clinic, desk):
    for url in ("/schedule/book/", "/schedule/next/", "/schedule/waitlist/"):
        page = desk.get(url).content.decode()
        assert not re.search(r":\s*</label>", page), url
    page = desk.get("/schedule/book/").content.decode()
    # Help text comes after its input.
    assert page.index('id="id_start"') < page.index('id="id_start_helptext"')


def test_every_staff_page_has_the_header_search(clinic, desk):
    for url in ("/", "/schedule/", "/patients/", "/schedule/waitlist/"):
        page = desk.get(url, follow=True).content.decode()
        assert 'id="header-q"' in page and 'aria-keyshortcuts="/"' in page, url


def test_the_header_search_lists_the_best_matches_as_options(desk):
    wanted = PatientFactory(first_name="Margaret", last_name="Reynolds")
    PatientFactory(first_name="Peter", last_name="Jones")
    page = desk.get("/patients/search/", {"q": "margret reynods", "box": "header"}).content.decode()
    assert f'href="/patients/{wanted.pk}/"' in page and 'role="option"' in page
    assert "JONES" not in page
    nothing = desk.get("/patients/search/", {"q": "zzyzx", "box": "header"}).content.decode()
    assert "No patient matches" in nothing


def test_the_day_view_documents_its_shortcuts(clinic, desk):
    page = desk.get("/schedule/?date=2027-03-02").content.decode()
    for key in ('data-key="t"', 'data-key="n ArrowRight"', 'data-key="p ArrowLeft"', 'data-key="b"'):
        assert key in page
    assert "Keyboard shortcuts" in page


def test_a_one_click_waitlist_booking_says_what_was_sent(clinic, desk, front_desk_user):
    from scheduling.models import WaitlistEntry
    from scheduling.services import appointment_book, appointment_cancel
    from tests.scheduling.conftest import local

    patient = PatientFactory(email="wait@example.org", mobile="")
    grant_all(patient, channels=("email",))
    freed = appointment_book(
        patient=PatientFactory(),
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        starts_at=local(2027, 3, 2, 10),
        actor=None,
    )
    desk.post("/schedule/waitlist/", {"patient": patient.pk, "appointment_type": clinic.consultation.pk})
    appointment_cancel(appointment=freed, reason="Unwell", actor=front_desk_user)
    offer = WaitlistEntry.objects.get().offers.get()
    response = desk.post(f"/schedule/waitlist/offers/{offer.pk}/book/", follow=True)
    assert "Confirmation sent to the patient by email to wait@example.org." in response.content.decode()
