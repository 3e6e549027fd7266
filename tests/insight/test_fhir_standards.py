"""The FHIR export speaks the standards: every resource passes three independent validators
(tests/insight/fhir_validation.py), uses standard codes where they exist, carries the diagnosis,
allergies, medications, GP, emergency contact and clinicians, and the server answers
``metadata``, searches by patient and date, and OperationOutcome errors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.models import AuditEvent, ClinicSettings
from insight import fhir_codes
from tests.factories import AppointmentFactory
from tests.insight.fhir_validation import problems
from tests.treatments.factories import (
    SAQ_ITEMS,
    SUNNYBROOK_NORMAL,
    ToxinLotFactory,
    record_consultation,
    record_surgery,
    record_toxin,
)
from treatments import services
from treatments.models import Encounter

pytestmark = pytest.mark.django_db

SNOMED = "http://snomed.info/sct"
BASE = "/api/v1/fhir"


def _record(patient, user):
    patient.allergies = "Latex (gloves: urticaria); penicillin"
    patient.medications = "Aspirin 75 mg daily\nOmeprazole 20 mg"
    patient.on_anticoagulants = True
    patient.gp_name = "Dr Ann Jones"
    patient.gp_practice = "Riverside Surgery"
    patient.emergency_contact_name = "Sam Smith"
    patient.emergency_contact_phone = "+447700900456"
    patient.save()
    AppointmentFactory(patient=patient)
    lot = ToxinLotFactory(lot_number="LOT-STD-1")
    # An unsigned toxin session 80 days old, a signed surgery, a draft consultation of today.
    toxin = record_toxin(patient, user, lot=lot, occurred_at=timezone.now() - timedelta(days=80))
    surgery = record_surgery(
        patient,
        user,
        started_at=timezone.now() - timedelta(days=200),
        procedures=[{"kind": "selective_myectomy", "muscle": "depressor_anguli_oris"}],
    )
    services.encounter_sign(encounter=surgery.encounter, actor=user)
    consultation = record_consultation(patient, user)
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
        data={"goals": "Eye stays open when smiling", "modalities": ["toxin"], "stages": []},
    )
    return toxin.encounter, surgery.encounter, consultation.encounter


def _everything(client, patient) -> list[dict]:
    response = client.get(f"{BASE}/Patient/{patient.pk}/$everything")
    assert response.status_code == 200
    assert problems(response.json()) == []
    return [e["resource"] for e in response.json()["entry"]]


def _of(resources, resource_type) -> list[dict]:
    return [r for r in resources if r["resourceType"] == resource_type]


def _codes(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def test_everything_passes_three_validators_and_references_resolve(
    surgeon, surgeon_user, patient, recall_types
):
    _record(patient, surgeon_user)

    resources = _everything(surgeon, patient)

    present = {f"{r['resourceType']}/{r['id']}" for r in resources}
    for resource in resources:
        for ref in _all_references(resource):
            if not ref.startswith("#"):
                assert ref in present, f"{resource['resourceType']}/{resource['id']} -> {ref}"


def _all_references(value) -> list[str]:
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for v in value.values() for r in _all_references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _all_references(v)]
    return []


def test_local_code_systems_are_only_the_documented_ones(surgeon, surgeon_user, patient, recall_types):
    _record(patient, surgeon_user)

    systems = {system for r in _everything(surgeon, patient) for system in _systems(r)}

    local = {s for s in systems if s.startswith(fhir_codes.LOCAL_BASE)}
    assert local <= {fhir_codes.local_system(name) for name in fhir_codes.LOCAL_SYSTEMS}
    # Standard terminologies are in use, not only local ones.
    assert {SNOMED, fhir_codes.UCUM} <= systems


def _systems(value) -> list[str]:
    if isinstance(value, dict):
        own = [value["system"]] if "system" in value and "code" in value else []
        return own + [s for v in value.values() for s in _systems(v)]
    if isinstance(value, list):
        return [s for v in value for s in _systems(v)]
    return []


def test_latex_allergy_is_exported_with_its_snomed_substance(surgeon, surgeon_user, patient, recall_types):
    _record(patient, surgeon_user)

    allergies = _of(_everything(surgeon, patient), "AllergyIntolerance")

    assert [a["code"]["text"] for a in allergies] == ["Latex (gloves: urticaria)", "penicillin"]
    latex = allergies[0]
    assert _codes(latex["code"]) == {(SNOMED, "111088007")}
    assert latex["category"] == ["environment"]
    assert latex["patient"] == {"reference": f"Patient/{patient.pk}"}
    # When the list took its current text, from the record's history.
    assert latex["recordedDate"]
    # A substance without a checked code keeps its text only.
    assert "coding" not in allergies[1]["code"]


def test_list_entries_read_singly_at_their_full_url(surgeon, surgeon_user, patient, recall_types):
    _record(patient, surgeon_user)
    response = surgeon.get(f"{BASE}/Patient/{patient.pk}/$everything").json()

    for entry in response["entry"]:
        if entry["resource"]["resourceType"] in ("AllergyIntolerance", "MedicationStatement", "Condition"):
            path = entry["fullUrl"].split("/api/v1/fhir", 1)[1]
            assert surgeon.get(f"{BASE}{path}").json() == entry["resource"]
    _outcome(surgeon.get(f"{BASE}/AllergyIntolerance/{patient.pk}-99"), 404, "not-found")


def test_no_known_allergies_is_a_statement_not_a_substance(surgeon, patient):
    patient.allergies = "NKDA"
    patient.save()

    [allergy] = _of(_everything(surgeon, patient), "AllergyIntolerance")

    assert _codes(allergy["code"]) == {(SNOMED, "716186003")}


def test_medications_and_anticoagulant_flag_are_statements(surgeon, surgeon_user, patient, recall_types):
    _record(patient, surgeon_user)

    statements = _of(_everything(surgeon, patient), "MedicationStatement")

    texts = [s["medicationCodeableConcept"]["text"] for s in statements]
    assert texts[:2] == ["Aspirin 75 mg daily", "Omeprazole 20 mg"]
    assert texts[2].startswith("Anticoagulant")
    assert {s["status"] for s in statements} == {"active"}


def test_diagnosis_is_a_condition_with_snomed_cause_and_laterality(
    surgeon, surgeon_user, patient, recall_types
):
    _record(patient, surgeon_user)

    [condition] = _of(_everything(surgeon, patient), "Condition")

    # The factory's patient: Bell's palsy of the left side.
    assert (SNOMED, "193093009") in _codes(condition["code"])
    [site] = condition["bodySite"]
    [laterality] = site["extension"]
    assert laterality["url"] == fhir_codes.EXT_LATERALITY
    assert _codes(laterality["valueCodeableConcept"]) == {(SNOMED, "7771000")}


def test_other_causes_are_facial_palsy_with_the_local_cause(surgeon, patient):
    patient.palsy_cause = "ramsay_hunt"
    patient.save()

    [condition] = _of(_everything(surgeon, patient), "Condition")

    assert _codes(condition["code"]) == {
        (SNOMED, "280816001"),
        (fhir_codes.local_system("palsy-cause"), "ramsay_hunt"),
    }
    assert condition["code"]["text"] == "Facial palsy (Ramsay Hunt syndrome)"


def test_gp_and_emergency_contact_on_the_patient(surgeon, surgeon_user, patient, recall_types):
    _record(patient, surgeon_user)

    [resource] = _of(_everything(surgeon, patient), "Patient")

    contained = {c["id"]: c for c in resource["contained"]}
    assert contained["gp"]["resourceType"] == "Practitioner"
    assert contained["gp"]["name"] == [{"text": "Dr Ann Jones"}]
    assert contained["gp-practice"] == {
        "resourceType": "Organization",
        "id": "gp-practice",
        "name": "Riverside Surgery",
    }
    assert {r["reference"] for r in resource["generalPractitioner"]} == {"#gp", "#gp-practice"}
    [contact] = resource["contact"]
    assert _codes(contact["relationship"][0]) == {("http://terminology.hl7.org/CodeSystem/v2-0131", "C")}
    assert contact["name"] == {"text": "Sam Smith"}
    assert contact["telecom"] == [{"system": "phone", "value": "+447700900456"}]


def test_clinicians_are_practitioners_with_roles(surgeon, surgeon_user, patient, recall_types):
    _record(patient, surgeon_user)

    resources = _everything(surgeon, patient)

    # The surgeon, and the appointment's provider.
    practitioners = {p["id"]: p for p in _of(resources, "Practitioner")}
    assert len(practitioners) == 2
    assert practitioners[str(surgeon_user.pk)]["name"][0]["family"] == surgeon_user.last_name
    roles = {r["id"]: r for r in _of(resources, "PractitionerRole")}
    role = roles[str(surgeon_user.pk)]
    assert role["practitioner"]["reference"] == f"Practitioner/{surgeon_user.pk}"
    assert [c["coding"][0]["code"] for c in role["code"]] == ["surgeon"]
    for encounter in _of(resources, "Encounter"):
        assert encounter["participant"][0]["individual"]["reference"] == f"Practitioner/{surgeon_user.pk}"


def test_encounter_status_follows_the_record(surgeon, surgeon_user, patient, recall_types):
    toxin, surgery, consultation = _record(patient, surgeon_user)

    encounters = {e["id"]: e for e in _of(_everything(surgeon, patient), "Encounter")}

    # An unsigned note of 80 days ago: the visit is over, only the write-up is unsigned.
    old_draft = encounters[str(toxin.pk)]
    assert old_draft["status"] == "finished"
    assert old_draft["meta"]["tag"][0]["code"] == "draft"
    assert encounters[str(surgery.pk)]["status"] == "finished"
    assert "meta" not in encounters[str(surgery.pk)]
    # Today's draft may still be going on.
    assert encounters[str(consultation.pk)]["status"] == "in-progress"
    # The surgery's period is the operation's.
    assert encounters[str(surgery.pk)]["period"]["end"]


def test_reason_is_the_diagnosis_not_the_summary(surgeon, surgeon_user, patient, recall_types):
    _record(patient, surgeon_user)

    for encounter in _of(_everything(surgeon, patient), "Encounter"):
        assert "reasonCode" not in encounter
        assert encounter["reasonReference"] == [{"reference": f"Condition/{patient.pk}"}]


def test_toxin_doses_use_ucum_arbitrary_units_and_snomed_laterality(
    surgeon, surgeon_user, patient, recall_types
):
    _record(patient, surgeon_user)

    administrations = _of(_everything(surgeon, patient), "MedicationAdministration")

    for administration in administrations:
        dose = administration["dosage"]["dose"]
        assert (dose["system"], dose["code"]) == ("http://unitsofmeasure.org", "[arb'U]")
        site = administration["dosage"]["site"]
        [laterality] = site["extension"]
        assert _codes(laterality["valueCodeableConcept"]) <= {(SNOMED, "7771000"), (SNOMED, "24028007")}
        # The structure code is the muscle alone: the side is not packed into it.
        assert ":" not in site["coding"][0]["code"]
        assert _codes(administration["dosage"]["route"]) == {(SNOMED, "78421000")}
        assert _codes(administration["category"]) == {(SNOMED, "442695005")}


def test_product_codes_follow_the_clinic_terminology_setting(
    surgeon, surgeon_user, patient, recall_types, monkeypatch
):
    _record(patient, surgeon_user)
    # A code table entry (the tables hold only checked codes; this one is the test's own).
    monkeypatch.setitem(fhir_codes.MEDICINE_CODES["rxnorm"], "onabotulinumtoxinA", ("T-1", "Test product"))
    monkeypatch.setitem(fhir_codes.MEDICINE_CODES["dmd"], "onabotulinumtoxinA", ("T-2", "Test product"))

    def systems():
        [first, *_] = _of(_everything(surgeon, patient), "MedicationAdministration")
        return _codes(first["contained"][0]["code"])

    assert (fhir_codes.DMD, "T-2") in systems()
    ClinicSettings.objects.update_or_create(pk=1, defaults={"medicines_terminology": "rxnorm"})
    assert (fhir_codes.RXNORM, "T-1") in systems()
    assert not any(system == fhir_codes.DMD for system, _ in systems())


# --- metadata, search, errors ------------------------------------------------------------------


def test_metadata_is_a_valid_capability_statement(anon_api):
    response = anon_api.get(f"{BASE}/metadata")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    statement = response.json()
    assert problems(statement) == []
    assert statement["fhirVersion"] == "4.3.0"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {p["name"] for p in resources["Encounter"]["searchParam"]} >= {"patient", "date"}
    assert {"AllergyIntolerance", "Condition", "MedicationStatement", "Practitioner"} <= set(resources)


def test_search_by_patient_and_date(surgeon, surgeon_user, patient, recall_types):
    toxin, surgery, consultation = _record(patient, surgeon_user)
    since = (timezone.localdate() - timedelta(days=100)).isoformat()

    response = surgeon.get(f"{BASE}/Encounter", {"patient": patient.pk, "date": f"ge{since}"})

    assert response.status_code == 200
    bundle = response.json()
    assert problems(bundle) == []
    assert bundle["type"] == "searchset"
    assert [e["resource"]["id"] for e in bundle["entry"]] == [str(toxin.pk), str(consultation.pk)]
    assert bundle["total"] == 2
    assert AuditEvent.objects.filter(action="fhir.searched", patient_id=patient.pk).exists()

    before = surgeon.get(
        f"{BASE}/Encounter", {"patient": f"Patient/{patient.pk}", "date": f"lt{since}"}
    ).json()
    assert [e["resource"]["id"] for e in before["entry"]] == [str(surgery.pk)]


@pytest.mark.parametrize(
    "resource_type",
    [
        "Patient",
        "Appointment",
        "Encounter",
        "Observation",
        "CarePlan",
        "MedicationAdministration",
        "Procedure",
        "Condition",
        "AllergyIntolerance",
        "MedicationStatement",
    ],
)
def test_every_exported_type_is_searchable(surgeon, surgeon_user, patient, recall_types, resource_type):
    _record(patient, surgeon_user)
    key = "_id" if resource_type == "Patient" else "patient"
    query = {key: patient.pk}
    if resource_type != "Patient":
        query["date"] = "ge1900-01-01"

    response = surgeon.get(f"{BASE}/{resource_type}", query)

    assert response.status_code == 200, response.json()
    bundle = response.json()
    assert problems(bundle) == []
    assert bundle["total"] >= 1
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {resource_type}
    # A date after everything finds nothing (and an empty searchset is still valid).
    if resource_type != "Patient":
        empty = surgeon.get(f"{BASE}/{resource_type}", {key: patient.pk, "date": "gt2999-01-01"}).json()
        assert empty["total"] == 0
        assert problems(empty) == []


def _outcome(response, status: int, code: str):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert problems(body) == []
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    return body


@pytest.mark.parametrize(
    "query, code",
    [
        ({}, "required"),
        ({"patient": "abc"}, "value"),
        ({"patient": "1", "date": "yesterday"}, "value"),
        ({"patient": "1", "date": "sa2026-01-01"}, "value"),
        ({"patient": "1", "date": "2026-02-30"}, "value"),
        ({"patient": "1", "colour": "red"}, "not-supported"),
    ],
)
def test_bad_searches_are_operation_outcomes(surgeon, query, code):
    _outcome(surgeon.get(f"{BASE}/Encounter", query), 400, code)


def test_errors_are_operation_outcomes(surgeon, front_desk, anon_api, patient):
    _outcome(surgeon.get(f"{BASE}/Encounter/999999"), 404, "not-found")
    _outcome(surgeon.get(f"{BASE}/Unknown/1"), 404, "not-found")
    _outcome(front_desk.get(f"{BASE}/Patient/{patient.pk}"), 403, "forbidden")
    _outcome(front_desk.get(f"{BASE}/Encounter", {"patient": patient.pk}), 403, "forbidden")
    assert anon_api.get(f"{BASE}/Patient/{patient.pk}/$everything").status_code in (401, 403)
    _outcome(surgeon.post(f"{BASE}/Patient/{patient.pk}"), 405, "not-supported")


def test_practitioner_reads(surgeon, surgeon_user):
    practitioner = surgeon.get(f"{BASE}/Practitioner/{surgeon_user.pk}").json()
    role = surgeon.get(f"{BASE}/PractitionerRole/{surgeon_user.pk}").json()

    assert problems(practitioner) == [] and problems(role) == []
    assert practitioner["name"][0]["family"] == surgeon_user.last_name


def test_encounter_status_of_a_draft_is_in_progress_only_on_its_day(surgeon_user, patient, recall_types):
    from insight.fhir import encounter_status

    toxin = record_toxin(patient, surgeon_user, occurred_at=timezone.now() - timedelta(days=80)).encounter
    today = timezone.localdate()

    assert encounter_status(toxin, today=today) == "finished"
    assert encounter_status(toxin, today=today - timedelta(days=80)) == "in-progress"
    assert encounter_status(toxin, today=today - timedelta(days=81)) == "planned"
    assert Encounter.objects.get(pk=toxin.pk).status == "draft"
