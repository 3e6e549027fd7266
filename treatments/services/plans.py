"""Treatment plans and their stages."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.audit import acting_user, attribute, audit_record, changed_fields
from clinic.errors import Invalid
from clinic.permissions import is_staff_member
from consents.signatures import png_from_data_url

from ..exceptions import ActivePlanExists, PlanAlreadyAgreed, PlanChanged, PlanClosed, StageInUse
from ..models import Modality, PlanAgreement, PlanStage, TreatmentPlan

STAGE_FIELDS = ("modality", "description", "target_start", "target_end", "status")
# What the patient agrees to: a change to any of these makes a new version of the plan. The
# status, the notes and a stage's progress (its status) are the clinic's and do not.
AGREED_FIELDS = ("goals", "modalities", "severity", "lifestyle", "surgery_comfort", "previous_experience")
AGREED_STAGE_FIELDS = ("modality", "description", "target_start", "target_end")


def _agreed_content(plan: TreatmentPlan) -> tuple:
    stages = tuple(
        tuple(getattr(s, f) for f in AGREED_STAGE_FIELDS)
        for s in PlanStage.objects.filter(plan_id=plan.pk).order_by("position", "id")
    )
    return (tuple(repr(getattr(plan, f)) for f in AGREED_FIELDS), stages)


def _check_plan(plan: TreatmentPlan) -> None:
    modalities = plan.modalities
    if not isinstance(modalities, list) or any(m not in Modality.values for m in modalities):
        raise Invalid(fields={"modalities": [f"Each must be one of: {', '.join(Modality.values)}."]})
    plan.modalities = [m for m in Modality.values if m in modalities]
    if not (plan.goals or "").strip():
        raise Invalid(fields={"goals": ["Write down the goals agreed with the patient."]})
    if plan.status == TreatmentPlan.Status.ACTIVE:
        other = (
            TreatmentPlan.objects.filter(patient_id=plan.patient_id, status=TreatmentPlan.Status.ACTIVE)
            .exclude(pk=plan.pk)
            .first()
        )
        if other is not None:
            raise ActivePlanExists(active_plan=other.pk)


def _check_stages(stages: list[dict]) -> None:
    errors = []
    for stage in stages:
        stage_errors = {}
        start, end = stage.get("target_start"), stage.get("target_end")
        if start and end and end < start:
            stage_errors["target_end"] = ["Must not be before the target start."]
        if not (stage.get("description") or "").strip():
            stage_errors["description"] = ["Describe the stage."]
        errors.append(stage_errors)
    if any(errors):
        raise Invalid(fields={"stages": errors})


def _save_plan(plan: TreatmentPlan, actor) -> None:
    if acting_user(actor) is not None:
        attribute(plan, actor)
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError as exc:
        # Two clinicians activating plans for one patient at once: the constraint decides.
        if "treatments_plan_one_active_per_patient" in str(exc):
            raise ActivePlanExists() from exc
        raise


def _sync_stages(plan: TreatmentPlan, stages: list[dict], actor) -> None:
    """Stages with an ``id`` are updated, new ones created, missing ones removed unless
    encounters are linked to them (the link is clinical history)."""
    existing = {s.pk: s for s in plan.stages.all()}
    keep = set()
    for position, values in enumerate(stages):
        values = dict(values)
        stage_id = values.pop("id", None)
        if stage_id is not None:
            stage = existing.get(stage_id)
            if stage is None:
                raise Invalid(fields={"stages": [f"Stage {stage_id} is not a stage of this plan."]})
            keep.add(stage_id)
        else:
            stage = PlanStage(plan=plan)
        for name in STAGE_FIELDS:
            if name in values:
                setattr(stage, name, values[name])
        stage.position = position
        if acting_user(actor) is not None:
            attribute(stage, actor)
        stage.save()
    for stage_id, stage in existing.items():
        if stage_id in keep:
            continue
        if stage.encounters.exists():
            raise StageInUse(fields={"stages": [f"Stage “{stage.description}” has encounters linked to it."]})
        if acting_user(actor) is not None:
            attribute(stage, actor)
        stage.delete()


@transaction.atomic
def plan_create(*, patient, actor, data: dict) -> TreatmentPlan:
    data = dict(data)
    stages = data.pop("stages", [])
    plan = TreatmentPlan(patient=patient, author=actor, **data)
    _check_plan(plan)
    _check_stages(stages)
    _save_plan(plan, actor)
    _sync_stages(plan, stages, actor)
    audit_record(
        actor=actor,
        action="treatment_plan.created",
        target=plan,
        patient_id=patient.pk,
        changes={"status": plan.status},
    )
    return plan


@transaction.atomic
def plan_update(*, plan: TreatmentPlan, actor, data: dict) -> TreatmentPlan:
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    before = _agreed_content(plan)
    data = dict(data)
    stages = data.pop("stages", None)
    changes = changed_fields(plan, data)
    for name, value in data.items():
        setattr(plan, name, value)
    _check_plan(plan)
    if stages is not None:
        _check_stages(stages)
        changes["stages"] = "updated"
    _save_plan(plan, actor)
    if stages is not None:
        _sync_stages(plan, stages, actor)
    if _agreed_content(plan) != before:
        # A new version: the patient's agreement to the previous one no longer covers it.
        plan.version += 1
        plan._change_reason = f"version {plan.version}"
        if acting_user(actor) is not None:
            attribute(plan, actor)
        plan.save(update_fields=["version", "updated_at"])
        changes["version"] = [plan.version - 1, plan.version]
    audit_record(
        actor=actor, action="treatment_plan.updated", target=plan, patient_id=plan.patient_id, changes=changes
    )
    return plan


@transaction.atomic
def plan_agree(
    *,
    plan: TreatmentPlan,
    actor,
    method: str,
    version: int | None = None,
    witness_id: int | None = None,
    signer_name: str = "",
    signature: str = "",
) -> PlanAgreement:
    """Record the patient's agreement to the plan's current version.

    ``method``: ``tablet`` (``signature``, the signature pad's PNG data URL, and ``signer_name``),
    ``verbal`` (``witness_id``, an active member of staff) or ``link`` (the patient, through
    their signed link, with no actor). ``version``, when given, is the version the patient was
    shown: if the plan changed since, PlanChanged. Once per version (PlanAlreadyAgreed)."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status == TreatmentPlan.Status.COMPLETED:
        raise PlanClosed()
    if version is not None and version != plan.version:
        raise PlanChanged(version=plan.version)
    if PlanAgreement.objects.filter(plan=plan, plan_version=plan.version).exists():
        raise PlanAlreadyAgreed()
    Method = PlanAgreement.Method
    agreement = PlanAgreement(plan=plan, plan_version=plan.version, method=method, agreed_at=timezone.now())
    signer_name = (signer_name or "").strip()
    if method == Method.TABLET:
        if not signer_name:
            raise Invalid(fields={"signer_name": ["Write the name of the person signing."]})
        agreement.signature_png = png_from_data_url(signature, field="signature")
        agreement.signer_name = signer_name
        agreement.recorded_by = acting_user(actor)
    elif method == Method.VERBAL:
        witness = get_user_model().objects.filter(pk=witness_id).first() if witness_id else None
        if witness is None or not is_staff_member(witness):
            raise Invalid(fields={"witness": ["Name the member of staff who heard the patient agree."]})
        agreement.witness = witness
        agreement.recorded_by = acting_user(actor)
    elif method == Method.LINK:
        agreement.signer_name = signer_name
    else:
        raise Invalid(fields={"method": [f"Must be one of: {', '.join(Method.values)}."]})
    if agreement.recorded_by is None and method != Method.LINK:
        raise Invalid(fields={"method": ["A member of staff records a tablet or verbal agreement."]})
    attribute(agreement, actor)
    try:
        with transaction.atomic():
            agreement.save()
    except IntegrityError as exc:
        if "treatments_plan_agreement_once" in str(exc):
            raise PlanAlreadyAgreed() from exc
        raise
    audit_record(
        actor=actor,
        action="treatment_plan.agreed",
        target=plan,
        patient_id=plan.patient_id,
        changes={
            "version": plan.version,
            "method": method,
            **({"witness": agreement.witness_id} if agreement.witness_id else {}),
        },
    )
    return agreement


def plans_prepare_merge(*, survivor, duplicate, actor, reason: str) -> dict:
    """Before a patient merge moves the duplicate's plans (patients.merging hook): if both
    records have an active plan, the duplicate's goes on hold, so that the survivor keeps one
    active plan and the clinician decides what carries on. Audited; history says why."""
    if not TreatmentPlan.objects.filter(patient=survivor, status=TreatmentPlan.Status.ACTIVE).exists():
        return {}
    held = []
    for plan in TreatmentPlan.objects.select_for_update().filter(
        patient=duplicate, status=TreatmentPlan.Status.ACTIVE
    ):
        plan.status = TreatmentPlan.Status.ON_HOLD
        plan._change_reason = f"{reason}: on hold, {survivor.mrn} has an active plan"
        if acting_user(actor) is not None:
            attribute(plan, actor)
        plan.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action="treatment_plan.updated",
            target=plan,
            patient_id=plan.patient_id,
            changes={
                "status": [TreatmentPlan.Status.ACTIVE, TreatmentPlan.Status.ON_HOLD],
                "reason": f"merged into {survivor.mrn}, which has an active plan",
            },
        )
        held.append(plan.pk)
    return {TreatmentPlan._meta.label_lower: {"put_on_hold": held}} if held else {}
