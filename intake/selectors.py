"""Reads of consultation requests: the triage queue and the patients a request may already be."""

from django.db.models import QuerySet
from phonenumber_field.phonenumber import PhoneNumber

from patients.models import Patient
from patients.selectors import DuplicateCandidate, patient_duplicates, patient_search

from .models import ConsultationRequest

SIMILAR_LIMIT = 5


def request_queryset() -> QuerySet[ConsultationRequest]:
    return ConsultationRequest.objects.select_related(
        "created_by", "decided_by", "patient", "appointment__appointment_type", "appointment__provider__user"
    )


def request_queue(*, status: str | None = None, source: str | None = None) -> QuerySet[ConsultationRequest]:
    """Requests newest first; the open ones (status ``new``) are the queue."""
    qs = request_queryset()
    if status:
        qs = qs.filter(status=status)
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("-created_at", "-id")


def _phone(value: object) -> str:
    if isinstance(value, PhoneNumber) and value.is_valid():
        return str(value.as_e164)
    return str(value or "")


def request_duplicates(request: ConsultationRequest) -> list[DuplicateCandidate]:
    """Active patients who may be the requester: the registry's exact matches (surname and date
    of birth, mobile, email; patient_duplicates), then patients whose name is like the
    requester's with the same date of birth (the typo-tolerant search, patients/search.py)."""
    found = patient_duplicates(
        last_name=request.last_name,
        date_of_birth=request.date_of_birth,
        mobile=_phone(request.phone),
        email=request.email,
    )
    seen = {c.patient.pk for c in found}
    query = f"{request.first_name} {request.last_name} {request.date_of_birth:%Y-%m-%d}"
    similar: list[Patient] = list(patient_search(query=query, limit=SIMILAR_LIMIT))
    for patient in similar:
        if patient.pk not in seen:
            seen.add(patient.pk)
            found.append(DuplicateCandidate(patient=patient, matched_on=("similar_name_and_date_of_birth",)))
    return found
