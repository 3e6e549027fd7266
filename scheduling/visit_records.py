"""What a clinician may record for an appointment, contributed by the apps that own the records.

The appointment page lives here, but the records (toxin sessions, surgeries, therapy visits,
consultations) belong to a higher app. It registers a ``VisitRecorder`` for each kind in its
AppConfig.ready(); this module never imports it, and knows none of its URL names.

    register_visit_recorder(VisitRecorder(
        kind="toxin", label="Toxin session", url_name="treatments:toxin_new",
        permission="clinic.record_toxin",
    ))
"""

from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class VisitRecorder:
    # The appointment type code this record belongs to (offered first for such appointments).
    kind: str
    label: str
    # The page that starts the record; it receives ?patient=<id>&appointment=<id>.
    url_name: str
    permission: str
    order: int = 100


_recorders: dict[str, VisitRecorder] = {}

# Appointment types recorded as another kind (a post-operative visit is a follow-up).
RECORDED_AS = {"post_op": "follow_up"}


def register_visit_recorder(recorder: VisitRecorder) -> None:
    _recorders[recorder.kind] = recorder


def visit_record_links(*, appointment: Any, user: Any) -> list[dict[str, str]]:
    """Links to record this appointment's visit, for the kinds ``user`` may record, the kind
    matching the appointment's type first."""
    code = appointment.appointment_type.code
    matching = RECORDED_AS.get(code, code)
    query = f"?patient={appointment.patient_id}&appointment={appointment.pk}"
    recorders = sorted(_recorders.values(), key=lambda r: (r.kind != matching, r.order, r.kind))
    return [
        {"label": r.label, "url": reverse(r.url_name) + query}
        for r in recorders
        if user.has_perm(r.permission)
    ]
