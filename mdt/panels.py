"""What the MDT app contributes to the patient chart (patients.chart registry)."""

from typing import Any

from patients.chart import ChartPanel, register_panel

from . import selectors


def mdt_context(*, patient: Any, user: Any) -> dict[str, Any]:
    return {
        "patient": patient,
        "items": selectors.patient_items(patient_id=patient.pk)[:10],
        "can_flag": user.has_perm("clinic.record_consultation"),
    }


PANELS = [
    ChartPanel(
        "mdt", "MDT meetings", "mdt/panel.html", mdt_context, permission="clinic.view_clinical", order=48
    ),
]


def register() -> None:
    for panel in PANELS:
        register_panel(panel)
