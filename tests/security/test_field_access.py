"""Front desk never receives clinical fields: not from the API, not on the chart page."""

import pytest

from patients.models import Patient
from tests.factories import PatientFactory


@pytest.fixture
def patient(db):
    return PatientFactory(palsy_cause_detail="Left-sided Ramsay Hunt, vesicles in ear canal")


def test_front_desk_patient_list_and_detail_carry_no_clinical_field(front_desk, patient):
    listed = front_desk.get("/api/v1/patients/").json()["results"][0]
    detail = front_desk.get(f"/api/v1/patients/{patient.pk}/").json()
    for body in (listed, detail):
        assert set(Patient.CLINICAL_FIELDS).isdisjoint(body)


def test_clinicians_do_receive_the_clinical_fields(surgeon, patient):
    detail = surgeon.get(f"/api/v1/patients/{patient.pk}/").json()
    assert set(Patient.CLINICAL_FIELDS) <= set(detail)


def test_front_desk_chart_page_shows_no_clinical_detail(client, front_desk_user, patient):
    client.force_login(front_desk_user)
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Ramsay Hunt" not in page
    assert "Facial palsy history" not in page


def test_front_desk_cannot_set_a_clinical_field(front_desk, patient):
    response = front_desk.patch(f"/api/v1/patients/{patient.pk}/", {"palsy_cause_detail": "x"})
    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.palsy_cause_detail.startswith("Left-sided")
