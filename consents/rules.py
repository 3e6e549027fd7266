"""The one owner of "is there a valid consent for this?": the warnings that booking a surgery or
a toxin session, and recording one, show (pages and API alike). Warnings, never refusals.

A consent is valid at a moment when, at that moment:
- the patient had signed it and a clinician had countersigned it (status signed), and
- it had not been withdrawn (a withdrawal after the moment does not undo what was consented to).
A toxin consent is valid for the clinic's ``toxin_consent_valid_months`` from the patient's
signature, counted to the local date of the session. A surgical consent is for its procedure;
it does not expire with age here (the surgeon confirms it with the patient on the day).
"""

import calendar
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.utils import timezone

from clinic.models import ClinicSettings

from .models import SURGICAL_PROCEDURES, PatientConsent, Procedure

# A surgery booked without saying which procedure: any surgical consent answers for it.
ANY_SURGERY = "any_surgery"


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def patient_consents(*, patient_ids: Iterable[int]) -> dict[int, list[PatientConsent]]:
    """Every procedure consent of these patients, newest first, in one query (for lists)."""
    found: dict[int, list[PatientConsent]] = {pk: [] for pk in patient_ids}
    rows = (
        PatientConsent.objects.filter(patient_id__in=list(found))
        .defer("patient_signature_png", "countersignature_png")
        .order_by("-patient_signed_at", "-id")
    )
    for consent in rows:
        found[consent.patient_id].append(consent)
    return found


def _valid_at(consent: PatientConsent, at: datetime) -> bool:
    if consent.countersigned_at is None or consent.status not in (
        PatientConsent.Status.SIGNED,
        PatientConsent.Status.WITHDRAWN,
    ):
        return False
    if consent.countersigned_at > at or consent.patient_signed_at > at:
        return False
    return consent.withdrawn_at is None or consent.withdrawn_at > at


def _label(procedure: str) -> str:
    return Procedure(procedure).label if procedure in Procedure.values else procedure


def consent_warnings(
    *,
    patient_id: int,
    procedures: Sequence[str],
    at: datetime,
    unformed: Sequence[str] = (),
    consents: list[PatientConsent] | None = None,
    settings: ClinicSettings | None = None,
) -> list[str]:
    """What to warn about for a patient treated at ``at`` with ``procedures`` (Procedure values,
    or ANY_SURGERY). ``unformed`` names procedures that have no consent form here. ``consents``
    and ``settings`` may be passed in when a list has read them already (no query then)."""
    if not procedures and not unformed:
        return []
    if consents is None:
        consents = patient_consents(patient_ids=[patient_id])[patient_id]
    warnings: list[str] = []
    for procedure in dict.fromkeys(procedures):
        if procedure == ANY_SURGERY:
            mine = [c for c in consents if c.procedure in SURGICAL_PROCEDURES]
            label = "surgery"
        else:
            mine = [c for c in consents if c.procedure == procedure]
            label = _label(procedure)
        valid = [c for c in mine if _valid_at(c, at)]
        if not valid:
            waiting = [c for c in mine if c.status == PatientConsent.Status.AWAITING_COUNTERSIGNATURE]
            if waiting:
                warnings.append(f"Consent for {label} is signed by the patient but not yet countersigned.")
            elif any(c.status == PatientConsent.Status.WITHDRAWN and c.withdrawn_at <= at for c in mine):
                warnings.append(f"Consent for {label} was withdrawn: no valid consent.")
            else:
                warnings.append(f"No valid consent for {label}.")
            continue
        if procedure == Procedure.BOTULINUM_TOXIN:
            settings = settings or ClinicSettings.load()
            months = settings.toxin_consent_valid_months
            day = timezone.localdate(at)
            newest = max(valid, key=lambda c: c.patient_signed_at)
            signed = timezone.localdate(newest.patient_signed_at)
            if add_months(signed, months) < day:
                warnings.append(
                    f"The toxin consent was signed on {signed:%d %b %Y}, more than {months} months "
                    f"before {day:%d %b %Y}: renew it."
                )
    for name in dict.fromkeys(unformed):
        warnings.append(f"There is no consent form here for {name}: check that a signed consent is on file.")
    return warnings
