"""Booking or recording a surgery warns without a valid consent for its procedure; a toxin session
warns when the toxin consent is missing or older than the clinic's setting. Pages and API alike,
one owner (consents.rules); warnings, never refusals."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic.models import ClinicSettings
from consents import services
from consents.rules import add_months
from scheduling.models import Appointment
from scheduling.rules import booking_warnings
from tests.consents.helpers import patient_signed, signed
from tests.treatments.factories import record_surgery, record_toxin, surgery_data

NO_TOXIN = "No valid consent for Botulinum toxin injections."


def _book_api(api, clinic, patient, type_code, provider, start="2027-03-02T10:00:00+00:00", **kw):
    return api.post(
        "/api/v1/appointments/",
        {"patient": patient.pk, "appointment_type": type_code, "provider": provider.pk, "start": start, **kw},
        format="json",
    )


# --- booking --------------------------------------------------------------------------------


def test_booking_a_toxin_session_without_consent_warns_in_the_api_and_books(clinic, front_desk, patient):
    response = _book_api(front_desk, clinic, patient, "toxin", clinic.injector)
    assert response.status_code == 201
    assert response.json()["warnings"] == [NO_TOXIN]
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_booking_with_a_valid_toxin_consent_has_no_warning(clinic, front_desk, patient, injector_user):
    signed(patient, injector_user)
    response = _book_api(front_desk, clinic, patient, "toxin", clinic.injector)
    assert response.json()["warnings"] == []


def test_a_toxin_consent_older_than_the_setting_on_the_day_warns(clinic, front_desk, patient, injector_user):
    with time_machine.travel(timezone.now() - timedelta(days=375), tick=False):
        signed(patient, injector_user)
    response = _book_api(front_desk, clinic, patient, "toxin", clinic.injector)
    (warning,) = response.json()["warnings"]
    assert "more than 12 months" in warning and "renew" in warning
    # The clinic's setting decides.
    settings = ClinicSettings.load()
    settings.toxin_consent_valid_months = 24
    settings.save()
    appointment = Appointment.objects.get(pk=response.json()["id"])
    assert booking_warnings(appointment=appointment) == []


def test_booking_surgery_warns_on_the_page_and_the_appointment(
    clinic, client, front_desk_user, patient, surgeon_user
):
    client.force_login(front_desk_user)
    response = client.post(
        "/schedule/book/",
        {
            "patient": patient.pk,
            "appointment_type": clinic.surgery.pk,
            "provider": clinic.surgeon.pk,
            "start": "2027-03-02T10:00",
            "duration_minutes": 60,
        },
        follow=True,
    )
    html = response.content.decode()
    assert "No valid consent for surgery." in html
    appointment = Appointment.objects.get(patient=patient)
    page = client.get(f"/schedule/appointments/{appointment.pk}/").content.decode()
    assert "No valid consent for surgery." in page
    # Once signed by the patient only: a different warning; once countersigned: none.
    consent = patient_signed(patient, surgeon_user, "selective_myectomy")
    page = client.get(f"/schedule/appointments/{appointment.pk}/").content.decode()
    assert "signed by the patient but not yet countersigned" in page
    services.consent_countersign(consent=consent, actor=surgeon_user, method="typed", signature_png=None)
    page = client.get(f"/schedule/appointments/{appointment.pk}/").content.decode()
    assert (
        "consent" not in page.split('data-testid="booking-warnings"')[0][-200:]
        and "booking-warnings" not in page
    )


def test_a_type_coded_as_a_procedure_needs_that_procedures_consent(clinic, front_desk, patient, surgeon_user):
    from tests.factories import AppointmentTypeFactory

    AppointmentTypeFactory(
        code="dao_excision",
        name="DAO excision (LA)",
        duration_minutes=60,
        provider_roles=["surgeon"],
        room_kind="theatre",
    )
    signed(patient, surgeon_user, "brow_lift")
    response = _book_api(front_desk, clinic, patient, "dao_excision", clinic.surgeon)
    assert response.json()["warnings"] == [
        "No valid consent for Depressor anguli oris (DAO) excision under local anaesthetic."
    ]


def test_a_withdrawn_consent_warns(clinic, front_desk, patient, injector_user):
    consent = signed(patient, injector_user)
    services.consent_withdraw(consent=consent, actor=injector_user, reason="Does not want more injections")
    response = _book_api(front_desk, clinic, patient, "toxin", clinic.injector)
    assert response.json()["warnings"] == [
        "Consent for Botulinum toxin injections was withdrawn: no valid consent."
    ]


# --- recording ------------------------------------------------------------------------------


@pytest.fixture
def patient(db):
    from tests.factories import PatientFactory

    return PatientFactory()


def test_recording_a_surgery_warns_per_procedure_on_the_pages_and_the_api(
    login_as, surgeon, surgeon_user, patient
):
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        signed(patient, surgeon_user, "dao_excision")
    surgery = record_surgery(
        patient,
        surgeon_user,
        procedures=[
            {"kind": "dao_excision"},
            {"kind": "brow_lift"},
            {"kind": "symmetry", "detail": "forehead"},
        ],
    )
    expected = [
        "No valid consent for Brow lift.",
        "There is no consent form here for Symmetry procedure: forehead: check that a signed consent is on file.",
    ]
    body = surgeon.get(f"/api/v1/surgeries/{surgery.pk}/").json()
    assert body["warnings"] == expected
    listed = surgeon.get("/api/v1/surgeries/", {"patient": patient.pk}).json()["results"]
    assert listed[0]["warnings"] == expected
    html = login_as(surgeon_user).get(f"/clinical/encounters/{surgery.pk}/").content.decode()
    assert "No valid consent for Brow lift." in html and "consent-warnings" in html
    # The new-surgery form says before anything is recorded whether any surgical consent exists.
    form = login_as(surgeon_user).get("/clinical/surgery/new/", {"patient": patient.pk}).content.decode()
    assert "No valid consent for surgery." not in form


def test_the_new_surgery_form_warns_without_any_surgical_consent(login_as, surgeon_user, patient):
    form = login_as(surgeon_user).get("/clinical/surgery/new/", {"patient": patient.pk}).content.decode()
    assert "No valid consent for surgery." in form


def test_creating_a_surgery_through_the_api_answers_its_warnings(surgeon, patient):
    data = surgery_data(procedures=[{"procedure": "muscle_transfer"}])
    payload = {
        "patient": patient.pk,
        **{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()},
    }
    response = surgeon.post("/api/v1/surgeries/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["warnings"] == [
        "No valid consent for Muscle transfer (free functional muscle transfer)."
    ]


def test_a_consent_signed_after_the_operation_does_not_cover_it(surgeon, surgeon_user, patient):
    surgery = record_surgery(patient, surgeon_user, started_at=timezone.now() - timedelta(days=2))
    signed(patient, surgeon_user, "dao_excision")
    body = surgeon.get(f"/api/v1/surgeries/{surgery.pk}/").json()
    assert body["warnings"] == [
        "No valid consent for Depressor anguli oris (DAO) excision under local anaesthetic."
    ]


def test_recording_a_toxin_session_warns_on_the_form_the_record_and_the_api(
    login_as, injector, injector_user, patient
):
    page = login_as(injector_user).get("/clinical/toxin/new/", {"patient": patient.pk}).content.decode()
    assert NO_TOXIN in page
    session = record_toxin(patient, injector_user)
    assert NO_TOXIN in injector.get(f"/api/v1/toxin-sessions/{session.pk}/").json()["warnings"]
    html = login_as(injector_user).get(f"/clinical/encounters/{session.pk}/").content.decode()
    assert NO_TOXIN in html


def test_toxin_consent_age_is_counted_to_the_day_of_the_session(injector, injector_user, patient):
    with time_machine.travel(timezone.now() - timedelta(days=401), tick=False):
        signed(patient, injector_user)
    with time_machine.travel(timezone.now() - timedelta(days=400), tick=False):
        early = record_toxin(patient, injector_user)
    late = record_toxin(patient, injector_user)
    assert not [
        w for w in injector.get(f"/api/v1/toxin-sessions/{early.pk}/").json()["warnings"] if "consent" in w
    ]
    late_warnings = injector.get(f"/api/v1/toxin-sessions/{late.pk}/").json()["warnings"]
    assert any("more than 12 months" in w for w in late_warnings)


def test_add_months_clamps_to_the_month_end():
    from datetime import date

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 12, 15), 12) == date(2027, 12, 15)
