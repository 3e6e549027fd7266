"""The subject-access export: everything held about one patient, nothing about another."""

import json

from django.apps import apps

from clinic.models import AuditEvent
from insight.export import SECTIONS
from patients.models import Patient
from tests.security.routes import build_world


def test_export_holds_every_kind_of_record_about_the_patient(surgeon, surgeon_user):
    world = build_world()
    patient = world["patient"]
    response = surgeon.get(f"/api/v1/patients/{patient.pk}/export/")
    assert response.status_code == 200
    data = response.json()
    assert data["patient"]["mrn"] == patient.mrn
    for section in (
        "appointments",
        "recalls",
        "messages",
        "waitlist_entries",
        "waitlist_offers",
        "encounters",
        "consultations",
        "follow_ups",
        "toxin_sessions",
        "injections",
        "therapy_visits",
        "home_exercises",
        "surgeries",
        "procedures",
        "treatment_plans",
        "assessments",
        "audit_events",
    ):
        assert data[section], f"{section} is empty"


def test_export_holds_nothing_about_another_patient(manager):
    world = build_world()
    other = world["other_patient"]
    body = json.dumps(manager.get(f"/api/v1/patients/{world['patient'].pk}/export/").json())
    assert other.mrn not in body
    assert other.last_name not in body


def test_export_is_audited(manager, manager_user):
    world = build_world()
    manager.get(f"/api/v1/patients/{world['patient'].pk}/export/")
    event = AuditEvent.objects.get(action="patient.exported")
    assert event.patient_id == world["patient"].pk
    assert event.actor == manager_user


def test_front_desk_may_not_export(front_desk, db):
    world = build_world()
    assert front_desk.get(f"/api/v1/patients/{world['patient'].pk}/export/").status_code == 403


def test_every_model_that_belongs_to_a_patient_is_exported():
    exported = {model for _, model, _ in SECTIONS} | {Patient}
    missing = []
    for model in apps.get_models():
        if model._meta.app_label not in {"patients", "scheduling", "treatments", "intake", "mdt", "letters"}:
            continue
        if model.__name__.startswith("Historical") or model in exported:
            continue
        # Belongs to a patient: a foreign key to the patient or to a record already exported.
        targets = {f.related_model for f in model._meta.concrete_fields if f.is_relation}
        if Patient in targets or (targets & (exported - {Patient}) and not _shared(model)):
            missing.append(model.__name__)
    assert missing == []


def _shared(model) -> bool:
    """Clinic set-up that points at records without belonging to any patient."""
    return model._meta.model_name in {"toxinlot", "toxindoselimit"}
