"""Patients see the clinic's name, phone number and address: on every link page and in the
footer of every email. The practice manager sets them on the clinic settings page or the API."""

import pytest

from clinic.models import AuditEvent, ClinicSettings
from scheduling.models import Message
from scheduling.reminders.links import Action, link_url
from scheduling.reminders.services import render_message
from scheduling.services import appointment_book
from tests.factories import PatientFactory
from tests.scheduling.conftest import local
from tests.scheduling.messaging_helpers import grant_all

pytestmark = pytest.mark.django_db

CONTACT = {
    "clinic_name": "Riverside Facial Nerve Clinic",
    "clinic_phone": "+44 20 7946 0321",
    "clinic_address": "12 Riverside Walk, London SE1 9AA",
}


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def contact():
    ClinicSettings.load()
    ClinicSettings.objects.filter(pk=1).update(**CONTACT)


@pytest.fixture
def booked(clinic):
    patient = PatientFactory(email="ros@example.org", mobile="+447700100999")
    grant_all(patient)
    return appointment_book(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        starts_at=local(2027, 3, 4, 10, 0),
        actor=None,
    )


def test_a_link_page_shows_the_clinics_name_phone_and_address(client, contact, booked):
    url = _path(link_url(patient_id=booked.patient_id, action=Action.CONFIRM, target=booked.pk))
    html = client.get(url).content.decode()
    assert "Riverside Facial Nerve Clinic" in html
    assert 'href="tel:+442079460321"' in html and "+44 20 7946 0321" in html
    assert "12 Riverside Walk, London SE1 9AA" in html


def test_a_broken_link_says_which_number_to_call(client, contact):
    html = client.get("/p/not-a-token/").content.decode()
    assert "Please call the clinic on" in html and "+44 20 7946 0321" in html


def test_without_contact_details_the_server_name_is_shown(client, booked, settings):
    url = _path(link_url(patient_id=booked.patient_id, action=Action.CONFIRM, target=booked.pk))
    html = client.get(url).content.decode()
    assert settings.CLINIC_NAME in html
    assert "Call us:" not in html


def test_emails_end_with_the_clinics_contact_details(contact, booked):
    message = Message.objects.get(appointment=booked, kind="appointment_confirmation", channel="email")
    rendered = render_message(message)
    footer = rendered["text"].split("Cancel here", 1)[1]
    assert "Riverside Facial Nerve Clinic\n+44 20 7946 0321\n12 Riverside Walk, London SE1 9AA" in footer
    assert "Your appointment at Riverside Facial Nerve Clinic" in rendered["text"]
    assert "+44 20 7946 0321" in rendered["html"]


def test_the_manager_sets_them_on_the_settings_page(client, manager_user):
    from tests.clinic.test_clinic_settings import _form

    client.force_login(manager_user)
    page = client.get("/clinic/settings/").content.decode()
    assert "Contact details patients see" in page and 'name="clinic_phone"' in page

    response = client.post("/clinic/settings/", _form(**CONTACT))
    assert response.status_code == 302
    current = ClinicSettings.load()
    assert (current.clinic_name, current.clinic_phone, current.clinic_address) == tuple(CONTACT.values())
    event = AuditEvent.objects.get(action="clinic_settings.updated")
    assert event.changes["clinic_phone"] == ["", "+44 20 7946 0321"]
    assert current.history.latest().history_user == manager_user


def test_a_phone_number_that_is_not_one_is_a_form_error(client, manager_user):
    from tests.clinic.test_clinic_settings import _form

    client.force_login(manager_user)
    response = client.post("/clinic/settings/", _form(clinic_phone="call reception"))
    assert response.status_code == 400
    assert "Enter a phone number" in response.content.decode()
    assert ClinicSettings.load().clinic_phone == ""


def test_the_api_reads_and_changes_them(manager):
    response = manager.patch("/api/v1/clinic-settings/", CONTACT, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["clinic_address"] == CONTACT["clinic_address"]

    bad = manager.patch("/api/v1/clinic-settings/", {"clinic_phone": "<script>"}, format="json")
    assert bad.status_code == 400
    assert "clinic_phone" in bad.json()["fields"]
