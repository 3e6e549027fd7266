"""What the photos app does when the registry merges a duplicate patient (patients.merging).

The registry moves photo sets and consents itself. Consent versions are numbered per patient,
so both records' consents are renumbered first, together, in the order they were recorded:
after the merge the consent in force is the one recorded last, whichever record held it (a
withdrawal on the survivor yesterday is not overridden by the duplicate's consent of last
year)."""

from django.db.models import Q

from patients.merging import MergeHook, register_merge_hook

from .models import PhotoConsent

# Above any real version: the rows pass through these numbers so that the unique
# (patient, version) holds at every step.
PARKED = 1_000_000


def consents_prepare_merge(*, survivor, duplicate, actor, reason) -> dict:
    rows = list(
        PhotoConsent.objects.select_for_update()
        .filter(Q(patient=survivor) | Q(patient=duplicate))
        .order_by("recorded_at", "id")
    )
    if not any(r.patient_id == duplicate.pk for r in rows):
        return {}
    for n, row in enumerate(rows, start=1):
        row.version = PARKED + n
        row.save(update_fields=["version"])
    for n, row in enumerate(rows, start=1):
        row.version = n
        row._change_reason = reason
        row.save(update_fields=["version"])
    return {"photos.photoconsent": {"renumbered": [r.pk for r in rows]}}


def register() -> None:
    register_merge_hook(MergeHook(key="photos.consents", prepare=consents_prepare_merge))
