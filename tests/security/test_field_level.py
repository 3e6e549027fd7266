"""Field-level rules: clinical content in exports and in the audit trail's values reaches only
clinical roles (``view_clinical``); exports of whole records are rate-limited per user."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.utils import timezone

from clinic.models import AuditEvent, User
from insight.export import ADMINISTRATIVE_SECTIONS, SECTIONS
from patients.models import Patient
from tests.factories import PatientFactory
from tests.security.routes import build_world
from treatments import services as clinical
from treatments.models import TreatmentPlan

CLINICAL_SECTIONS = {section for section, _, _ in SECTIONS} - ADMINISTRATIVE_SECTIONS
CLINICAL_NOTE = "Synkinesis of the left orbicularis oculi on smiling"


@pytest.fixture
def world(db):
    world = build_world()
    patient = world["patient"]
    patient.palsy_cause_detail = "Left-sided Ramsay Hunt, vesicles in ear canal"
    patient.save(update_fields=["palsy_cause_detail"])
    # A clinician edits a clinical note: the audit event records the old and new text.
    plan = TreatmentPlan.objects.get(pk=world["ids"]["treatment-plan"])
    surgeon = User.objects.get(username="world-surgeon")
    clinical.plan_update(plan=plan, actor=surgeon, data={"goals": CLINICAL_NOTE})
    return world


def _export(api, patient):
    return api.get(f"/api/v1/patients/{patient.pk}/export/")


def test_the_practice_manager_exports_the_administrative_record_only(manager, world):
    response = _export(manager, world["patient"])
    assert response.status_code == 200
    data = response.json()
    body = json.dumps(data)
    assert data["scope"] == "administrative"
    assert set(data["omitted_sections"]) == CLINICAL_SECTIONS
    assert CLINICAL_SECTIONS.isdisjoint(data)
    assert set(Patient.CLINICAL_FIELDS).isdisjoint(data["patient"])
    assert "Ramsay Hunt" not in body
    assert CLINICAL_NOTE not in body
    assert "clinical" in data["notice"]
    # The administrative record is all there.
    assert data["patient"]["mrn"] == world["patient"].mrn
    for section in ("appointments", "recalls", "waitlist_entries", "audit_events"):
        assert data[section], f"{section} is empty"


def test_audit_events_in_the_managers_export_name_fields_without_values(manager, world):
    events = _export(manager, world["patient"]).json()["audit_events"]
    edit = next(e for e in events if e["action"] == "treatment_plan.updated")
    assert edit["changes"] == {"goals": None, "version": None}
    assert edit["changes_withheld"] is True


def test_clinicians_export_the_whole_record(surgeon, world):
    data = _export(surgeon, world["patient"]).json()
    assert data["scope"] == "full"
    assert data["omitted_sections"] == [] and data["omitted_fields"] == []
    assert set(data) >= CLINICAL_SECTIONS
    assert data["patient"]["palsy_cause_detail"].startswith("Left-sided")
    edit = next(e for e in data["audit_events"] if e["action"] == "treatment_plan.updated")
    assert edit["changes"]["goals"][1] == CLINICAL_NOTE


def test_every_administrative_section_exists():
    assert {section for section, _, _ in SECTIONS} >= ADMINISTRATIVE_SECTIONS


def test_the_audit_api_shows_the_manager_which_fields_changed_not_their_values(manager, world):
    response = manager.get("/api/v1/audit-events/", {"action": "treatment_plan.updated"})
    assert response.status_code == 200
    (event,) = response.json()["results"]
    assert event["changes"] == {"goals": None, "version": None}
    assert event["changes_withheld"] is True
    assert CLINICAL_NOTE not in response.content.decode()
    detail = manager.get(f"/api/v1/audit-events/{event['id']}/").json()
    assert detail["changes"] == {"goals": None, "version": None}


def test_a_clinician_allowed_the_audit_trail_sees_the_values(surgeon, surgeon_user, world):
    surgeon_user.user_permissions.add(Permission.objects.get(codename="view_audit"))
    event = surgeon.get("/api/v1/audit-events/", {"action": "treatment_plan.updated"}).json()["results"][0]
    assert event["changes"]["goals"][1] == CLINICAL_NOTE
    assert event["changes_withheld"] is False


@pytest.mark.django_db
def test_exports_are_limited_per_user_across_both_export_endpoints(surgeon, injector):
    patient = PatientFactory()
    for _ in range(9):
        assert _export(surgeon, patient).status_code == 200
    assert surgeon.get(f"/api/v1/fhir/Patient/{patient.pk}/$everything").status_code == 200
    refused = _export(surgeon, patient)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert set(refused.json()) == {"code", "detail", "fields"}
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert surgeon.get(f"/api/v1/fhir/Patient/{patient.pk}/$everything").status_code == 429
    assert AuditEvent.objects.filter(action__in=["patient.exported", "fhir.patient_exported"]).count() == 10
    # Another user has their own allowance; the first has theirs back an hour later.
    assert _export(injector, patient).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        assert _export(surgeon, patient).status_code == 200
