"""What the treatments app does when the registry merges a duplicate patient (patients.merging).

The registry moves every clinical row itself, signed encounters included; this hook makes the
rows fit the surviving record first (one active plan per patient) and, once they have moved,
lists any toxin sessions now closer than the interval for the clinical lead.
"""

from patients.merging import MergeHook, register_merge_hook

from .interval import interval_findings_scan
from .services.plans import plans_prepare_merge


def interval_check_merged(*, survivor, duplicate, actor) -> None:
    """Two records of one person may each hold a session the other never saw: once merged, any
    pair closer than the interval goes on the clinical lead's list at once (not next night)."""
    interval_findings_scan(actor=actor, patient_id=survivor.pk)


def register() -> None:
    register_merge_hook(
        MergeHook(key="treatments.plans", prepare=plans_prepare_merge, finish=interval_check_merged)
    )
