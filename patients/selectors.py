"""Patient registry reads."""

from django.db.models import Q, QuerySet

from .models import Patient


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
