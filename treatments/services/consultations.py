"""A consultation with its gradings: one form, one submit, one transaction.

The clinician fills in the consultation and any of the gradings (Sunnybrook, House-Brackmann,
the SAQ, whatever the instrument registry holds) on one page. Everything is saved together or
nothing is: a grading with a missing or out-of-range item rolls the consultation back too, and
the errors come back per grading and item (``fields["gradings"][code][item]``).
"""

from django.db import transaction

from clinic.errors import Invalid

from ..exceptions import GradingsInvalid
from .assessments import assessment_record
from .encounters import CONSULTATION, encounter_record, encounter_update


@transaction.atomic
def consultation_record_with_gradings(*, patient, actor, data: dict, gradings: dict, detail=None):
    """Record a consultation (or change its draft, ``detail``) and the gradings taken during it
    (``gradings``: instrument code -> raw items), each linked to the consultation and dated at
    its time. Raises GradingsInvalid (nothing saved) if any grading is refused."""
    if detail is None:
        detail = encounter_record(CONSULTATION, patient=patient, actor=actor, data=data)
    else:
        detail = encounter_update(CONSULTATION, detail=detail, actor=actor, data=data)
    encounter = detail.encounter
    errors: dict[str, dict] = {}
    for code, items in gradings.items():
        try:
            with transaction.atomic():
                assessment_record(
                    patient=patient,
                    instrument=code,
                    items=items,
                    assessed_at=encounter.occurred_at,
                    actor=actor,
                    encounter=encounter,
                )
        except Invalid as exc:
            errors[code] = exc.fields
    if errors:
        raise GradingsInvalid(fields={"gradings": errors})
    return detail
