"""Surgery follow-up recalls, therapy rules, plans, and the grading trend chart."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from clinic.errors import Invalid
from scheduling.models import Recall
from tests.factories import PatientFactory, ProviderFactory
from treatments import charts, selectors, services
from treatments.exceptions import ActivePlanExists
from treatments.models import Encounter

from .factories import SUNNYBROOK_NORMAL, record_surgery, record_therapy, record_toxin

pytestmark = pytest.mark.django_db


def test_post_op_windows_open_a_few_days_before_and_close_a_week_or_two_after():
    day = date(2027, 3, 1)
    assert services.post_op_window(day, 7) == (date(2027, 3, 7), date(2027, 3, 8), date(2027, 3, 15))
    assert services.post_op_window(day, 42) == (date(2027, 4, 8), date(2027, 4, 12), date(2027, 4, 26))
    assert services.post_op_window(day, 91) == (date(2027, 5, 24), date(2027, 5, 31), date(2027, 6, 14))
    # Never bookable before the operation itself.
    assert services.post_op_window(day, 1)[0] == day


def test_each_follow_up_plan_item_opens_one_recall(patient, surgeon_user, recall_types):
    provider = ProviderFactory(user=surgeon_user)
    surgery = record_surgery(patient, surgeon_user)
    recalls = Recall.objects.filter(patient=patient, kind="post_op").order_by("due_date")
    anchor = timezone.localdate(surgery.started_at)
    assert [r.source for r in recalls] == [f"surgery:{surgery.pk}:{n}" for n in (1, 2, 3)]
    assert [r.due_date for r in recalls] == [anchor + timedelta(days=d) for d in (7, 42, 91)]
    assert all(r.anchor_date == anchor and r.preferred_provider == provider for r in recalls)
    assert all(r.appointment_type.code == "post_op" for r in recalls)


def test_adding_a_visit_to_a_draft_plan_opens_its_recall(patient, surgeon_user, recall_types):
    surgery = record_surgery(patient, surgeon_user, follow_up_plan=[{"label": "1 week", "after_days": 7}])
    services.encounter_update(
        services.SURGERY,
        detail=surgery,
        actor=surgeon_user,
        data={
            "follow_up_plan": [{"label": "1 week", "after_days": 7}, {"label": "6 weeks", "after_days": 42}]
        },
    )
    assert Recall.objects.filter(patient=patient, kind="post_op").count() == 2


def test_a_backfilled_surgery_opens_no_past_recalls(patient, surgeon_user, recall_types):
    record_surgery(patient, surgeon_user, started_at=timezone.now() - timedelta(days=400))
    assert not Recall.objects.exists()


def test_without_the_appointment_type_the_surgery_is_still_recorded(patient, surgeon_user):
    surgery = record_surgery(patient, surgeon_user)
    assert surgery.follow_up_plan.count() == 3
    assert not Recall.objects.exists()


def test_without_a_plan_the_booked_appointment_types_usual_follow_ups_apply(
    patient, surgeon_user, recall_types
):
    """The practice's follow-ups for an appointment type (AppointmentType.follow_up_plan) are the
    operation's plan when the surgeon gives none; without a type plan, 1 week, 6 weeks, 3 months."""
    from tests.factories import AppointmentFactory, AppointmentTypeFactory
    from tests.treatments.factories import surgery_data

    surgery_type = AppointmentTypeFactory(
        code="surgery",
        room_kind="theatre",
        follow_up_plan=[
            {"label": "2 weeks", "after_days": 14, "appointment_type": "post_op"},
            {"label": "4 months", "after_days": 120, "appointment_type": "post_op"},
        ],
    )
    started = timezone.now() - timedelta(hours=2)
    appointment = AppointmentFactory(patient=patient, appointment_type=surgery_type, starts_at=started)
    data = surgery_data(started_at=started)
    del data["follow_up_plan"]
    surgery = services.encounter_record(
        services.SURGERY, patient=patient, actor=surgeon_user, data={**data, "appointment": appointment}
    )
    assert [(f.label, f.after_days) for f in surgery.follow_up_plan.order_by("position")] == [
        ("2 weeks", 14),
        ("4 months", 120),
    ]
    data = surgery_data(started_at=started - timedelta(days=1))
    del data["follow_up_plan"]
    other = services.encounter_record(
        services.SURGERY, patient=PatientFactory(), actor=surgeon_user, data=data
    )
    assert [f.after_days for f in other.follow_up_plan.order_by("position")] == [7, 42, 91]


def test_an_empty_follow_up_plan_opens_nothing(patient, surgeon_user, recall_types):
    record_surgery(patient, surgeon_user, follow_up_plan=[])
    assert not Recall.objects.exists()


def test_gold_weight_is_recorded_with_its_lot(patient, surgeon_user):
    surgery = record_surgery(
        patient,
        surgeon_user,
        procedures=[{"kind": "upper_eyelid", "gold_weight_grams": Decimal("1.2"), "implant_lot": "GW-1"}],
    )
    procedure = surgery.procedures.get()
    assert (procedure.gold_weight_grams, procedure.implant_lot) == (Decimal("1.2"), "GW-1")


def test_therapy_visit_refuses_unknown_techniques(patient, therapist_user):
    with pytest.raises(Invalid) as excinfo:
        record_therapy(patient, therapist_user, techniques=["acupuncture"])
    assert "techniques" in excinfo.value.fields


def test_injector_cannot_record_a_therapy_visit(patient, injector_user):
    with pytest.raises(Invalid) as excinfo:
        record_therapy(patient, injector_user)
    assert "clinician" in excinfo.value.fields


def test_open_recommendations_are_those_since_the_last_session(patient, injector_user, therapist_user):
    now = timezone.now()
    record_therapy(
        patient,
        therapist_user,
        occurred_at=now - timedelta(days=200),
        recommendations=[{"muscle": "mentalis", "side": "left"}],
    )
    record_toxin(patient, injector_user, occurred_at=now - timedelta(days=150))
    record_therapy(
        patient,
        therapist_user,
        occurred_at=now - timedelta(days=30),
        recommendations=[{"muscle": "platysma", "side": "left"}],
    )
    assert [r.muscle for r in selectors.open_recommendations(patient_id=patient.pk)] == ["platysma"]


def test_one_active_plan_per_patient(patient, surgeon_user):
    data = {"status": "active", "goals": "x", "modalities": ["toxin"]}
    first = services.plan_create(patient=patient, actor=surgeon_user, data=data)
    with pytest.raises(ActivePlanExists) as excinfo:
        services.plan_create(patient=patient, actor=surgeon_user, data=data)
    assert excinfo.value.extra["active_plan"] == first.pk
    services.plan_update(plan=first, actor=surgeon_user, data={"status": "completed"})
    assert services.plan_create(patient=patient, actor=surgeon_user, data=data).status == "active"


def test_current_plan_prefers_the_active_one(patient, surgeon_user):
    services.plan_create(
        patient=patient, actor=surgeon_user, data={"status": "draft", "goals": "a", "modalities": ["toxin"]}
    )
    active = services.plan_create(
        patient=patient,
        actor=surgeon_user,
        data={"status": "active", "goals": "b", "modalities": ["therapy"]},
    )
    assert selectors.current_plan(patient_id=patient.pk) == active


def test_follow_up_of_another_patients_treatment_is_refused(patient, surgeon_user, injector_user):
    from tests.factories import PatientFactory

    other = record_toxin(PatientFactory(), injector_user)
    with pytest.raises(Invalid) as excinfo:
        services.follow_up_record(
            patient=patient,
            actor=surgeon_user,
            data={"occurred_at": timezone.now(), "treatment": other.encounter},
        )
    assert "treatment" in excinfo.value.fields


def test_trend_chart_marks_toxin_sessions_and_surgeries(patient, surgeon_user, injector_user):
    now = timezone.now()
    for days, snarl in ((300, 2), (30, 4)):
        services.assessment_record(
            patient=patient,
            instrument="sunnybrook",
            items={**SUNNYBROOK_NORMAL, "voluntary_snarl": snarl},
            assessed_at=now - timedelta(days=days),
            actor=surgeon_user,
        )
    record_toxin(patient, injector_user, occurred_at=now - timedelta(days=200))
    record_surgery(patient, surgeon_user, started_at=now - timedelta(days=100), follow_up_plan=[])
    trend = selectors.grading_trend(patient_id=patient.pk)
    [chart] = charts.trend_charts(trend)
    assert chart.title == "Sunnybrook Facial Grading System: composite"
    assert len(chart.points) == 2
    assert chart.points[0]["y"] > chart.points[1]["y"]  # 92 -> 100 climbs up the chart
    assert [e["kind"] for e in chart.events] == ["toxin", "surgery"]
    assert "1 toxin session, 1 surgery" in chart.description
    # The table has the same data: both gradings and both treatments, by date.
    assert [r["kind"] for r in trend.rows] == ["assessment", "event", "event", "assessment"]


def test_no_gradings_no_chart(patient):
    assert charts.trend_charts(selectors.grading_trend(patient_id=patient.pk)) == []


def test_timeline_lists_encounters_and_gradings_newest_first(patient, surgeon_user, injector_user):
    record_toxin(patient, injector_user, occurred_at=timezone.now() - timedelta(days=3))
    services.assessment_record(
        patient=patient,
        instrument="house_brackmann",
        items={"grade": 3},
        assessed_at=timezone.now(),
        actor=surgeon_user,
    )
    entries = selectors.timeline(patient_id=patient.pk)
    assert [e.kind for e in entries] == ["assessment", "toxin"]
    assert entries[0].summary == "Grade 3"


def test_encounter_rows_are_never_cascaded_away(patient, injector_user):
    from django.db.models import ProtectedError

    session = record_toxin(patient, injector_user)
    with pytest.raises(ProtectedError):
        session.lot.delete()
    with pytest.raises(ProtectedError):
        Encounter.objects.get(pk=session.pk).patient.delete()


def test_the_chart_lists_every_plan_draft_active_on_hold_and_completed(client, patient, surgeon_user):
    for status, goals in (
        ("completed", "Goals of the finished plan"),
        ("on_hold", "Goals of the paused plan"),
        ("active", "Goals of the plan in use"),
        ("draft", "Goals of the draft written today"),
    ):
        services.plan_create(
            patient=patient,
            actor=surgeon_user,
            data={"status": status, "goals": goals, "modalities": ["toxin"]},
        )
    client.force_login(surgeon_user)

    html = client.get(f"/patients/{patient.pk}/panels/treatment_plan/").content.decode()

    order = [
        html.index(goals)
        for goals in (
            "Goals of the plan in use",
            "Goals of the draft written today",
            "Goals of the paused plan",
            "Goals of the finished plan",
        )
    ]
    assert order == sorted(order)  # the active plan first, then drafts, on hold, completed
    assert html.count("Edit plan") == 4
    assert [p.status for p in selectors.patient_plans(patient_id=patient.pk)] == [
        "active",
        "draft",
        "on_hold",
        "completed",
    ]
