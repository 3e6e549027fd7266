"""Standard codes for the record exports: the checked ones in ``fhir_codes`` and the clinic's own
map (``CodeMapping``), edited by the practice manager on the settings page and through the API.

An export loads the clinic's terminology once (``terminology_load``: two queries) and asks it for
each concept; a concept with neither a checked nor a mapped code keeps its local code only.
"""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.audit import acting_user, attribute, audit_record
from clinic.configuration import invalid_from, settings_lock
from clinic.errors import Invalid
from clinic.models import ClinicSettings
from treatments.models import Muscle, Procedure, Product

from . import fhir_codes as codes
from .models import CodeMapping, verhoeff_valid

Source = CodeMapping.Source
Target = CodeMapping.Target

SET = "code_mapping.set"
CLEARED = "code_mapping.cleared"

# The local concepts each source names: code -> label.
CONCEPTS: dict[str, dict[str, str]] = {
    Source.TOXIN_PRODUCT: dict(Product.choices),
    Source.PROCEDURE: dict(Procedure.Kind.choices),
    Source.MUSCLE: dict(Muscle.choices),
}

SYSTEMS: dict[str, str] = {Target.SNOMED: codes.SNOMED, Target.DMD: codes.DMD, Target.RXNORM: codes.RXNORM}


def checked_code(source: str, local_code: str, target: str) -> tuple[str, str] | None:
    """The code shipped with the software for a concept, checked against a published source."""
    if source == Source.TOXIN_PRODUCT:
        return codes.MEDICINE_CODES.get(target, {}).get(local_code)
    return None


@dataclass
class Terminology:
    """What an export codes with: the clinic's medicine terminology and its code map."""

    medicines: str = "dmd"
    mapped: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)

    def standard(self, source: str, local_code: str, target: str) -> dict[str, str] | None:
        """A FHIR Coding for the concept in ``target``, checked or mapped; None if neither."""
        found = checked_code(source, local_code, target) or self.mapped.get((source, local_code, target))
        if found is None:
            return None
        code, display = found
        return {"system": SYSTEMS[target], "code": code, "display": display}

    def medicine(self, product: str) -> dict[str, str] | None:
        return self.standard(Source.TOXIN_PRODUCT, product, self.medicines)


def terminology_load() -> Terminology:
    """The clinic's terminology for one export: two queries."""
    medicines = ClinicSettings.objects.filter(pk=1).values_list("medicines_terminology", flat=True).first()
    mapped = {
        (source, local, target): (code, display)
        for source, local, target, code, display in CodeMapping.objects.values_list(
            "source", "local_code", "target", "code", "display"
        )
    }
    return Terminology(medicines=medicines or "dmd", mapped=mapped)


def _check(source: str, local_code: str, target: str) -> None:
    if source not in CONCEPTS:
        raise Invalid(fields={"source": [f"Choose one of: {', '.join(CONCEPTS)}."]})
    if local_code not in CONCEPTS[source]:
        raise Invalid(fields={"local_code": [f"Not a {Source(source).label.lower()} of this system."]})
    allowed = CodeMapping.TARGETS[Source(source)]
    if target not in allowed:
        raise Invalid(fields={"target": [f"A {Source(source).label.lower()} maps to {', '.join(allowed)}."]})


@transaction.atomic
def code_mapping_set(
    *,
    source: str,
    local_code: str,
    target: str,
    code: str,
    display: str,
    checked_against: str,
    actor: Any,
) -> CodeMapping:
    """Map a local concept to a standard code (replacing its earlier mapping to that terminology).

    Refused (``invalid``, with field messages): an unknown concept or a terminology it cannot map
    to, a code that is not digits or (SNOMED CT, dm+d) fails the Verhoeff check digit, a concept
    whose code ships checked with the software, no display or no release."""
    _check(source, local_code, target)
    code = (code or "").strip()
    if checked_code(source, local_code, target):
        raise Invalid(
            fields={"code": ["This concept's code ships with the system, checked; it is not mapped here."]}
        )
    if target in (Target.SNOMED, Target.DMD) and code.isdigit() and not verhoeff_valid(code):
        raise Invalid(fields={"code": ["Not a SNOMED CT or dm+d identifier: its check digit is wrong."]})
    settings_lock()
    row = (
        CodeMapping.objects.select_for_update()
        .filter(source=source, local_code=local_code, target=target)
        .first()
    )
    before = None if row is None else {"code": row.code, "display": row.display}
    row = row or CodeMapping(source=source, local_code=local_code, target=target)
    row.code, row.display, row.checked_against = (
        code,
        (display or "").strip(),
        (checked_against or "").strip(),
    )
    try:
        row.full_clean(exclude=["updated_by"])
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    row.updated_by = acting_user(actor)
    attribute(row, actor)
    row.save()
    audit_record(
        actor=actor,
        action=SET,
        target=row,
        changes={
            "from": before,
            "to": {"code": row.code, "display": row.display},
            "checked": row.checked_against,
        },
    )
    return row


@transaction.atomic
def code_mapping_clear(*, mapping: CodeMapping, actor: Any) -> None:
    """Remove a mapping: the concept is exported with its local code again. History keeps it."""
    settings_lock()
    row = CodeMapping.objects.select_for_update().filter(pk=mapping.pk).first()
    if row is None:
        return
    audit_record(actor=actor, action=CLEARED, target=row, changes={"code": row.code, "target": row.target})
    attribute(row, actor)
    row.delete()
