"""Gradings, plans and the lot register through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.audit import AuditEvent
from tests.factories import PatientFactory
from treatments import instruments
from treatments.models import Assessment, PlanStage, TreatmentPlan

from .factories import SAQ_ITEMS, SUNNYBROOK_NORMAL, ToxinLotFactory, record_toxin

pytestmark = pytest.mark.django_db


def grading(patient, instrument="sunnybrook", items=None, **extra):
    return {
        "patient": patient.pk,
        "instrument": instrument,
        "items": SUNNYBROOK_NORMAL if items is None else items,
        "assessed_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        **extra,
    }


def test_sunnybrook_answers_201_with_scores(surgeon, surgeon_user, patient):
    items = {
        **SUNNYBROOK_NORMAL,
        "rest_cheek": "absent",
        "voluntary_open_mouth_smile": 2,
        "synkinesis_snarl": 2,
    }
    response = surgeon.post("/api/v1/assessments/", grading(patient, items=items), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["scores"] == {
        "resting_symmetry": 10,
        "voluntary_movement": 88,
        "synkinesis": 2,
        "composite": 76,
    }
    assert body["formula_version"] == "sunnybrook-1996.1"
    assert body["rater"]["id"] == surgeon_user.pk
    assert body["rater_kind"] == "clinician"
    assert body["side"] == patient.affected_side
    assert body["items"] == items


def test_saq_answers_total(therapist, patient):
    response = therapist.post("/api/v1/assessments/", grading(patient, "saq", SAQ_ITEMS), format="json")
    assert response.status_code == 201
    assert response.json()["scores"] == {"total": 60.0}


def test_house_brackmann_answers_grade(surgeon, patient):
    response = surgeon.post(
        "/api/v1/assessments/", grading(patient, "house_brackmann", {"grade": 3}), format="json"
    )
    assert response.status_code == 201
    assert response.json()["scores"] == {"grade": 3}


@pytest.mark.parametrize(
    ("items", "item"),
    [
        ({k: v for k, v in SUNNYBROOK_NORMAL.items() if k != "rest_eye"}, "rest_eye"),
        ({**SUNNYBROOK_NORMAL, "rest_eye": "squint"}, "rest_eye"),
        ({**SUNNYBROOK_NORMAL, "voluntary_snarl": 6}, "voluntary_snarl"),
        ({**SUNNYBROOK_NORMAL, "synkinesis_lip_pucker": 2**70}, "synkinesis_lip_pucker"),
        ({**SUNNYBROOK_NORMAL, "synkinesis_lip_pucker": "\x00"}, "synkinesis_lip_pucker"),
        ({**SUNNYBROOK_NORMAL, "rest_forehead": "normal"}, "rest_forehead"),
    ],
)
def test_bad_item_answers_400_naming_the_item(surgeon, patient, items, item):
    response = surgeon.post("/api/v1/assessments/", grading(patient, items=items), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert item in response.json()["fields"]["items"]
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"), [({"instrument": "no_such_scale"}, "instrument"), ({"items": [1, 2]}, "items")]
)
def test_unknown_instrument_or_non_object_items_answer_400(surgeon, patient, change, field):
    response = surgeon.post("/api/v1/assessments/", {**grading(patient), **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_future_grading_is_refused(surgeon, patient):
    payload = grading(patient, assessed_at=(timezone.now() + timedelta(days=2)).isoformat())
    response = surgeon.post("/api/v1/assessments/", payload, format="json")
    assert response.status_code == 400
    assert "assessed_at" in response.json()["fields"]


def test_a_new_instrument_needs_no_change_to_callers(surgeon, patient):
    """eFACE-style: register items and a scoring function; the API takes it as it is."""
    toy = instruments.Instrument(
        code="toy_scale",
        name="Toy scale",
        items=(
            instruments.Item("a", "A", minimum=0, maximum=10),
            instruments.Item("b", "B", minimum=0, maximum=10),
        ),
        scores=(instruments.Score("mean", "Mean", 0, 10),),
        scorer=lambda items: {"mean": (items["a"] + items["b"]) / 2},
        formula_version="toy-1",
        trend_score="mean",
        higher_is_better=True,
    )
    instruments.register(toy)
    try:
        response = surgeon.post(
            "/api/v1/assessments/", grading(patient, "toy_scale", {"a": 4, "b": 7}), format="json"
        )
    finally:
        instruments.unregister("toy_scale")
    assert response.status_code == 201
    assert response.json()["scores"] == {"mean": 5.5}
    assert response.json()["instrument_name"] == "Toy scale"


def test_patient_reported_saq_has_no_staff_rater(patient):
    from treatments.services import assessment_record

    assessment = assessment_record(
        patient=patient, instrument="saq", items=SAQ_ITEMS, assessed_at=timezone.now(), actor=None
    )
    assert assessment.rater is None
    assert assessment.rater_kind == "patient"
    assert assessment.side == ""
    assert AuditEvent.objects.filter(action="assessment.recorded", actor=None, patient_id=patient.pk).exists()


def test_grading_entered_in_error_leaves_the_trend(surgeon, patient):
    created = surgeon.post("/api/v1/assessments/", grading(patient), format="json").json()
    response = surgeon.post(
        f"/api/v1/assessments/{created['id']}/entered-in-error/", {"reason": "Wrong patient"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "entered_in_error"
    from treatments.selectors import grading_trend

    assert grading_trend(patient_id=patient.pk).is_empty


def test_gradings_are_not_edited(surgeon, patient):
    created = surgeon.post("/api/v1/assessments/", grading(patient), format="json").json()
    response = surgeon.patch(f"/api/v1/assessments/{created['id']}/", {"note": "x"}, format="json")
    assert response.status_code == 405


# --- Plans -------------------------------------------------------------------------------------


def plan_payload(patient, **extra):
    return {
        "patient": patient.pk,
        "status": "active",
        "goals": "Smile without the eye closing",
        "modalities": ["toxin", "therapy"],
        "severity": "moderate",
        "lifestyle": "can_invest_time",
        "surgery_comfort": "hesitant",
        "previous_experience": "Toxin elsewhere, wore off at 8 weeks",
        "stages": [
            {"modality": "therapy", "description": "3 months NMRT", "target_start": "2027-03-20"},
            {"modality": "toxin", "description": "Toxin every 12-16 weeks"},
            {"modality": "surgery", "description": "DAO excision if smile distortion remains"},
        ],
        **extra,
    }


def test_plan_created_with_ordered_stages(surgeon, surgeon_user, patient):
    response = surgeon.post("/api/v1/treatment-plans/", plan_payload(patient), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["author"]["id"] == surgeon_user.pk
    assert body["modalities"] == ["therapy", "toxin"]
    assert [s["description"] for s in body["stages"]] == [
        "3 months NMRT",
        "Toxin every 12-16 weeks",
        "DAO excision if smile distortion remains",
    ]


def test_second_active_plan_answers_409(surgeon, patient):
    surgeon.post("/api/v1/treatment-plans/", plan_payload(patient), format="json")
    response = surgeon.post("/api/v1/treatment-plans/", plan_payload(patient), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "active_plan_exists"


def test_plan_update_keeps_stages_with_encounters(surgeon, injector_user, patient):
    plan = surgeon.post("/api/v1/treatment-plans/", plan_payload(patient), format="json").json()
    toxin_stage = PlanStage.objects.get(pk=plan["stages"][1]["id"])
    record_toxin(patient, injector_user, plan_stage=toxin_stage)
    response = surgeon.patch(
        f"/api/v1/treatment-plans/{plan['id']}/", {"stages": [plan["stages"][0]]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stage_in_use"
    response = surgeon.patch(
        f"/api/v1/treatment-plans/{plan['id']}/",
        {"stages": [{**plan["stages"][1], "status": "in_progress"}, plan["stages"][0]]},
        format="json",
    )
    assert response.status_code == 200
    assert [(s["id"], s["status"]) for s in response.json()["stages"]] == [
        (toxin_stage.pk, "in_progress"),
        (plan["stages"][0]["id"], "planned"),
    ]


def test_plan_stage_of_another_patient_cannot_be_linked(injector, surgeon, patient):
    other = PatientFactory()
    plan = surgeon.post("/api/v1/treatment-plans/", plan_payload(other), format="json").json()
    lot = ToxinLotFactory()
    payload = {
        "patient": patient.pk,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "product": lot.product,
        "lot": lot.pk,
        "dilution_ml": "2.5",
        "plan_stage": plan["stages"][1]["id"],
        "injections": [{"muscle": "mentalis", "side": "left", "units": "2"}],
    }
    response = injector.post("/api/v1/toxin-sessions/", payload, format="json")
    assert response.status_code == 400
    assert "plan_stage" in response.json()["fields"]


def test_plan_needs_known_modalities(surgeon, patient):
    response = surgeon.post(
        "/api/v1/treatment-plans/", plan_payload(patient, modalities=["acupuncture"]), format="json"
    )
    assert response.status_code == 400
    assert "modalities" in response.json()["fields"]
    assert not TreatmentPlan.objects.exists()


# --- Lots --------------------------------------------------------------------------------------


def lot_payload(**extra):
    return {
        "product": "abobotulinumtoxinA",
        "lot_number": " d1234x ",
        "expiry_date": "2028-01-31",
        "vial_units": 300,
        **extra,
    }


def test_manager_registers_a_lot(manager):
    response = manager.post("/api/v1/toxin-lots/", lot_payload(), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["lot_number"] == "D1234X"
    assert response.json()["session_count"] == 0


def test_same_lot_twice_answers_400(manager):
    manager.post("/api/v1/toxin-lots/", lot_payload(), format="json")
    response = manager.post("/api/v1/toxin-lots/", lot_payload(lot_number="D1234X"), format="json")
    assert response.status_code == 400
    assert "lot_number" in response.json()["fields"]


def test_used_lot_keeps_its_product(manager, injector_user, patient):
    lot = ToxinLotFactory()
    record_toxin(patient, injector_user, lot=lot)
    response = manager.patch(
        f"/api/v1/toxin-lots/{lot.pk}/", {"product": "incobotulinumtoxinA"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "lot_in_use"


def test_clinicians_read_but_do_not_edit_lots(injector):
    lot = ToxinLotFactory()
    assert injector.get("/api/v1/toxin-lots/").status_code == 200
    assert injector.patch(f"/api/v1/toxin-lots/{lot.pk}/", {"notes": "x"}, format="json").status_code == 403
    assert injector.post("/api/v1/toxin-lots/", lot_payload(), format="json").status_code == 403


def test_lot_recall_lists_every_patient_who_received_it(surgeon, injector_user):
    lot = ToxinLotFactory()
    first, second = PatientFactory(), PatientFactory()
    record_toxin(first, injector_user, lot=lot, occurred_at=timezone.now() - timedelta(days=100))
    record_toxin(first, injector_user, lot=lot)
    record_toxin(second, injector_user, lot=lot)
    record_toxin(PatientFactory(), injector_user)  # another lot
    response = surgeon.get(f"/api/v1/toxin-lots/{lot.pk}/patients/")
    assert response.status_code == 200
    by_patient = {r["patient"]["id"]: r for r in response.json()}
    assert set(by_patient) == {first.pk, second.pk}
    assert len(by_patient[first.pk]["sessions"]) == 2
    assert by_patient[second.pk]["patient"]["mrn"] == second.mrn
    assert AuditEvent.objects.filter(action="toxin_lot.recipients_viewed").exists()


def test_lot_recall_is_clinical_data(manager):
    lot = ToxinLotFactory()
    assert manager.get(f"/api/v1/toxin-lots/{lot.pk}/patients/").status_code == 403


def test_manager_sets_dose_limits(manager, injector):
    response = manager.put(
        "/api/v1/toxin-dose-limits/onabotulinumtoxinA/",
        {"max_units_per_session": "70", "max_units_per_site": "5"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    limits = {row["product"]: row for row in injector.get("/api/v1/toxin-dose-limits/").json()}
    assert len(limits) == 6
    assert limits["onabotulinumtoxinA"]["max_units_per_session"] == "70.00"
    assert limits["abobotulinumtoxinA"]["max_units_per_session"] is None
    assert injector.put("/api/v1/toxin-dose-limits/onabotulinumtoxinA/", {}, format="json").status_code == 403


def test_dose_limit_for_an_unknown_product_answers_400(manager):
    response = manager.put(
        "/api/v1/toxin-dose-limits/snake-oil/", {"max_units_per_session": "7"}, format="json"
    )
    assert response.status_code == 400
