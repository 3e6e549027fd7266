"""The chart's Messages panel: what was sent to the patient, failed or skipped, and why."""

from patients.chart import ChartPanel, register_panel

from .selectors import message_log


def _context(*, patient, user) -> dict:
    return {"messages": list(message_log(patient_id=patient.pk)[:15]), "patient": patient}


def register() -> None:
    register_panel(
        ChartPanel(
            key="messages",
            title="Messages",
            template="reminders/chart_messages.html",
            context=_context,
            permission="clinic.work_recalls",
            order=80,
        )
    )
