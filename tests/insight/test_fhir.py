"""FHIR R4 export: the whole bundle is parsed by fhir.resources' R4B models, not read by eye."""

from datetime import timedelta

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient as FhirPatient

from clinic.models import AuditEvent
from tests.factories import AppointmentFactory
from tests.treatments.factories import (
    SAQ_ITEMS,
    SUNNYBROOK_NORMAL,
    ToxinLotFactory,
    record_surgery,
    record_toxin,
)
from treatments import services

pytestmark = pytest.mark.django_db


def _full_record(patient, user, *, days_ago=100, lot_number="LOT-FHIR-1"):
    # A day of its own per record: two random times could overlap for the one patient.
    AppointmentFactory(patient=patient, starts_at=timezone.now() + timedelta(days=days_ago))
    lot = ToxinLotFactory(lot_number=lot_number)
    record_toxin(patient, user, lot=lot, occurred_at=timezone.now() - timedelta(days=days_ago))
    record_surgery(patient, user, started_at=timezone.now() - timedelta(days=days_ago, hours=3))
    services.assessment_record(
        patient=patient,
        instrument="sunnybrook",
        items=SUNNYBROOK_NORMAL,
        assessed_at=timezone.now(),
        actor=user,
    )
    services.assessment_record(
        patient=patient, instrument="saq", items=SAQ_ITEMS, assessed_at=timezone.now(), rater_kind="patient"
    )
    services.plan_create(
        patient=patient,
        actor=user,
        data={
            "goals": "Eye stays open when smiling",
            "modalities": ["therapy", "toxin"],
            "stages": [{"modality": "therapy", "description": "3 months NMRT"}],
        },
    )


def _everything(client, patient):
    return client.get(f"/api/v1/fhir/Patient/{patient.pk}/$everything")


def test_everything_is_a_valid_r4_bundle(surgeon, surgeon_user, patient, recall_types):
    _full_record(patient, surgeon_user)

    response = _everything(surgeon, patient)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    types = sorted({e.resource.get_resource_type() for e in bundle.entry})
    assert types == [
        "Appointment",
        "CarePlan",
        "Condition",
        "Encounter",
        "MedicationAdministration",
        "Observation",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Procedure",
    ]


def test_each_injection_is_an_administration_with_the_lot_as_batch(
    surgeon, surgeon_user, patient, recall_types
):
    _full_record(patient, surgeon_user)

    bundle = Bundle.model_validate(_everything(surgeon, patient).json())

    administrations = [
        e.resource for e in bundle.entry if e.resource.get_resource_type() == "MedicationAdministration"
    ]
    assert len(administrations) == 3  # the default map has three rows
    medication = administrations[0].contained[0]
    assert medication.batch.lotNumber == "LOT-FHIR-1"
    assert {float(a.dosage.dose.value) for a in administrations} == {5.0, 2.5}


def test_gradings_keep_their_raw_items_as_components(surgeon, surgeon_user, patient, recall_types):
    _full_record(patient, surgeon_user)

    bundle = Bundle.model_validate(_everything(surgeon, patient).json())

    observations = {
        e.resource.code.coding[0].code: e.resource
        for e in bundle.entry
        if e.resource.get_resource_type() == "Observation"
    }
    assert set(observations) == {"sunnybrook", "saq"}
    codes = {c.code.coding[0].code for c in observations["saq"].component}
    assert {f"saq.saq_{n}" for n in range(1, 10)} <= codes
    assert "saq.total" in codes


def test_single_patient_read_is_a_valid_patient(surgeon, patient):
    response = surgeon.get(f"/api/v1/fhir/Patient/{patient.pk}")

    assert response.status_code == 200
    resource = FhirPatient.model_validate(response.json())
    assert resource.identifier[0].value == patient.mrn


def test_other_resources_read_singly(surgeon, surgeon_user, patient, recall_types):
    _full_record(patient, surgeon_user)
    bundle = _everything(surgeon, patient).json()

    for entry in bundle["entry"]:
        resource = entry["resource"]
        response = surgeon.get(f"/api/v1/fhir/{resource['resourceType']}/{resource['id']}")
        assert response.json() == resource


def test_front_desk_cannot_export(front_desk, patient):
    assert _everything(front_desk, patient).status_code == 403
    assert front_desk.get(f"/api/v1/fhir/Patient/{patient.pk}").status_code == 403


def test_anonymous_cannot_export(anon_api, patient):
    assert _everything(anon_api, patient).status_code in (401, 403)


def test_unknown_and_out_of_range_ids_are_404(surgeon):
    assert surgeon.get("/api/v1/fhir/Patient/999999/$everything").status_code == 404
    assert surgeon.get(f"/api/v1/fhir/Patient/{10**30}/$everything").status_code == 404


def test_export_is_audited(surgeon, surgeon_user, patient):
    _everything(surgeon, patient)

    assert AuditEvent.objects.filter(
        action="fhir.patient_exported", patient_id=patient.pk, actor=surgeon_user
    ).exists()


def test_everything_query_count_does_not_grow(
    surgeon, surgeon_user, patient, recall_types, django_assert_max_num_queries
):
    _full_record(patient, surgeon_user)
    with django_assert_max_num_queries(20) as small:
        _everything(surgeon, patient)
    for n in range(1, 4):
        _full_record(patient, surgeon_user, days_ago=100 + 100 * n, lot_number=f"LOT-{n}")

    with django_assert_max_num_queries(len(small.captured_queries)):
        _everything(surgeon, patient)
