"""The chart panel for toxin timing and dose-response (patients.chart registry)."""

from clinic.models import ClinicSettings
from patients.chart import ChartPanel, register_panel

from . import insights


def dose_response_context(*, patient, user) -> dict:
    return {
        "patient": patient,
        "timing": insights.patient_reinjection_timing(
            patient_id=patient.pk, min_interval_days=ClinicSettings.load().min_reinjection_interval_days
        ),
        "dose": insights.dose_response(patient_id=patient.pk),
    }


PANEL = ChartPanel(
    "dose_response",
    "Toxin: timing and dose-response",
    "treatments/panels/dose_response.html",
    dose_response_context,
    permission="clinic.view_clinical",
    order=55,
)


def register() -> None:
    register_panel(PANEL)
