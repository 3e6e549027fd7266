"""What the photos app contributes to the patient chart (patients.chart registry)."""

from patients.chart import ChartPanel, register_panel

from . import selectors
from .models import STANDARD_VIEWS


def photos_context(*, patient, user) -> dict:
    sets = list(selectors.patient_sets(patient_id=patient.pk)[:2])
    return {
        "patient": patient,
        "sets": [selectors.set_layout(s) for s in sets],
        "consent": selectors.current_consent(patient_id=patient.pk),
        "views": STANDARD_VIEWS,
        "can_record": user.has_perm("clinic.record_consultation"),
    }


PANELS = [
    ChartPanel(
        "photographs",
        "Photographs and videos",
        "photos/panel.html",
        photos_context,
        permission="clinic.view_clinical",
        order=45,
    ),
]


def register() -> None:
    for panel in PANELS:
        register_panel(panel)
