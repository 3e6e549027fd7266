"""Surgery records and the post-operative recalls their follow-up plan opens."""

import logging
from datetime import timedelta

from django.utils import timezone

from clinic.configuration import field_bounds
from clinic.errors import Invalid
from scheduling.models import AppointmentType, Provider, Recall
from scheduling.services import recall_open

from ..common import local_date
from ..models import (
    DEFAULT_POST_OP_PLAN,
    Complication,
    Encounter,
    FollowUpPlanItem,
    Procedure,
    StimulatedBranch,
    Surgery,
)
from .encounters import Child, Draft, KindSpec

logger = logging.getLogger(__name__)

MAX_OPERATION = timedelta(hours=24)
MAX_STIMULATED_BRANCHES = 30


# A gold weight's grams, as the model field bounds them.
GOLD_WEIGHT = field_bounds(Procedure, "gold_weight_grams")


class SurgerySpec(KindSpec):
    kind = Encounter.Kind.SURGERY
    model = Surgery
    capability = "clinic.record_surgery"
    fields = ("side", "anaesthesia", "assistants", "started_at", "ended_at", "findings", "operative_note")
    children = (
        Child("procedures", Procedure, "surgery"),
        Child("complications", Complication, "surgery"),
        Child("follow_up_plan", FollowUpPlanItem, "surgery"),
        Child("stimulated_branches", StimulatedBranch, "surgery"),
    )

    def prepare(self, draft: Draft) -> None:
        missing = {
            name: ["This field is required."]
            for name in ("started_at", "ended_at")
            if getattr(draft.detail, name) is None
        }
        if missing:
            raise Invalid(fields=missing)
        # A surgery happens when it starts.
        draft.encounter.occurred_at = draft.detail.started_at
        if draft.creating and "follow_up_plan" not in draft.rows:
            draft.rows["follow_up_plan"] = [
                FollowUpPlanItem(position=i, label=label, after_days=days)
                for i, (label, days) in enumerate(_usual_follow_ups(draft.encounter))
            ]

    def _rows(self, draft: Draft, name: str) -> list:
        if name in draft.rows:
            return draft.rows[name]
        if draft.creating:
            return []
        return list(getattr(draft.detail, name).all())

    def validate(self, draft: Draft, actor) -> None:
        surgery = draft.detail
        if surgery.ended_at <= surgery.started_at:
            raise Invalid(fields={"ended_at": ["Must be after the start."]})
        if surgery.ended_at - surgery.started_at > MAX_OPERATION:
            raise Invalid(fields={"ended_at": ["An operation longer than 24 hours: check the times."]})
        procedures = self._rows(draft, "procedures")
        if not procedures:
            raise Invalid(fields={"procedures": ["Record at least one procedure."]})
        errors = [self._procedure_errors(p) for p in procedures]
        branches = self._rows(draft, "stimulated_branches")
        if any(b.action == StimulatedBranch.Action.DIVIDED for b in branches):
            # The structured rows name the branches divided: the free text is then optional.
            for error in errors:
                error.pop("branches_divided", None)
        if any(errors):
            raise Invalid(fields={"procedures": errors})
        if branches and not any(p.kind == Procedure.Kind.SELECTIVE_NEUROLYSIS for p in procedures):
            raise Invalid(
                fields={
                    "stimulated_branches": ["Branches stimulated belong to a selective neurolysis procedure."]
                }
            )
        if len(branches) > MAX_STIMULATED_BRANCHES:
            raise Invalid(fields={"stimulated_branches": [f"At most {MAX_STIMULATED_BRANCHES} branches."]})
        plan = self._rows(draft, "follow_up_plan")
        days = [item.after_days for item in plan]
        if len(set(days)) != len(days):
            raise Invalid(fields={"follow_up_plan": ["Two follow-up visits at the same interval."]})

    @staticmethod
    def _procedure_errors(procedure: Procedure) -> dict:
        errors: dict[str, list[str]] = {}
        kind = Procedure.Kind
        if procedure.kind == kind.SELECTIVE_MYECTOMY and not procedure.muscle:
            errors["muscle"] = ["Name the muscle resected."]
        if procedure.kind == kind.SELECTIVE_NEUROLYSIS and not (procedure.branches_divided or "").strip():
            errors["branches_divided"] = ["Name the branches divided."]
        if procedure.gold_weight_grams is not None:
            if procedure.kind != kind.UPPER_EYELID:
                errors["gold_weight_grams"] = ["A gold weight belongs to upper eyelid surgery."]
            elif not GOLD_WEIGHT[0] <= procedure.gold_weight_grams <= GOLD_WEIGHT[1]:
                errors["gold_weight_grams"] = [f"Must be from {GOLD_WEIGHT[0]} to {GOLD_WEIGHT[1]} g."]
            if not (procedure.implant_lot or "").strip():
                errors["implant_lot"] = ["Record the implant's lot for traceability."]
        if procedure.kind == kind.OTHER and not (procedure.detail or "").strip():
            errors["detail"] = ["Describe the procedure."]
        for name, owner in Procedure.DETAIL_KINDS.items():
            if getattr(procedure, name) and procedure.kind != owner:
                errors[name] = [f"Belongs to {Procedure.Kind(owner).label.lower()}."]
        return errors

    def summarise(self, draft: Draft) -> str:
        surgery = draft.detail
        names = []
        for p in self._rows(draft, "procedures"):
            name = p.get_kind_display()
            if p.muscle:
                name += f" ({p.get_muscle_display()})"
            names.append(name)
        side, anaesthesia = surgery.get_side_display().lower(), surgery.get_anaesthesia_display().lower()
        return f"{'; '.join(names)} · {side} · {anaesthesia}"

    def after_save(self, draft: Draft, actor) -> None:
        if draft.creating or "follow_up_plan" in draft.rows:
            open_post_op_recalls(
                encounter=draft.encounter, items=self._rows(draft, "follow_up_plan"), actor=actor
            )


SURGERY = SurgerySpec()


def post_op_window(anchor, after_days: int):
    """(earliest, due, overdue) for a visit ``after_days`` after the operation.

    Bookable a few days before it is due (about a tenth of the interval, 1 to 7 days, never
    before the operation), overdue one week after (two for visits beyond two weeks).
    """
    due = anchor + timedelta(days=after_days)
    earliest = max(anchor, due - timedelta(days=min(7, max(1, after_days // 10))))
    overdue = due + timedelta(days=7 if after_days <= 14 else 14)
    return earliest, due, overdue


def open_post_op_recalls(*, encounter: Encounter, items: list[FollowUpPlanItem], actor) -> list[Recall]:
    """One recall per follow-up plan item. A visit whose window has already passed when the
    surgery is recorded (a backfilled record) opens nothing."""
    if not items:
        return []
    if not AppointmentType.objects.filter(code="post_op").exists():
        logger.warning("No 'post_op' appointment type: no post-op recalls for encounter %s", encounter.pk)
        return []
    anchor = local_date(encounter.occurred_at)
    today = timezone.localdate()
    provider = Provider.objects.filter(user_id=encounter.clinician_id, is_active=True).first()
    recalls = []
    for item in items:
        earliest, due, overdue = post_op_window(anchor, item.after_days)
        if overdue < today:
            continue
        recalls.append(
            recall_open(
                patient=encounter.patient,
                kind=Recall.Kind.POST_OP,
                appointment_type_code="post_op",
                anchor_date=anchor,
                earliest_date=earliest,
                due_date=due,
                overdue_date=overdue,
                source=f"surgery:{encounter.pk}:{item.position + 1}",
                label=f"Post-op {item.label}"[:100],
                preferred_provider=provider,
                actor=actor,
            )
        )
    return recalls


def _usual_follow_ups(encounter: Encounter) -> list[tuple[str, int]]:
    """The follow-ups an operation implies when the surgeon gives none: those the practice set
    on the booked appointment's type (its ``follow_up_plan``), else the usual 1 week, 6 weeks
    and 3 months."""
    appointment = encounter.appointment
    typed = appointment.appointment_type.follow_up_plan if appointment is not None else []
    return [(item["label"], item["after_days"]) for item in typed] or DEFAULT_POST_OP_PLAN
