"""What the treatments app does when the registry merges a duplicate patient (patients.merging).

The registry moves every clinical row itself, signed encounters included; this hook only makes
the rows fit the surviving record first (one active plan per patient).
"""

from patients.merging import MergeHook, register_merge_hook

from .services.plans import plans_prepare_merge


def register() -> None:
    register_merge_hook(MergeHook(key="treatments.plans", prepare=plans_prepare_merge))
