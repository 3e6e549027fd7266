"""Patient registry reads."""

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from simple_history.models import HistoricalChanges

from .models import MessagingConsent, Patient
from .search import apply_search, parse_query


def patient_search(*, query: str, limit: int = 20, include_inactive: bool = False) -> QuerySet[Patient]:
    """Patients matching part of a name (typo-tolerant on PostgreSQL), an MRN, a date of birth,
    a phone number or an email, best match first. See patients/search.py for the rules."""
    qs = Patient.objects.all() if include_inactive else Patient.objects.filter(status=Patient.Status.ACTIVE)
    return apply_search(qs, parse_query(query), limit=limit)[:limit]


@dataclass(frozen=True)
class DuplicateCandidate:
    patient: Patient
    matched_on: tuple[str, ...]  # "name_and_date_of_birth", "mobile", "email"

    def as_dict(self) -> dict:
        p = self.patient
        return {
            "id": p.pk,
            "mrn": p.mrn,
            "name": p.display_name,
            "date_of_birth": p.date_of_birth.isoformat(),
            "matched_on": list(self.matched_on),
        }


def patient_duplicates(
    *,
    last_name: str,
    date_of_birth: date | None,
    mobile: str = "",
    email: str = "",
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[DuplicateCandidate]:
    """Active patients who may be the same person: same surname and date of birth, same mobile
    or same email. One query, served by the name/date, mobile and email indexes."""
    condition = Q()
    if last_name and date_of_birth:
        condition |= Q(last_name_lower=last_name.strip().lower(), date_of_birth=date_of_birth)
    if mobile:
        condition |= Q(mobile=str(mobile))
    if email:
        condition |= Q(email_lower=email.strip().lower())
    if not condition:
        return []
    qs = (
        Patient.objects.filter(status=Patient.Status.ACTIVE)
        .alias(last_name_lower=Lower("last_name"), email_lower=Lower("email"))
        .filter(condition)
        .order_by("last_name", "first_name", "id")
    )
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    candidates = []
    for patient in qs[:limit]:
        matched = []
        if (
            date_of_birth
            and patient.date_of_birth == date_of_birth
            and (patient.last_name.lower() == last_name.strip().lower())
        ):
            matched.append("name_and_date_of_birth")
        if mobile and str(patient.mobile) == str(mobile):
            matched.append("mobile")
        if email and patient.email.lower() == email.strip().lower():
            matched.append("email")
        candidates.append(DuplicateCandidate(patient=patient, matched_on=tuple(matched)))
    return candidates


def patient_resolve(*, patient: Patient) -> Patient:
    """The record that carries a merged patient's care today (follows merged_into)."""
    seen = {patient.pk}
    while patient.merged_into_id is not None and patient.merged_into_id not in seen:
        seen.add(patient.merged_into_id)
        patient = Patient.objects.get(pk=patient.merged_into_id)
    return patient


# --- Merge ---------------------------------------------------------------------------------


def merge_relations() -> list[tuple[type[models.Model], models.Field]]:
    """(model, foreign key to Patient) for every row type a merge moves, in any app.

    Found by walking the relations to Patient, so that the registry never imports the apps
    above it; relations without a reverse accessor (``related_name="+"``) count too. Skipped:
    simple_history's historical rows (they record the past as it was), the merged_into chain,
    and consents (copied instead, see patient_merge).
    """
    relations = []
    for rel in Patient._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete):
            continue
        if rel.many_to_many:
            through = rel.through
            relations.append((through, through._meta.get_field(rel.field.m2m_reverse_field_name())))
            continue
        model = rel.related_model
        if model._meta.auto_created:
            continue  # a many-to-many's own table: moved through the relation above
        if issubclass(model, HistoricalChanges) or model is Patient or model is MessagingConsent:
            continue
        relations.append((model, rel.field))
    return relations


def merge_preview(*, survivor: Patient, duplicate: Patient) -> dict:
    """What a merge of ``duplicate`` into ``survivor`` would move: one count per row type."""
    counts = []
    for model, fk in merge_relations():
        count = model._base_manager.filter(**{fk.name: duplicate.pk}).count()
        if count:
            counts.append({"label": str(model._meta.verbose_name_plural), "count": count})
    consents = MessagingConsent.objects.filter(patient=duplicate).count()
    return {"counts": counts, "consents": consents}


# --- Messaging consent --------------------------------------------------------------------


def consent_address(*, patient: Patient, channel: str) -> str:
    """The address a message on ``channel`` would go to today ('' if none)."""
    if channel == MessagingConsent.Channel.EMAIL:
        return patient.email.strip().lower()
    if channel == MessagingConsent.Channel.SMS:
        return str(patient.mobile) if patient.mobile else ""
    return ""


def _applies(granted: bool | None, given_for: str | None, address: str) -> bool:
    """The rule: the newest decision is a grant, given for the address messages go to now."""
    return bool(granted) and bool(address) and (given_for or "").lower() == address.lower()


def consent_current(*, patient: Patient, channel: str, purpose: str) -> bool:
    """May we send ``purpose`` messages on ``channel`` to this patient now?

    Yes only if the newest decision for that channel and purpose is a grant, and it was given
    for the email address or mobile number the patient has now: consent does not follow a
    changed number. Called at send time; one indexed query (patients_consent_current).
    """
    if not patient.is_active:
        return False
    address = consent_address(patient=patient, channel=channel)
    if not address:
        return False
    newest = (
        MessagingConsent.objects.filter(patient=patient, channel=channel, purpose=purpose)
        .order_by("-recorded_at", "-id")
        .first()
    )
    return newest is not None and _applies(newest.granted, newest.address, address)


def consent_newest(*, patient: str, channel: str, purpose: str) -> dict[str, Subquery]:
    """Annotations that bring along the newest consent decision for the patient, channel and
    purpose named by the outer query's fields: ``consent_granted`` and ``consent_address``
    (None when there is none). Judge them with ``consent_applies``.

    For a caller that reads many rows and needs each one's consent (the reminder sender), in
    the same query: each is an index lookup on patients_consent_current.
    """
    newest = MessagingConsent.objects.filter(
        patient=OuterRef(patient), channel=OuterRef(channel), purpose=OuterRef(purpose)
    ).order_by("-recorded_at", "-id")
    return {
        "consent_granted": Subquery(newest.values("granted")[:1]),
        "consent_address": Subquery(newest.values("address")[:1]),
    }


def consent_applies(*, patient: Patient, channel: str, granted: bool | None, address: str | None) -> bool:
    """``consent_current``'s rule for a decision read with ``consent_newest``."""
    return patient.is_active and _applies(granted, address, consent_address(patient=patient, channel=channel))


@dataclass(frozen=True)
class ConsentState:
    channel: str
    purpose: str
    address: str  # where a message would go today
    latest: MessagingConsent | None

    @property
    def granted(self) -> bool:
        return self.latest is not None and _applies(self.latest.granted, self.latest.address, self.address)

    @property
    def state(self) -> str:
        """granted, withdrawn, stale (given for another address), no_address or unknown."""
        if not self.address:
            return "no_address"
        if self.latest is None:
            return "unknown"
        if not self.latest.granted:
            return "withdrawn"
        return "granted" if self.granted else "stale"


def consent_overview(*, patient: Patient) -> list[ConsentState]:
    """The current decision for every channel and purpose (one query), for the chart and API."""
    newest: dict[tuple[str, str], MessagingConsent] = {}
    for row in MessagingConsent.objects.filter(patient=patient).select_related("recorded_by"):
        newest.setdefault((row.channel, row.purpose), row)  # rows come newest first
    return [
        ConsentState(
            channel=channel,
            purpose=purpose,
            address=consent_address(patient=patient, channel=channel),
            latest=newest.get((channel, purpose)),
        )
        for channel in MessagingConsent.Channel.values
        for purpose in MessagingConsent.Purpose.values
    ]


def consent_history(*, patient: Patient) -> QuerySet[MessagingConsent]:
    return MessagingConsent.objects.filter(patient=patient).select_related("recorded_by")
