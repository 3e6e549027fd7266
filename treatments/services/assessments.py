"""Gradings: every instrument goes through assessment_record, which validates the raw items
and stores them with the scores the instrument registry computes."""

from django.db import transaction
from django.utils import timezone

from clinic.audit import acting_user, attribute, audit_record
from clinic.errors import Conflict, Invalid

from .. import instruments
from ..common import local_date
from ..models import Assessment
from .encounters import FUTURE_TOLERANCE


@transaction.atomic
def assessment_record(
    *,
    patient,
    instrument: str,
    items,
    assessed_at,
    actor=None,
    rater=None,
    rater_kind: str | None = None,
    side: str | None = None,
    encounter=None,
    note: str = "",
) -> Assessment:
    """Record one grading.

    Staff gradings: ``actor`` (and by default ``rater``) is the clinician. A questionnaire the
    patient fills in from a link: ``actor=None``, ``rater_kind="patient"``; no staff user is
    involved and the rater is the patient.
    """
    definition = instruments.get(instrument)
    if definition is None:
        known = ", ".join(i.code for i in instruments.all_instruments())
        raise Invalid(fields={"instrument": [f"Unknown instrument; one of: {known}."]})
    try:
        cleaned = instruments.validate_items(definition, items)
    except instruments.ItemsInvalid as exc:
        raise Invalid(fields={"items": exc.errors}) from exc

    errors = {}
    if assessed_at is None:
        errors["assessed_at"] = ["This field is required."]
    elif assessed_at > timezone.now() + FUTURE_TOLERANCE:
        errors["assessed_at"] = ["Cannot be in the future."]
    elif local_date(assessed_at) < patient.date_of_birth:
        errors["assessed_at"] = ["Is before the patient's date of birth."]
    if encounter is not None and encounter.patient_id != patient.pk:
        errors["encounter"] = ["This encounter is another patient's."]

    if rater_kind is None:
        rater_kind = Assessment.RaterKind.CLINICIAN if acting_user(actor) else Assessment.RaterKind.PATIENT
    if rater_kind == Assessment.RaterKind.CLINICIAN:
        rater = rater or acting_user(actor)
        if rater is None:
            errors["rater"] = ["A clinician's grading names the clinician."]
    else:
        rater = None
    if side is None:
        # A clinician grades the affected side; a patient's questionnaire is about the whole face.
        side = patient.affected_side if rater_kind == Assessment.RaterKind.CLINICIAN else ""
    if errors:
        raise Invalid(fields=errors)

    assessment = Assessment(
        patient=patient,
        instrument=definition.code,
        items=cleaned,
        scores=instruments.compute(definition, cleaned),
        formula_version=definition.formula_version,
        assessed_at=assessed_at,
        side=side,
        rater_kind=rater_kind,
        rater=rater,
        encounter=encounter,
        note=note,
    )
    if acting_user(actor) is not None:
        attribute(assessment, actor)
    assessment.save()
    audit_record(
        actor=actor,
        action="assessment.recorded",
        target=assessment,
        patient_id=patient.pk,
        changes={"instrument": definition.code, "scores": assessment.scores, "rater_kind": rater_kind},
    )
    return assessment


@transaction.atomic
def assessment_mark_entered_in_error(*, assessment: Assessment, actor, reason: str) -> Assessment:
    """Gradings are not edited; one recorded by mistake is marked so, with why, and leaves the trend."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(fields={"reason": ["Say why this grading is wrong."]})
    assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if assessment.status == Assessment.Status.ENTERED_IN_ERROR:
        raise Conflict("This grading is already marked as entered in error.")
    assessment.status = Assessment.Status.ENTERED_IN_ERROR
    assessment.status_reason = reason[:300]
    if acting_user(actor) is not None:
        attribute(assessment, actor)
    assessment.save(update_fields=["status", "status_reason"])
    audit_record(
        actor=actor,
        action="assessment.entered_in_error",
        target=assessment,
        patient_id=assessment.patient_id,
        changes={"reason": assessment.status_reason},
    )
    return assessment


@transaction.atomic
def instrument_wording_load(*, instrument: instruments.Instrument, wording, actor) -> int:
    """Store the clinic's licensed wording for ``instrument``'s items ({item key: text}).

    All or nothing: an unknown key or an empty text refuses the whole file."""
    from ..models import InstrumentItemWording

    if not isinstance(wording, dict):
        raise ValueError("The wording must be an object of item key to text.")
    known = set(instrument.item_keys)
    bad = sorted(
        str(k) for k, v in wording.items() if k not in known or not isinstance(v, str) or not v.strip()
    )
    if bad:
        raise ValueError(f"Unknown item keys or empty texts for {instrument.name}: {', '.join(bad)}.")
    for key, text in wording.items():
        row = InstrumentItemWording.objects.filter(instrument=instrument.code, item_key=key).first()
        row = row or InstrumentItemWording(instrument=instrument.code, item_key=key)
        row.text = text.strip()[:500]
        attribute(row, actor)
        row.save()
    audit_record(
        actor=actor,
        action="instrument.wording_loaded",
        target=None,
        changes={"instrument": instrument.code, "items": len(wording)},
    )
    return len(wording)
