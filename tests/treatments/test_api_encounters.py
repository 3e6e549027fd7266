"""The encounter endpoints: payload shapes, clinical rules as HTTP answers, signing, addenda."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduling.models import Recall
from tests.factories import AppointmentFactory, PatientFactory
from treatments import services
from treatments.models import Encounter, ToxinDoseLimit

from .factories import (
    SUNNYBROOK_NORMAL,
    ToxinLotFactory,
    record_consultation,
    record_surgery,
    record_therapy,
    record_toxin,
)

pytestmark = pytest.mark.django_db


def toxin_payload(patient, lot, **extra):
    return {
        "patient": patient.pk,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "product": lot.product,
        "lot": lot.pk,
        "dilution_ml": "2.5",
        "injections": [
            {"muscle": "orbicularis_oculi_orbital", "side": "left", "units": "2.5", "points": 2},
            {"muscle": "mentalis", "side": "right", "units": "5", "points": 1},
        ],
        "response_onset_days": 4,
        "response_duration_weeks": 11,
        "response_ptosis": True,
        **extra,
    }


def test_toxin_session_created_with_nested_injections(injector, patient):
    lot = ToxinLotFactory(vial_units=100)
    response = injector.post("/api/v1/toxin-sessions/", toxin_payload(patient, lot), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["kind"] == "toxin"
    assert body["product"] == "onabotulinumtoxinA"
    assert body["total_units"] == "7.50"
    assert body["units_per_0_1_ml"] == "4.00"
    assert body["injections"] == [
        {
            "muscle": "orbicularis_oculi_orbital",
            "side": "left",
            "units": "2.50",
            "points": 2,
            "diagram_x": None,
            "diagram_y": None,
        },
        {
            "muscle": "mentalis",
            "side": "right",
            "units": "5.00",
            "points": 1,
            "diagram_x": None,
            "diagram_y": None,
        },
    ]
    assert body["response_ptosis"] is True
    # No dose limit passed; the patient has no toxin consent (consents.rules).
    assert body["warnings"] == ["No valid consent for Botulinum toxin injections."]
    assert body["clinician"]["name"]


def test_toxin_session_shows_dose_limit_warnings(injector, patient):
    ToxinDoseLimit.objects.create(product="onabotulinumtoxinA", max_units_per_site="3")
    response = injector.post(
        "/api/v1/toxin-sessions/", toxin_payload(patient, ToxinLotFactory()), format="json"
    )
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "Mentalis (right): 5 U per point is above the clinic's limit of 3 U per site.",
        "No valid consent for Botulinum toxin injections.",  # consents.rules, after the dose limits
    ]


def test_session_inside_interval_answers_409_with_earliest(injector, injector_user, patient):
    previous = record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=50))
    response = injector.post(
        "/api/v1/toxin-sessions/", toxin_payload(patient, ToxinLotFactory()), format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "reinjection_too_soon"
    earliest = timezone.localdate(previous.encounter.occurred_at) + timedelta(days=84)
    assert body["earliest"] == earliest.isoformat()


def test_session_inside_interval_with_override_reason_is_201(injector, injector_user, patient):
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=50))
    payload = toxin_payload(patient, ToxinLotFactory(), override_reason="Wore off at 6 weeks; severe spasm")
    response = injector.post("/api/v1/toxin-sessions/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["interval_override_reason"] == "Wore off at 6 weeks; severe spasm"
    assert response.json()["days_since_previous"] == 50


def test_expired_lot_answers_400_on_lot(injector, patient):
    lot = ToxinLotFactory(expiry_date=timezone.localdate() - timedelta(days=1))
    response = injector.post("/api/v1/toxin-sessions/", toxin_payload(patient, lot), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "lot_expired"
    assert "lot" in response.json()["fields"]


def test_lot_of_another_product_answers_400(injector, patient):
    lot = ToxinLotFactory(product="incobotulinumtoxinA")
    payload = toxin_payload(patient, lot, product="onabotulinumtoxinA")
    response = injector.post("/api/v1/toxin-sessions/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "lot_product_mismatch"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"note": "bad\x00note"}, "note"),
        ({"product": "botox"}, "product"),
        ({"patient": 2**70}, "patient"),
        ({"lot": 2**64}, "lot"),
        ({"dilution_ml": "NaN"}, "dilution_ml"),
        ({"dilution_ml": "1e400"}, "dilution_ml"),
        ({"response_onset_days": 2**40}, "response_onset_days"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"injections": []}, "injections"),
        ({"injections": [{"muscle": "biceps", "side": "left", "units": "2"}]}, "injections"),
        (
            {"injections": [{"muscle": "mentalis", "side": "left", "units": "2", "points": 2**40}]},
            "injections",
        ),
        ({"injections": [{"muscle": "mentalis", "side": "up", "units": "2"}]}, "injections"),
        ({"injections": [{"muscle": "mentalis", "side": "left", "units": "Infinity"}]}, "injections"),
    ],
)
def test_bad_input_answers_400_naming_the_field(injector, patient, change, field):
    payload = {**toxin_payload(patient, ToxinLotFactory()), **change}
    response = injector.post("/api/v1/toxin-sessions/", payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert not Encounter.objects.exists()


def test_recording_for_an_appointment_of_another_patient_is_refused(injector, patient):
    appointment = AppointmentFactory(patient=PatientFactory())
    payload = toxin_payload(patient, ToxinLotFactory(), appointment=appointment.pk)
    response = injector.post("/api/v1/toxin-sessions/", payload, format="json")
    assert response.status_code == 400
    assert "appointment" in response.json()["fields"]


def test_encounter_links_to_its_appointment(injector, patient):
    appointment = AppointmentFactory(patient=patient, starts_at=timezone.now() - timedelta(hours=2))
    payload = toxin_payload(patient, ToxinLotFactory(), appointment=appointment.pk)
    response = injector.post("/api/v1/toxin-sessions/", payload, format="json")
    assert response.status_code == 201
    assert Encounter.objects.get().appointment == appointment


def test_recording_the_visit_completes_its_appointment(injector, patient):
    appointment = AppointmentFactory(patient=patient, starts_at=timezone.now() - timedelta(hours=2))
    payload = toxin_payload(patient, ToxinLotFactory(), appointment=appointment.pk)
    assert injector.post("/api/v1/toxin-sessions/", payload, format="json").status_code == 201
    appointment.refresh_from_db()
    assert appointment.status == "completed"
    assert appointment.events.filter(action="completed").count() == 1


def test_recording_against_a_completed_or_future_appointment_leaves_it_as_it_is(injector):
    done = AppointmentFactory(starts_at=timezone.now() - timedelta(days=2), status="completed")
    ahead = AppointmentFactory(starts_at=timezone.now() + timedelta(minutes=10))
    for appointment in (done, ahead):
        payload = toxin_payload(appointment.patient, ToxinLotFactory(), appointment=appointment.pk)
        payload["occurred_at"] = timezone.now().isoformat()
        assert injector.post("/api/v1/toxin-sessions/", payload, format="json").status_code == 201
    done.refresh_from_db()
    ahead.refresh_from_db()
    assert (done.status, ahead.status) == ("completed", "booked")
    assert not done.events.filter(action="completed").exists()


def test_sign_then_edit_answers_409_record_signed(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    response = injector.post(f"/api/v1/toxin-sessions/{session.pk}/sign/")
    assert response.status_code == 200
    assert response.json()["status"] == "signed"
    assert response.json()["signed_by"]["id"] == injector_user.pk
    response = injector.patch(f"/api/v1/toxin-sessions/{session.pk}/", {"note": "changed"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "record_signed"


def test_signing_twice_answers_409(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    injector.post(f"/api/v1/toxin-sessions/{session.pk}/sign/")
    response = injector.post(f"/api/v1/toxin-sessions/{session.pk}/sign/")
    assert response.status_code == 409
    assert response.json()["code"] == "record_signed"


def test_only_the_clinician_signs(surgeon, injector_user, patient):
    session = record_toxin(patient, injector_user)
    response = surgeon.post(f"/api/v1/toxin-sessions/{session.pk}/sign/")
    assert response.status_code == 403
    assert response.json()["code"] == "not_encounter_clinician"


def test_draft_can_be_edited(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    response = injector.patch(
        f"/api/v1/toxin-sessions/{session.pk}/",
        {
            "note": "Patient happy",
            "injections": [{"muscle": "platysma", "side": "left", "units": "10", "points": 4}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["note"] == "Patient happy"
    assert response.json()["total_units"] == "10.00"


def test_a_record_cannot_move_to_another_patient(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    response = injector.patch(
        f"/api/v1/toxin-sessions/{session.pk}/", {"patient": PatientFactory().pk}, format="json"
    )
    assert response.status_code == 400
    assert "patient" in response.json()["fields"]


def test_addenda_only_on_signed_records(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    response = injector.post(
        f"/api/v1/toxin-sessions/{session.pk}/addenda/", {"text": "Lot checked"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "record_not_signed"


def test_addendum_to_signed_record_is_kept_with_author_and_time(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    injector.post(f"/api/v1/toxin-sessions/{session.pk}/sign/")
    response = injector.post(
        f"/api/v1/toxin-sessions/{session.pk}/addenda/",
        {"text": "Left DAO dose was 5 U, not 2.5 U"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["author"]["id"] == injector_user.pk
    detail = injector.get(f"/api/v1/toxin-sessions/{session.pk}/").json()
    assert [a["text"] for a in detail["addenda"]] == ["Left DAO dose was 5 U, not 2.5 U"]


def test_blank_addendum_answers_400(injector, injector_user, patient):
    session = record_toxin(patient, injector_user)
    injector.post(f"/api/v1/toxin-sessions/{session.pk}/sign/")
    response = injector.post(f"/api/v1/toxin-sessions/{session.pk}/addenda/", {"text": "   "}, format="json")
    assert response.status_code == 400
    assert "text" in response.json()["fields"]


def test_therapy_visit_created_with_programme_and_recommendations(therapist, patient):
    payload = {
        "patient": patient.pk,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "techniques": ["semg_biofeedback", "mirror_exercises"],
        "duration_minutes": 50,
        "adherence": "daily",
        "exercises": [
            {"exercise": "Slow eye closure", "repetitions": 10, "hold_seconds": 5, "times_per_day": 2}
        ],
        "patterns": [{"trigger": "smiling", "region": "eye", "severity": "moderate"}],
        "recommendations": [{"muscle": "platysma", "side": "left", "note": "Neck bands on smiling"}],
        "goals": "Smile without eye closure",
    }
    response = therapist.post("/api/v1/therapy-visits/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    # Techniques are kept in catalogue order.
    assert body["techniques"] == ["mirror_exercises", "semg_biofeedback"]
    assert body["exercises"][0]["hold_seconds"] == 5
    assert body["recommendations"] == [
        {"muscle": "platysma", "side": "left", "note": "Neck bands on smiling"}
    ]


def test_surgery_defaults_to_the_usual_follow_up_plan_and_opens_recalls(surgeon, patient, recall_types):
    started = timezone.now() - timedelta(hours=4)
    payload = {
        "patient": patient.pk,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=45)).isoformat(),
        "side": "left",
        "anaesthesia": "local",
        "assistants": "Dr A. Resident",
        "procedures": [{"procedure": "dao_excision"}],
        "complications": [{"description": "Minor haematoma", "grade": "I"}],
        "operative_note": "Left DAO excised through an intraoral incision.",
    }
    response = surgeon.post("/api/v1/surgeries/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["follow_up_plan"] == [
        {"label": "1 week", "after_days": 7},
        {"label": "6 weeks", "after_days": 42},
        {"label": "3 months", "after_days": 91},
    ]
    assert body["occurred_at"] == body["started_at"]
    assert Recall.objects.filter(kind="post_op", patient=patient).count() == 3


@pytest.mark.parametrize(
    ("procedure", "field"),
    [
        ({"procedure": "selective_myectomy"}, "muscle"),
        ({"procedure": "selective_neurolysis"}, "branches_divided"),
        ({"procedure": "upper_eyelid", "gold_weight_grams": "1.2"}, "implant_lot"),
        ({"procedure": "brow_lift", "gold_weight_grams": "1.2", "implant_lot": "G1"}, "gold_weight_grams"),
        ({"procedure": "other"}, "detail"),
    ],
)
def test_procedure_details_are_required_per_kind(surgeon, patient, procedure, field):
    started = timezone.now() - timedelta(hours=4)
    payload = {
        "patient": patient.pk,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=45)).isoformat(),
        "side": "left",
        "anaesthesia": "general",
        "procedures": [procedure],
    }
    response = surgeon.post("/api/v1/surgeries/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]["procedures"][0]


def test_surgery_ending_before_it_starts_is_refused(surgeon, patient):
    started = timezone.now() - timedelta(hours=4)
    payload = {
        "patient": patient.pk,
        "started_at": started.isoformat(),
        "ended_at": (started - timedelta(minutes=5)).isoformat(),
        "side": "left",
        "anaesthesia": "local",
        "procedures": [{"procedure": "dao_excision"}],
    }
    response = surgeon.post("/api/v1/surgeries/", payload, format="json")
    assert response.status_code == 400
    assert "ended_at" in response.json()["fields"]


def test_consultation_keeps_history_examination_and_plan(surgeon, patient):
    payload = {
        "patient": patient.pk,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "history": "Left Bell's palsy 2019",
        "examination": "Oral-ocular synkinesis",
        "symptoms": "Eye closes when eating",
        "severity": "moderate",
        "goals": "Eat in public without eye closing",
        "plan_summary": "NMRT then toxin",
    }
    response = surgeon.post("/api/v1/consultations/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["history"] == "Left Bell's palsy 2019"
    assert response.json()["summary"] == "Severity: moderate · NMRT then toxin"


def test_follow_up_looks_at_the_last_treatment_by_default(surgeon, injector_user, patient):
    session = record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=14))
    payload = {
        "patient": patient.pk,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "response": "better",
        "response_note": "Eye closure on smiling much reduced",
    }
    response = surgeon.post("/api/v1/follow-ups/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["treatment"] == session.pk


SIGNED_EDITS = [
    ("toxin-sessions", "injector", lambda p, u: record_toxin(p, u), {"note": "x"}),
    ("therapy-visits", "therapist", lambda p, u: record_therapy(p, u), {"goals": "x"}),
    ("surgeries", "surgeon", lambda p, u: record_surgery(p, u), {"findings": "x"}),
    ("consultations", "surgeon", lambda p, u: record_consultation(p, u), {"examination": "x"}),
    (
        "follow-ups",
        "surgeon",
        lambda p, u: services.follow_up_record(patient=p, actor=u, data={"occurred_at": timezone.now()}),
        {"response": "worse"},
    ),
]


@pytest.mark.parametrize(("endpoint", "role", "make", "change"), SIGNED_EDITS)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_signed_records_refuse_every_edit_route(request, patient, endpoint, role, make, change, method):
    client = request.getfixturevalue(role)
    record = make(patient, request.getfixturevalue(f"{role}_user"))
    assert client.post(f"/api/v1/{endpoint}/{record.pk}/sign/").status_code == 200
    response = getattr(client, method)(f"/api/v1/{endpoint}/{record.pk}/", change, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "record_signed"


@pytest.mark.parametrize(
    ("endpoint", "role"),
    [
        ("toxin-sessions", "injector"),
        ("therapy-visits", "therapist"),
        ("surgeries", "surgeon"),
        ("consultations", "surgeon"),
        ("follow-ups", "surgeon"),
        ("treatment-plans", "surgeon"),
        ("assessments", "surgeon"),
    ],
)
def test_records_are_never_deleted_through_the_api(request, endpoint, role):
    client = request.getfixturevalue(role)
    assert client.delete(f"/api/v1/{endpoint}/1/").status_code == 405


def test_encounters_list_is_the_timeline(surgeon, injector_user, therapist_user, patient):
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=3))
    record_therapy(patient, therapist_user)
    response = surgeon.get(f"/api/v1/encounters/?patient={patient.pk}")
    assert response.status_code == 200
    assert [e["kind"] for e in response.json()["results"]] == ["therapy", "toxin"]


def test_sunnybrook_fixture_is_complete():
    assert len(SUNNYBROOK_NORMAL) == 13
