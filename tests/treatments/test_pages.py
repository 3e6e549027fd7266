"""The clinical pages: forms post to the same services, errors land on fields, access by role."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AppointmentFactory, AppointmentTypeFactory, PatientFactory
from treatments import services
from treatments.models import Assessment, Encounter, ToxinLot, TreatmentPlan

from .factories import (
    SUNNYBROOK_NORMAL,
    ToxinLotFactory,
    record_consultation,
    record_surgery,
    record_therapy,
    record_toxin,
)

pytestmark = pytest.mark.django_db


def management(prefix, total, initial=0):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial)}


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def toxin_post(lot, **extra):
    data = {
        "occurred_at": local(timezone.now() - timedelta(hours=1)),
        "product": lot.product,
        "lot": lot.pk,
        "dilution_ml": "2.5",
        **management("injections", 3),
        "injections-0-muscle": "orbicularis_oculi_orbital",
        "injections-0-side": "left",
        "injections-0-units": "2.5",
        "injections-0-points": "2",
        "injections-1-muscle": "mentalis",
        "injections-1-side": "right",
        "injections-1-units": "5",
        "injections-1-points": "1",
        # A blank row the browser left in the table: ignored.
        "injections-2-points": "1",
    }
    data.update(extra)
    return data


PAGES = [
    "/clinical/patients/{patient}/",
    "/clinical/toxin/new/?patient={patient}",
    "/clinical/therapy/new/?patient={patient}",
    "/clinical/surgery/new/?patient={patient}",
    "/clinical/consultation/new/?patient={patient}",
    "/clinical/follow-up/new/?patient={patient}",
    "/clinical/assessments/new/?patient={patient}&instrument=sunnybrook",
    "/clinical/plans/new/?patient={patient}",
    "/clinical/lots/",
    "/clinical/drafts/",
]


@pytest.mark.parametrize("url", PAGES)
def test_front_desk_gets_403_on_every_clinical_page(client, front_desk_user, patient, url):
    client.force_login(front_desk_user)
    assert client.get(url.format(patient=patient.pk)).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_clinicians_open_every_clinical_page_they_record_on(client, request, patient, url):
    role = "therapist" if "/therapy/" in url else "surgeon"
    client.force_login(request.getfixturevalue(f"{role}_user"))
    response = client.get(url.format(patient=patient.pk))
    assert response.status_code == 200
    assert b"<script>" not in response.content  # no inline scripts (CSP)


def test_front_desk_cannot_open_an_encounter(client, front_desk_user, injector_user, patient):
    session = record_toxin(patient, injector_user)
    client.force_login(front_desk_user)
    assert client.get(f"/clinical/encounters/{session.pk}/").status_code == 403


def test_therapist_may_not_open_the_toxin_form(client, therapist_user, patient):
    client.force_login(therapist_user)
    assert client.get(f"/clinical/toxin/new/?patient={patient.pk}").status_code == 403


def test_anonymous_is_sent_to_login(client, patient):
    response = client.get(f"/clinical/toxin/new/?patient={patient.pk}")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_toxin_form_without_patient_is_404(client, injector_user):
    client.force_login(injector_user)
    assert client.get("/clinical/toxin/new/?patient=99999999999999999999").status_code == 404


# --- Toxin session form ------------------------------------------------------------------------


def test_toxin_form_offers_only_unexpired_lots_tagged_by_product(client, injector_user, patient):
    fresh = ToxinLotFactory(lot_number="FRESH1")
    ToxinLotFactory(lot_number="OLD1", expiry_date=timezone.localdate() - timedelta(days=1))
    ToxinLotFactory(lot_number="GONE1", is_active=False)
    dysport = ToxinLotFactory(lot_number="DYS1", product="abobotulinumtoxinA", vial_units=300)
    client.force_login(injector_user)
    html = client.get(f"/clinical/toxin/new/?patient={patient.pk}").content.decode()
    assert "FRESH1" in html and "DYS1" in html
    assert "OLD1" not in html and "GONE1" not in html
    assert f'value="{fresh.pk}" data-product="onabotulinumtoxinA" data-vial-units="100"' in html
    assert f'value="{dysport.pk}" data-product="abobotulinumtoxinA" data-vial-units="300"' in html


def test_toxin_form_from_the_schedule_links_the_appointment(client, injector_user, patient):
    appointment = AppointmentFactory(patient=patient, starts_at=timezone.now() - timedelta(minutes=30))
    client.force_login(injector_user)
    response = client.get(f"/clinical/toxin/new/?patient={patient.pk}&appointment={appointment.pk}")
    assert response.status_code == 200
    assert response.context["form"].initial["appointment"] == appointment


def test_appointment_page_offers_to_record_the_visit_matching_its_type(client, injector_user, patient):
    toxin_type = AppointmentTypeFactory(code="toxin", name="Toxin session", is_toxin=True)
    consultation = AppointmentFactory(patient=patient, starts_at=timezone.now() - timedelta(days=3))
    visit = AppointmentFactory(
        patient=patient, appointment_type=toxin_type, starts_at=timezone.now() - timedelta(minutes=30)
    )
    client.force_login(injector_user)
    first_labels = {}
    for appointment in (consultation, visit):
        links = client.get(f"/schedule/appointments/{appointment.pk}/").context["record_links"]
        labels = [link["label"] for link in links]
        assert set(labels) == {"Toxin session", "Consultation", "Follow-up"}
        first_labels[appointment.appointment_type.code] = labels[0]
    assert first_labels == {"consultation": "Consultation", "toxin": "Toxin session"}
    assert links[0]["url"] == f"/clinical/toxin/new/?patient={patient.pk}&appointment={visit.pk}"


def test_appointment_page_offers_no_recording_to_the_front_desk(client, front_desk_user, patient):
    appointment = AppointmentFactory(patient=patient, starts_at=timezone.now() - timedelta(minutes=30))
    client.force_login(front_desk_user)
    response = client.get(f"/schedule/appointments/{appointment.pk}/")
    assert response.status_code == 200
    assert response.context["record_links"] == []


def test_toxin_form_refuses_another_patients_appointment(client, injector_user, patient):
    appointment = AppointmentFactory(patient=PatientFactory())
    client.force_login(injector_user)
    response = client.get(f"/clinical/toxin/new/?patient={patient.pk}&appointment={appointment.pk}")
    assert response.status_code == 404


def test_posting_the_toxin_form_records_a_draft(client, injector_user, patient):
    lot = ToxinLotFactory()
    client.force_login(injector_user)
    response = client.post(f"/clinical/toxin/new/?patient={patient.pk}", toxin_post(lot))
    session = Encounter.objects.get(patient=patient)
    assert response.status_code == 302
    assert response["Location"] == f"/clinical/encounters/{session.pk}/"
    assert session.toxin_session.injections.count() == 2
    assert session.status == "draft"


def test_expired_lot_is_refused_on_the_lot_field(client, injector_user, patient):
    lot = ToxinLotFactory(expiry_date=timezone.localdate() - timedelta(days=2))
    client.force_login(injector_user)
    response = client.post(f"/clinical/toxin/new/?patient={patient.pk}", toxin_post(lot))
    assert response.status_code == 200
    assert response.context["form"].errors["lot"]
    assert not Encounter.objects.exists()


def test_bad_row_error_lands_on_the_row(client, injector_user, patient):
    client.force_login(injector_user)
    response = client.post(
        f"/clinical/toxin/new/?patient={patient.pk}",
        toxin_post(ToxinLotFactory(), **{"injections-1-units": "300"}),
    )
    assert response.status_code == 200
    assert response.context["formsets"]["injections"].forms[1].errors["units"]


def test_inside_the_interval_the_form_asks_for_a_reason_then_records(client, injector_user, patient):
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=40))
    client.force_login(injector_user)
    page = client.get(f"/clinical/toxin/new/?patient={patient.pk}").content.decode()
    assert "Inside the minimum interval" in page
    assert 'name="override_reason"' in page
    response = client.post(f"/clinical/toxin/new/?patient={patient.pk}", toxin_post(ToxinLotFactory()))
    assert response.status_code == 200
    assert response.context["form"].errors["override_reason"]
    response = client.post(
        f"/clinical/toxin/new/?patient={patient.pk}",
        toxin_post(ToxinLotFactory(), override_reason="Severe platysmal bands, effect gone"),
    )
    assert response.status_code == 302
    assert Encounter.objects.filter(patient=patient).count() == 2


def test_repeat_last_map_prefills_the_previous_rows(client, injector_user, patient):
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=90))
    client.force_login(injector_user)
    response = client.get(f"/clinical/toxin/new/?patient={patient.pk}&repeat=last")
    formset = response.context["formsets"]["injections"]
    assert [(f.initial["muscle"], f.initial["side"]) for f in formset.forms] == [
        ("orbicularis_oculi_orbital", "left"),
        ("mentalis", "left"),
        ("depressor_anguli_oris", "right"),
    ]
    assert response.context["form"].initial["product"] == "onabotulinumtoxinA"


def test_toxin_form_shows_the_last_three_maps_and_reported_response(client, injector_user, patient):
    for days in (400, 300, 200, 100):
        record_toxin(
            patient,
            injector_user,
            occurred_at=timezone.now() - timedelta(days=days),
            response_duration_weeks=days // 30,
        )
    client.force_login(injector_user)
    response = client.get(f"/clinical/toxin/new/?patient={patient.pk}")
    comparison = response.context["comparison"]
    assert len(comparison.sessions) == 3
    # The response to the 300-day session was reported at the 200-day one.
    assert comparison.responses[0].response_duration_weeks == 6
    assert comparison.responses[-1] is None
    assert "Reported response" in response.content.decode()


def test_therapists_recommendation_appears_on_the_next_toxin_form(
    client, injector_user, therapist_user, patient
):
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=100))
    record_therapy(
        patient,
        therapist_user,
        occurred_at=timezone.now() - timedelta(days=20),
        recommendations=[{"muscle": "platysma", "side": "right", "note": "Neck bands when smiling"}],
    )
    client.force_login(injector_user)
    html = client.get(f"/clinical/toxin/new/?patient={patient.pk}").content.decode()
    assert "Neck bands when smiling" in html
    assert 'data-add-injection data-muscle="platysma" data-side="right"' in html


def test_recommendation_is_gone_once_the_next_session_is_recorded(
    client, injector_user, therapist_user, patient
):
    record_therapy(
        patient,
        therapist_user,
        occurred_at=timezone.now() - timedelta(days=100),
        recommendations=[{"muscle": "platysma", "side": "right", "note": "Neck bands when smiling"}],
    )
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=90))
    client.force_login(injector_user)
    html = client.get(f"/clinical/toxin/new/?patient={patient.pk}").content.decode()
    assert "Neck bands when smiling" not in html


# --- Encounter record: signing, addenda, read-only ---------------------------------------------


def test_sign_button_signs_and_the_record_becomes_read_only(client, injector_user, patient):
    session = record_toxin(patient, injector_user)
    client.force_login(injector_user)
    page = client.get(f"/clinical/encounters/{session.pk}/").content.decode()
    assert "Edit draft" in page and ">Sign</button>" in page
    response = client.post(f"/clinical/encounters/{session.pk}/sign/")
    assert response.status_code == 302
    page = client.get(f"/clinical/encounters/{session.pk}/").content.decode()
    assert "Signed by" in page
    assert "Edit draft" not in page
    assert "Add addendum" in page


def test_posting_an_edit_to_a_signed_record_answers_409(client, injector_user, patient):
    session = record_toxin(patient, injector_user)
    services.encounter_sign(encounter=session.encounter, actor=injector_user)
    client.force_login(injector_user)
    response = client.post(f"/clinical/encounters/{session.pk}/edit/", toxin_post(ToxinLotFactory()))
    assert response.status_code == 409
    assert client.get(f"/clinical/encounters/{session.pk}/edit/").status_code == 302


def test_addendum_form_adds_an_addendum(client, injector_user, patient):
    session = record_toxin(patient, injector_user)
    services.encounter_sign(encounter=session.encounter, actor=injector_user)
    client.force_login(injector_user)
    response = client.post(
        f"/clinical/encounters/{session.pk}/addenda/", {"text": "Phoned: mild ptosis, resolving"}
    )
    assert response.status_code == 302
    assert (
        "Phoned: mild ptosis, resolving" in client.get(f"/clinical/encounters/{session.pk}/").content.decode()
    )


def test_addendum_to_a_draft_answers_409_on_the_page(client, injector_user, patient):
    session = record_toxin(patient, injector_user)
    client.force_login(injector_user)
    response = client.post(f"/clinical/encounters/{session.pk}/addenda/", {"text": "x"})
    assert response.status_code == 409


def test_another_clinician_cannot_sign(client, surgeon_user, injector_user, patient):
    session = record_toxin(patient, injector_user)
    client.force_login(surgeon_user)
    assert ">Sign</button>" not in client.get(f"/clinical/encounters/{session.pk}/").content.decode()
    assert client.post(f"/clinical/encounters/{session.pk}/sign/").status_code == 403


def test_editing_a_draft_fills_the_form_back_in(client, injector_user, patient):
    session = record_toxin(patient, injector_user, note="First note")
    client.force_login(injector_user)
    response = client.get(f"/clinical/encounters/{session.pk}/edit/")
    assert response.context["form"].initial["note"] == "First note"
    assert len(response.context["formsets"]["injections"].forms) == 3
    response = client.post(
        f"/clinical/encounters/{session.pk}/edit/", toxin_post(session.lot, note="Second note")
    )
    assert response.status_code == 302
    assert Encounter.objects.get(pk=session.pk).note == "Second note"


@pytest.mark.parametrize("kind", ["therapy", "surgery", "consultation", "follow_up"])
def test_every_encounter_page_renders_for_its_recorder(client, request, patient, kind):
    role = {"therapy": "therapist", "surgery": "surgeon", "consultation": "surgeon", "follow_up": "surgeon"}[
        kind
    ]
    user = request.getfixturevalue(f"{role}_user")
    if kind == "therapy":
        record = record_therapy(patient, user)
    elif kind == "surgery":
        record = record_surgery(patient, user)
    elif kind == "consultation":
        record = record_consultation(patient, user)
    else:
        record = services.follow_up_record(
            patient=patient, actor=user, data={"occurred_at": timezone.now(), "response": "better"}
        )
    client.force_login(user)
    assert client.get(f"/clinical/encounters/{record.pk}/").status_code == 200
    assert client.get(f"/clinical/encounters/{record.pk}/edit/").status_code == 200


def test_therapy_form_records_programme_patterns_and_recommendations(client, therapist_user, patient):
    client.force_login(therapist_user)
    data = {
        "occurred_at": local(timezone.now() - timedelta(hours=1)),
        "techniques": ["mirror_exercises", "mime_therapy"],
        "adherence": "daily",
        **management("exercises", 1),
        "exercises-0-exercise": "Slow smile",
        "exercises-0-repetitions": "10",
        "exercises-0-hold_seconds": "5",
        "exercises-0-times_per_day": "3",
        **management("patterns", 1),
        "patterns-0-trigger": "eating",
        "patterns-0-region": "tearing",
        **management("recommendations", 1),
        "recommendations-0-muscle": "orbicularis_oculi_pretarsal",
        "recommendations-0-side": "left",
    }
    response = client.post(f"/clinical/therapy/new/?patient={patient.pk}", data)
    assert response.status_code == 302, response.context["form"].errors
    visit = Encounter.objects.get(patient=patient).therapy_visit
    assert visit.techniques == ["mirror_exercises", "mime_therapy"]
    assert visit.exercises.get().hold_seconds == 5
    assert visit.recommendations.get().muscle == "orbicularis_oculi_pretarsal"


def test_surgery_form_offers_the_usual_follow_up_plan_and_opens_recalls(
    client, surgeon_user, patient, recall_types
):
    client.force_login(surgeon_user)
    page = client.get(f"/clinical/surgery/new/?patient={patient.pk}")
    plan = page.context["formsets"]["follow_up_plan"]
    assert [f.initial["after_days"] for f in plan.forms] == [7, 42, 91]
    start = timezone.now() - timedelta(hours=3)
    data = {
        "started_at": local(start),
        "ended_at": local(start + timedelta(minutes=40)),
        "side": "left",
        "anaesthesia": "local",
        **management("procedures", 1),
        "procedures-0-kind": "upper_eyelid",
        "procedures-0-gold_weight_grams": "1.2",
        "procedures-0-implant_lot": "GW-2291",
        **management("stimulated_branches", 0),
        **management("complications", 0),
        **management("follow_up_plan", 2),
        "follow_up_plan-0-label": "1 week",
        "follow_up_plan-0-after_days": "7",
        "follow_up_plan-1-label": "6 weeks",
        "follow_up_plan-1-after_days": "42",
    }
    response = client.post(f"/clinical/surgery/new/?patient={patient.pk}", data)
    assert response.status_code == 302
    surgery = Encounter.objects.get(patient=patient).surgery
    assert surgery.procedures.get().implant_lot == "GW-2291"
    assert patient.recalls.filter(kind="post_op").count() == 2


# --- Gradings, plans, lots ---------------------------------------------------------------------


def sunnybrook_post(**changes):
    items = {**SUNNYBROOK_NORMAL, **changes}
    return {"assessed_at": local(timezone.now() - timedelta(minutes=5)), "side": "left"} | {
        f"item_{k}": str(v) for k, v in items.items()
    }


def test_sunnybrook_form_is_laid_out_like_the_paper_form(client, surgeon_user, patient):
    client.force_login(surgeon_user)
    html = client.get(
        f"/clinical/assessments/new/?patient={patient.pk}&instrument=sunnybrook"
    ).content.decode()
    for heading in ("Resting symmetry", "Symmetry of voluntary movement", "Synkinesis", "Composite"):
        assert heading in html
    assert 'id="sunnybrook-weights"' in html
    assert 'data-score="composite"' in html


def test_sunnybrook_form_records_and_scores(client, surgeon_user, patient):
    client.force_login(surgeon_user)
    response = client.post(
        f"/clinical/assessments/new/?patient={patient.pk}&instrument=sunnybrook",
        sunnybrook_post(rest_eye="narrow", voluntary_snarl=3),
    )
    assessment = Assessment.objects.get()
    assert response.status_code == 302
    assert assessment.scores == {
        "resting_symmetry": 5,
        "voluntary_movement": 92,
        "synkinesis": 0,
        "composite": 87,
    }
    assert "Composite" in client.get(f"/clinical/assessments/{assessment.pk}/").content.decode()


def test_missing_sunnybrook_item_is_marked_on_the_form(client, surgeon_user, patient):
    client.force_login(surgeon_user)
    data = sunnybrook_post()
    del data["item_synkinesis_snarl"]
    response = client.post(f"/clinical/assessments/new/?patient={patient.pk}&instrument=sunnybrook", data)
    assert response.status_code == 200
    assert "item_synkinesis_snarl" in response.context["form"].errors
    assert not Assessment.objects.exists()


def test_saq_form_renders_the_nine_questions(client, therapist_user, patient):
    client.force_login(therapist_user)
    html = client.get(f"/clinical/assessments/new/?patient={patient.pk}&instrument=saq").content.decode()
    assert html.count('name="item_saq_') == 9 * 5


def test_plan_form_creates_a_plan_with_stages(client, surgeon_user, patient):
    client.force_login(surgeon_user)
    data = {
        "status": "active",
        "goals": "Smile without eye closure",
        "modalities": ["therapy", "toxin"],
        **management("stages", 2),
        "stages-0-modality": "therapy",
        "stages-0-description": "3 months NMRT",
        "stages-0-status": "in_progress",
        "stages-1-modality": "toxin",
        "stages-1-description": "Toxin every 12-16 weeks",
        "stages-1-status": "planned",
    }
    response = client.post(f"/clinical/plans/new/?patient={patient.pk}", data)
    assert response.status_code == 302
    plan = TreatmentPlan.objects.get(patient=patient)
    assert [s.description for s in plan.stages.all()] == ["3 months NMRT", "Toxin every 12-16 weeks"]
    edit = client.get(f"/clinical/plans/{plan.pk}/edit/")
    assert edit.status_code == 200
    assert len(edit.context["stages"].forms) == 2


def test_manager_adds_a_lot_and_sets_a_dose_limit(client, manager_user):
    client.force_login(manager_user)
    response = client.post(
        "/clinical/lots/",
        {
            "product": "incobotulinumtoxinA",
            "lot_number": "x9981",
            "expiry_date": "2028-06-30",
            "vial_units": "100",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert ToxinLot.objects.get().lot_number == "X9981"
    response = client.post(
        "/clinical/lots/dose-limits/incobotulinumtoxinA/",
        {"incobotulinumtoxinA-max_units_per_session": "80", "incobotulinumtoxinA-max_units_per_site": ""},
    )
    assert response.status_code == 302
    assert "80" in client.get("/clinical/lots/").content.decode()


def test_clinician_reads_the_register_but_cannot_add(client, injector_user):
    client.force_login(injector_user)
    html = client.get("/clinical/lots/").content.decode()
    assert "Add a lot" not in html
    assert client.post("/clinical/lots/", {"lot_number": "x"}).status_code == 403


def test_lot_page_lists_patients_for_a_recall(client, surgeon_user, injector_user, patient):
    lot = ToxinLotFactory()
    record_toxin(patient, injector_user, lot=lot)
    client.force_login(surgeon_user)
    assert patient.mrn in client.get(f"/clinical/lots/{lot.pk}/").content.decode()


def test_manager_sees_the_lot_but_not_who_received_it(client, manager_user, injector_user, patient):
    lot = ToxinLotFactory()
    record_toxin(patient, injector_user, lot=lot)
    client.force_login(manager_user)
    html = client.get(f"/clinical/lots/{lot.pk}/").content.decode()
    assert lot.lot_number in html
    assert patient.mrn not in html


def test_drafts_page_lists_my_unsigned_notes(client, injector_user, patient):
    record_toxin(patient, injector_user)
    client.force_login(injector_user)
    assert patient.mrn in client.get("/clinical/drafts/").content.decode()


# --- Patient page and its panels ---------------------------------------------------------------


def _clinical_history(patient, surgeon, injector, therapist, sessions=1):
    record_consultation(patient, surgeon, occurred_at=timezone.now() - timedelta(days=800))
    services.assessment_record(
        patient=patient,
        instrument="sunnybrook",
        items=SUNNYBROOK_NORMAL,
        assessed_at=timezone.now() - timedelta(days=790),
        actor=surgeon,
    )
    services.plan_create(
        patient=patient,
        actor=surgeon,
        data={
            "status": "active",
            "goals": "Better smile",
            "modalities": ["toxin"],
            "stages": [{"modality": "toxin", "description": "Toxin every 12 weeks"}],
        },
    )
    for n in range(sessions):
        record_toxin(patient, injector, occurred_at=timezone.now() - timedelta(days=700 - n * 90))
        services.assessment_record(
            patient=patient,
            instrument="saq",
            items={f"saq_{i}": 3 for i in range(1, 10)},
            assessed_at=timezone.now() - timedelta(days=690 - n * 90),
            actor=None,
        )
    record_therapy(patient, therapist)
    record_surgery(patient, surgeon)


def test_patient_page_renders_plan_timeline_trend_and_maps(
    client, surgeon_user, injector_user, therapist_user, patient
):
    _clinical_history(patient, surgeon_user, injector_user, therapist_user)
    client.force_login(surgeon_user)
    html = client.get(f"/clinical/patients/{patient.pk}/").content.decode()
    for title in (
        "Treatment plan",
        "Clinical timeline",
        "Gradings over time",
        "Toxin: recent maps and units",
    ):
        assert title in html
    assert "<svg" in html and 'role="img"' in html
    assert "The same data as a table" in html
    assert "Toxin every 12 weeks" in html


def test_patient_page_query_count_does_not_grow_with_history(
    client, surgeon_user, injector_user, therapist_user
):
    small, large = PatientFactory(), PatientFactory()
    _clinical_history(small, surgeon_user, injector_user, therapist_user, sessions=1)
    _clinical_history(large, surgeon_user, injector_user, therapist_user, sessions=7)
    client.force_login(surgeon_user)
    client.get(f"/clinical/patients/{small.pk}/")
    counts = []
    for patient in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/clinical/patients/{patient.pk}/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_toxin_form_query_count_does_not_grow_with_history(client, injector_user, therapist_user):
    small, large = PatientFactory(), PatientFactory()
    for patient, sessions in ((small, 1), (large, 6)):
        for n in range(sessions):
            record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=600 - n * 90))
        record_therapy(patient, therapist_user)
    for _ in range(5):
        ToxinLotFactory()
    client.force_login(injector_user)
    client.get(f"/clinical/toxin/new/?patient={small.pk}")
    counts = []
    for patient in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/clinical/toxin/new/?patient={patient.pk}").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def _toxin_visit(patient, provider=None, *, minutes_from_now):
    from tests.factories import ProviderFactory

    toxin_type = AppointmentTypeFactory(
        code="toxin", name="Toxin session", is_toxin=True, room_kind="procedure"
    )
    return AppointmentFactory(
        patient=patient,
        appointment_type=toxin_type,
        provider=provider or ProviderFactory(),
        starts_at=(timezone.now() + timedelta(minutes=minutes_from_now)).replace(second=0, microsecond=0),
    )


def test_toxin_form_from_an_appointment_starts_from_its_time_and_provider(client, injector_user, patient):
    visit = _toxin_visit(patient, minutes_from_now=10)  # the patient is early: the link is offered
    client.force_login(injector_user)

    response = client.get(f"/clinical/toxin/new/?patient={patient.pk}&appointment={visit.pk}")

    html = response.content.decode()
    start = timezone.localtime(visit.starts_at)
    assert f'value="{start:%Y-%m-%dT%H:%M}"' in html  # the appointment's time, not "now"
    assert f'<option value="{visit.pk}" selected>' in html
    assert f"For the appointment at <strong>{start:%H:%M}</strong>" in html
    assert f"with <strong>{visit.provider}</strong>" in html


def test_toxin_form_opened_from_the_chart_picks_todays_toxin_visit(client, injector_user, patient):
    AppointmentFactory(patient=patient, starts_at=timezone.now() - timedelta(hours=2))  # a consultation
    visit = _toxin_visit(patient, minutes_from_now=-20)
    client.force_login(injector_user)

    response = client.get(f"/clinical/toxin/new/?patient={patient.pk}")

    assert response.context["form"].initial["appointment"] == visit
    assert response.context["form"].initial["occurred_at"] == timezone.localtime(visit.starts_at)
    assert f"&appointment={visit.pk}" in response.context["repeat_url"]


def test_the_allergy_badge_names_the_allergies(client, injector_user):
    patient = PatientFactory(allergies="Latex; penicillin")
    client.force_login(injector_user)
    html = client.get(f"/clinical/toxin/new/?patient={patient.pk}").content.decode()
    assert "Allergies: Latex; penicillin</span>" in html
