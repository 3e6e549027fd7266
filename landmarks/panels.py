"""The measurements trend on the patient chart (patients.chart registry)."""

from patients.chart import ChartPanel, register_panel

from . import charts, selectors


def measurements_context(*, patient, user) -> dict:
    trend = selectors.patient_trend(patient_id=patient.pk)
    return {"patient": patient, "trend": trend, "charts": charts.trend_charts(trend)}


PANELS = [
    ChartPanel(
        "measurements",
        "Measurements from photographs",
        "landmarks/panel.html",
        measurements_context,
        permission="clinic.view_clinical",
        order=46,
    ),
]


def register() -> None:
    for panel in PANELS:
        register_panel(panel)
