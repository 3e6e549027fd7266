"""Recording, editing, signing and amending encounters of every kind.

Each kind (consultation, toxin session, ...) is described by a ``KindSpec``: its detail model,
the capability needed to record it, the child rows it carries and its own rules. The functions
here do what is common to all of them (check the context, refuse signed records, save the
encounter, detail and rows in one transaction, keep history, audit), so that every kind follows
the same path from the API and from the pages.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from clinic.audit import acting_user, attribute, audit_record, changed_fields
from clinic.errors import Invalid
from scheduling.services import TRANSITIONS, appointment_complete

from ..common import local_date
from ..exceptions import (
    AlreadyCosigned,
    CosignByAuthor,
    CosignNotAllowed,
    NotTheClinician,
    RecordNotSigned,
    RecordSigned,
)
from ..models import Addendum, Consultation, Cosignature, Encounter, FollowUp

# The encounter's own fields a caller sets. Not ``clinician``: the author is whoever records the
# encounter, set once by encounter_record and never changed (others may edit a draft; it stays
# the author's, and only the author signs it).
ENCOUNTER_FIELDS = ("occurred_at", "appointment", "plan_stage", "note")

# Clocks drift and a note is sometimes started a moment early; beyond this it is a typing slip.
FUTURE_TOLERANCE = timedelta(minutes=15)


@dataclass(frozen=True)
class Child:
    """Rows that belong to a detail record: ``name`` is the input key and the related name."""

    name: str
    model: type[models.Model]
    fk: str


@dataclass
class Draft:
    """The state being validated: the encounter, its detail and its rows, not yet saved."""

    encounter: Encounter
    detail: models.Model
    rows: dict[str, list] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    creating: bool = True
    # Filled by the kind's rules for after_save / the caller (e.g. dose-limit warnings).
    notes: dict = field(default_factory=dict)


class KindSpec:
    kind: str
    model: type[models.Model]
    capability: str
    fields: tuple[str, ...] = ()
    children: tuple[Child, ...] = ()
    # Inputs that are not model fields (e.g. a toxin session's interval override reason).
    extra: tuple[str, ...] = ()

    def prepare(self, draft: Draft) -> None:
        """Derive fields from others before validation."""

    def validate(self, draft: Draft, actor) -> None:
        """Raise a DomainError if the draft breaks this kind's rules."""

    def summarise(self, draft: Draft) -> str:
        return ""

    def after_save(self, draft: Draft, actor) -> None:
        """Side records in the same transaction (recalls, override audit)."""


def _split(spec: KindSpec, data: dict) -> tuple[dict, dict, dict, dict]:
    data = dict(data)
    if "clinician" in data:
        raise Invalid(
            fields={"clinician": ["The author of an encounter is whoever records it; it cannot be set."]}
        )
    extra = {k: data.pop(k) for k in spec.extra if k in data}
    children = {c.name: data.pop(c.name) for c in spec.children if c.name in data}
    encounter_values = {k: data.pop(k) for k in ENCOUNTER_FIELDS if k in data}
    unknown = set(data) - set(spec.fields)
    if unknown:
        raise TypeError(f"Unknown fields for {spec.kind}: {sorted(unknown)}")
    return encounter_values, data, children, extra


def _build_rows(spec: KindSpec, children: dict) -> dict[str, list]:
    return {
        c.name: [c.model(position=i, **row) for i, row in enumerate(children[c.name])]
        for c in spec.children
        if c.name in children
    }


def _check_context(spec: KindSpec, encounter: Encounter) -> None:
    """Rules every encounter follows, whatever its kind."""
    errors: dict[str, list[str]] = {}
    patient = encounter.patient
    if patient.inactive_reason == patient.InactiveReason.MERGED:
        errors["patient"] = ["This record was merged into another; record on the surviving record."]
    if encounter.occurred_at is None:
        errors["occurred_at"] = ["This field is required."]
    elif encounter.occurred_at > timezone.now() + FUTURE_TOLERANCE:
        errors["occurred_at"] = ["Cannot be in the future."]
    elif local_date(encounter.occurred_at) < patient.date_of_birth:
        errors["occurred_at"] = ["Is before the patient's date of birth."]
    if encounter.appointment_id and encounter.appointment.patient_id != patient.pk:
        errors["appointment"] = ["This appointment is another patient's."]
    if encounter.plan_stage_id and encounter.plan_stage.plan.patient_id != patient.pk:
        errors["plan_stage"] = ["This stage belongs to another patient's plan."]
    clinician = encounter.clinician
    if not (clinician.is_active and clinician.has_perm(spec.capability)):
        errors["clinician"] = [f"{clinician} may not record a {Encounter.Kind(spec.kind).label.lower()}."]
    if errors:
        raise Invalid(fields=errors)


def _save(spec: KindSpec, draft: Draft, actor) -> None:
    encounter, detail = draft.encounter, draft.detail
    encounter.summary = spec.summarise(draft)[:300]
    attribute(encounter, actor)
    attribute(detail, actor)
    encounter.save()
    detail.encounter = encounter
    detail.save()
    for child in spec.children:
        if child.name not in draft.rows:
            continue
        if not draft.creating:
            old_rows = list(child.model.objects.filter(**{child.fk: detail}))
            for row in old_rows:
                attribute(row, actor)
                # Row by row so that history records each removed row of the draft.
                row.delete()
        rows = draft.rows[child.name]
        for row in rows:
            setattr(row, child.fk, detail)
        bulk_create_with_history(rows, child.model, default_user=acting_user(actor))
    spec.after_save(draft, actor)


def _complete_visit(encounter: Encounter, actor) -> None:
    """Recording the encounter of a visit that has begun marks its appointment completed."""
    appointment = encounter.appointment
    completable_from, _ = TRANSITIONS["complete"]
    if appointment is None or appointment.status not in completable_from:
        return
    if appointment.starts_at > timezone.now():
        return
    appointment_complete(appointment=appointment, actor=actor)


@transaction.atomic
def encounter_record(spec: KindSpec, *, patient, actor, data: dict):
    """Record a new encounter of ``spec``'s kind (as a draft) and return its detail record."""
    encounter_values, detail_values, children, extra = _split(spec, data)
    encounter = Encounter(
        patient=patient, kind=spec.kind, clinician=actor, created_by=acting_user(actor), **encounter_values
    )
    detail = spec.model(encounter=encounter, **detail_values)
    draft = Draft(encounter, detail, _build_rows(spec, children), extra, creating=True)
    spec.prepare(draft)
    _check_context(spec, encounter)
    spec.validate(draft, actor)
    _save(spec, draft, actor)
    _complete_visit(encounter, actor)
    audit_record(
        actor=actor,
        action=f"{spec.kind}.recorded",
        target=encounter,
        patient_id=patient.pk,
        changes={"kind": spec.kind, "status": encounter.status},
    )
    return detail


def locked_draft(encounter_id: int) -> Encounter:
    """The encounter, locked for this transaction; RecordSigned if it is signed."""
    encounter = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter_id)
    if encounter.is_signed:
        raise RecordSigned()
    return encounter


@transaction.atomic
def encounter_update(spec: KindSpec, *, detail, actor, data: dict):
    """Change a draft. Child row lists given in ``data`` replace the old rows; others stay."""
    encounter = locked_draft(detail.pk)
    detail = spec.model.objects.get(pk=encounter.pk)
    detail.encounter = encounter
    encounter_values, detail_values, children, extra = _split(spec, data)
    changes = {**changed_fields(encounter, encounter_values), **changed_fields(detail, detail_values)}
    for name, value in encounter_values.items():
        setattr(encounter, name, value)
    for name, value in detail_values.items():
        setattr(detail, name, value)
    rows = _build_rows(spec, children)
    for child_name in rows:
        changes[child_name] = "replaced"
    draft = Draft(encounter, detail, rows, extra, creating=False)
    spec.prepare(draft)
    _check_context(spec, encounter)
    spec.validate(draft, actor)
    _save(spec, draft, actor)
    audit_record(
        actor=actor,
        action=f"{spec.kind}.updated",
        target=encounter,
        patient_id=encounter.patient_id,
        changes=changes,
    )
    return detail


@transaction.atomic
def encounter_sign(*, encounter: Encounter, actor) -> Encounter:
    """Sign a draft: from now on it is read-only, and corrections are addenda."""
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if encounter.is_signed:
        raise RecordSigned("This record is already signed.")
    if encounter.clinician_id != getattr(actor, "pk", None):
        raise NotTheClinician()
    encounter.status = Encounter.Status.SIGNED
    encounter.signed_at = timezone.now()
    encounter.signed_by = actor
    attribute(encounter, actor)
    encounter.save(update_fields=["status", "signed_at", "signed_by", "updated_at"])
    audit_record(actor=actor, action="encounter.signed", target=encounter, patient_id=encounter.patient_id)
    # The patient's aftercare advice leaves as soon as the note is signed (toxin, surgery).
    from .aftercare import aftercare_send

    aftercare_send(encounter=encounter)
    # A therapy visit that changed the home programme sends the patient the new one.
    from .programme import programme_after_sign

    programme_after_sign(encounter=encounter)
    return encounter


@transaction.atomic
def encounter_add_addendum(*, encounter: Encounter, actor, text: str) -> Addendum:
    text = (text or "").strip()
    if not text:
        raise Invalid(fields={"text": ["An addendum needs some text."]})
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if not encounter.is_signed:
        raise RecordNotSigned()
    addendum = Addendum(encounter=encounter, author=actor, text=text)
    attribute(addendum, actor)
    addendum.save()
    audit_record(
        actor=actor,
        action="encounter.addendum_added",
        target=encounter,
        patient_id=encounter.patient_id,
        changes={"addendum": addendum.pk},
    )
    return addendum


@transaction.atomic
def encounter_cosign(*, encounter: Encounter, actor, note: str = "") -> Cosignature:
    """Countersign a signed encounter: another clinician who may record its kind vouches for it.

    The record itself is not touched (it is signed); the co-signature is its own append-only row.
    """
    from . import SPECS  # the kinds register there, after this module

    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if not encounter.is_signed:
        raise RecordNotSigned("Only a signed record can be co-signed; the author signs it first.")
    if encounter.clinician_id == getattr(actor, "pk", None):
        raise CosignByAuthor()
    capability = SPECS[encounter.kind].capability
    if acting_user(actor) is None or not (actor.is_active and actor.has_perm(capability)):
        raise CosignNotAllowed()
    if encounter.cosignatures.filter(cosigned_by=actor).exists():
        raise AlreadyCosigned()
    cosignature = Cosignature(encounter=encounter, cosigned_by=actor, note=(note or "").strip())
    cosignature.save()
    audit_record(
        actor=actor,
        action="encounter.cosigned",
        target=encounter,
        patient_id=encounter.patient_id,
        changes={"cosignature": cosignature.pk, "note": cosignature.note},
    )
    return cosignature


def first_line(text: str, limit: int = 80) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ConsultationSpec(KindSpec):
    kind = Encounter.Kind.CONSULTATION
    model = Consultation
    capability = "clinic.record_consultation"
    fields = ("history_of_palsy", "examination", "symptoms", "severity", "goals", "plan_summary")

    def summarise(self, draft: Draft) -> str:
        detail = draft.detail
        parts = []
        if detail.severity:
            parts.append(f"Severity: {detail.get_severity_display().lower()}")
        if detail.plan_summary:
            parts.append(first_line(detail.plan_summary))
        elif detail.symptoms:
            parts.append(first_line(detail.symptoms))
        return " · ".join(parts)


class FollowUpSpec(KindSpec):
    kind = Encounter.Kind.FOLLOW_UP
    model = FollowUp
    capability = "clinic.record_consultation"
    fields = ("treatment", "response", "response_note")

    def prepare(self, draft: Draft) -> None:
        # By default a follow-up looks at the last treatment (toxin session or surgery) before it.
        detail, encounter = draft.detail, draft.encounter
        if draft.creating and detail.treatment_id is None and encounter.occurred_at is not None:
            detail.treatment = (
                Encounter.objects.filter(
                    patient=encounter.patient,
                    kind__in=[Encounter.Kind.TOXIN, Encounter.Kind.SURGERY],
                    occurred_at__lte=encounter.occurred_at,
                )
                .order_by("-occurred_at", "-id")
                .first()
            )

    def validate(self, draft: Draft, actor) -> None:
        treatment = draft.detail.treatment
        if treatment is not None:
            if treatment.patient_id != draft.encounter.patient_id:
                raise Invalid(fields={"treatment": ["This treatment is another patient's."]})
            if treatment.kind not in (Encounter.Kind.TOXIN, Encounter.Kind.SURGERY, Encounter.Kind.THERAPY):
                raise Invalid(fields={"treatment": ["Must be a toxin session, therapy visit or surgery."]})

    def summarise(self, draft: Draft) -> str:
        detail = draft.detail
        parts = []
        if detail.response:
            parts.append(f"Response: {detail.get_response_display().lower()}")
        text = first_line(detail.response_note or draft.encounter.note)
        if text:
            parts.append(text)
        return " · ".join(parts)


CONSULTATION = ConsultationSpec()
FOLLOW_UP = FollowUpSpec()
