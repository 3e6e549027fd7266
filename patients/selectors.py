"""Patient registry reads."""

from django.db.models import Q, QuerySet

from .models import MessagingConsent, Patient


def patient_search(*, query: str, limit: int = 20, include_inactive: bool = False) -> QuerySet[Patient]:
    """Patients matching part of a name, an MRN, a date of birth, a phone number or an email."""
    qs = Patient.objects.all() if include_inactive else Patient.objects.filter(status=Patient.Status.ACTIVE)
    query = query.strip()
    if not query:
        return qs.none()
    condition = Q()
    for term in query.split():
        condition &= Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(mrn__iexact=term)
    return qs.filter(condition)[:limit]


def consent_current(*, patient: Patient, channel: str, purpose: str) -> bool:
    """Whether the patient's newest decision for this channel and purpose is a grant that
    applies to the address or number on their record now."""
    latest = (
        MessagingConsent.objects.filter(patient=patient, channel=channel, purpose=purpose)
        .order_by("-recorded_at", "-id")
        .first()
    )
    if latest is None or not latest.granted:
        return False
    current = patient.email if channel == MessagingConsent.Channel.EMAIL else str(patient.mobile or "")
    return latest.address.strip().lower() == current.strip().lower()
