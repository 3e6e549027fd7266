"""Patient registry services (writes)."""

from django.db import transaction

from clinic.audit import audit_record

from .models import Patient


def mrn_for(number: int) -> str:
    """A human-friendly MRN: 'FN' + 7 digits + a Luhn check digit (catches most typos)."""
    digits = f"{number:07d}"
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return f"FN{digits}{(10 - total % 10) % 10}"


@transaction.atomic
def patient_register(*, data: dict, actor) -> Patient:
    """Register a patient from validated ``data`` (model field names) and give them an MRN."""
    patient = Patient(**data, created_by=actor if getattr(actor, "is_authenticated", False) else None)
    # The MRN comes from the row's id, so it is assigned right after the insert, in the same
    # transaction; a placeholder keeps the unique column filled until then.
    patient.mrn = f"tmp-{id(patient)}"[:16]
    patient.save()
    patient.mrn = mrn_for(patient.pk)
    patient.save(update_fields=["mrn"])
    audit_record(actor=actor, action="patient.registered", target=patient, patient_id=patient.pk)
    return patient
