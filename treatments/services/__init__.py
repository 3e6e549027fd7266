"""Writes of the treatments app: every change to a clinical record goes through here."""

from .assessments import assessment_mark_entered_in_error, assessment_record
from .encounters import (
    CONSULTATION,
    FOLLOW_UP,
    KindSpec,
    encounter_add_addendum,
    encounter_cosign,
    encounter_record,
    encounter_sign,
    encounter_update,
)
from .plans import plan_agree, plan_create, plan_update
from .product_intervals import toxin_interval_clear, toxin_interval_set
from .surgery import SURGERY, open_post_op_recalls, post_op_window
from .therapy import THERAPY
from .toxin import (
    TOXIN,
    dose_limit_set,
    lot_recall,
    open_reinjection_recall,
    toxin_lot_create,
    toxin_lot_update,
)

SPECS: dict[str, KindSpec] = {s.kind: s for s in (CONSULTATION, FOLLOW_UP, TOXIN, THERAPY, SURGERY)}


def consultation_record(*, patient, actor, data: dict):
    return encounter_record(CONSULTATION, patient=patient, actor=actor, data=data)


def follow_up_record(*, patient, actor, data: dict):
    return encounter_record(FOLLOW_UP, patient=patient, actor=actor, data=data)


__all__ = [
    "CONSULTATION",
    "FOLLOW_UP",
    "SPECS",
    "SURGERY",
    "THERAPY",
    "TOXIN",
    "assessment_mark_entered_in_error",
    "assessment_record",
    "consultation_record",
    "dose_limit_set",
    "encounter_add_addendum",
    "encounter_cosign",
    "encounter_record",
    "encounter_sign",
    "encounter_update",
    "follow_up_record",
    "lot_recall",
    "open_post_op_recalls",
    "open_reinjection_recall",
    "plan_agree",
    "plan_create",
    "plan_update",
    "post_op_window",
    "toxin_interval_clear",
    "toxin_interval_set",
    "toxin_lot_create",
    "toxin_lot_update",
]
