"""The patient chart's letters panel (patients.chart registry)."""

from typing import Any

from patients.chart import ChartPanel, register_panel

from . import selectors, services


def letters_context(*, patient: Any, user: Any) -> dict[str, Any]:
    return {
        "patient": patient,
        "letters": list(selectors.letters_of(patient_id=patient.pk)[:20]),
        "can_write": services.may_write_letters(user),
    }


def register() -> None:
    register_panel(
        ChartPanel(
            "letters",
            "Clinic letters",
            "letters/panel.html",
            letters_context,
            permission="clinic.view_clinical",
            order=48,
        )
    )
