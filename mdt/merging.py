"""What the MDT app does when the registry merges a duplicate patient (patients.merging).

The registry moves the items itself. Where both records are on one meeting's list, the
duplicate's item is marked merged (its question joins the survivor's item when still open), so
that one patient keeps one item per meeting."""

from typing import Any

from patients.merging import MergeHook, register_merge_hook

from .models import MdtItem


def items_prepare_merge(*, survivor: Any, duplicate: Any, actor: Any, reason: str) -> dict[str, Any]:
    merged = []
    survivors = {
        i.meeting_id: i
        for i in MdtItem.objects.select_for_update()
        .filter(patient=survivor)
        .exclude(status=MdtItem.Status.MERGED)
    }
    for item in (
        MdtItem.objects.select_for_update().filter(patient=duplicate).exclude(status=MdtItem.Status.MERGED)
    ):
        kept = survivors.get(item.meeting_id)
        if kept is None:
            continue
        if item.status == MdtItem.Status.OPEN and kept.status == MdtItem.Status.OPEN:
            kept.question = f"{kept.question}\n\n{reason}: {item.question}"[:2000]
            kept._change_reason = reason  # type: ignore[attr-defined]
            kept.save(update_fields=["question"])
        item.status = MdtItem.Status.MERGED
        item._change_reason = reason  # type: ignore[attr-defined]
        item.save(update_fields=["status"])
        merged.append(item.pk)
    return {"mdt.mdtitem": {"merged": merged}} if merged else {}


def register() -> None:
    register_merge_hook(MergeHook(key="mdt", prepare=items_prepare_merge))
