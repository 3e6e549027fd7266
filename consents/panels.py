"""The patient chart's procedure consents panel (patients.chart registry)."""

from patients.chart import ChartPanel, register_panel

from . import selectors, services
from .models import Procedure


def consents_context(*, patient, user) -> dict:
    return {
        "patient": patient,
        "consents": list(selectors.consents_of(patient_id=patient.pk)[:20]),
        "can_start": any(services.may_take_consent(user, p) for p in Procedure.values),
    }


def register() -> None:
    register_panel(
        ChartPanel(
            "procedure_consents",
            "Procedure consents",
            "consents/panel.html",
            consents_context,
            permission="clinic.view_clinical",
            order=45,
        )
    )
