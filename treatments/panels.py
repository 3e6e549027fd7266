"""What the treatments app contributes to the patient chart (patients.chart registry) and to the
appointment page (scheduling.visit_records: the records a visit can start)."""

from datetime import timedelta

from django.utils import timezone

from patients.chart import ChartPanel, register_panel
from scheduling.visit_records import VisitRecorder, register_visit_recorder

from . import charts, selectors


def plan_context(*, patient, user) -> dict:
    return {
        "patient": patient,
        "plans": selectors.patient_plans(patient_id=patient.pk),
        "can_plan": user.has_perm("clinic.record_consultation"),
    }


def timeline_context(*, patient, user) -> dict:
    return {"patient": patient, "entries": selectors.timeline(patient_id=patient.pk, limit=60)}


def trend_context(*, patient, user) -> dict:
    trend = selectors.grading_trend(patient_id=patient.pk)
    return {
        "patient": patient,
        "trend": trend,
        "charts": charts.trend_charts(trend),
        "can_grade": user.has_perm("clinic.record_consultation"),
    }


def toxin_context(*, patient, user) -> dict:
    sessions = selectors.recent_toxin_sessions(patient_id=patient.pk, limit=3)
    year = {
        t["product"]: t
        for t in selectors.units_by_product(
            patient_id=patient.pk, since=timezone.localdate() - timedelta(days=365)
        )
    }
    totals = [
        {**t, "year": year.get(t["product"])} for t in selectors.units_by_product(patient_id=patient.pk)
    ]
    return {
        "patient": patient,
        "comparison": selectors.compare_maps(sessions),
        "totals": totals,
        "can_inject": user.has_perm("clinic.record_toxin"),
    }


PANELS = [
    ChartPanel(
        "treatment_plan",
        "Treatment plan",
        "treatments/panels/plan.html",
        plan_context,
        permission="clinic.view_clinical",
        order=20,
    ),
    ChartPanel(
        "clinical_timeline",
        "Clinical timeline",
        "treatments/panels/timeline.html",
        timeline_context,
        permission="clinic.view_clinical",
        order=30,
    ),
    ChartPanel(
        "grading_trend",
        "Gradings over time",
        "treatments/panels/trend.html",
        trend_context,
        permission="clinic.view_clinical",
        order=40,
    ),
    ChartPanel(
        "toxin_maps",
        "Toxin: recent maps and units",
        "treatments/panels/toxin.html",
        toxin_context,
        permission="clinic.view_clinical",
        order=50,
    ),
]
PANEL_KEYS = frozenset(p.key for p in PANELS)


# The records a visit can start, in the order offered (the kind matching the appointment first).
VISIT_RECORDERS = (
    VisitRecorder("toxin", "Toxin session", "treatments:toxin_new", "clinic.record_toxin", order=1),
    VisitRecorder("therapy", "Therapy visit", "treatments:therapy_new", "clinic.record_therapy", order=2),
    VisitRecorder("surgery", "Surgery", "treatments:surgery_new", "clinic.record_surgery", order=3),
    VisitRecorder(
        "consultation", "Consultation", "treatments:consultation_new", "clinic.record_consultation", order=4
    ),
    VisitRecorder(
        "follow_up", "Follow-up", "treatments:follow_up_new", "clinic.record_consultation", order=5
    ),
)


def register() -> None:
    for panel in PANELS:
        register_panel(panel)
    for recorder in VISIT_RECORDERS:
        register_visit_recorder(recorder)
