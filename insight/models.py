"""The clinic's own map from its local codes to standard terminologies, for the record exports.

The export codes a concept with a standard code only where that code is known to be right: the
few checked in ``fhir_codes`` and, for the rest, the ones the clinic enters here from its own
licensed terminology browser (dm+d and SNOMED CT need a licence; RxNorm is free to look up).
Each row says which release it was checked against. In FHIR terms this table is a ConceptMap
from the clinic's local code systems (``fhir_codes.LOCAL_SYSTEMS``) to SNOMED CT, dm+d and RxNorm.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords


def verhoeff_valid(digits: str) -> bool:
    """The Verhoeff check that every SNOMED CT identifier (and so every dm+d code) carries in its
    last digit (SNOMED International, Technical Implementation Guide, "Check-digit")."""
    d = (
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
        (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
        (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
        (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
        (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
        (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
        (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
        (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
        (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
    )
    p = (
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
        (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
        (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
        (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
        (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
        (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
        (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
    )
    check = 0
    for i, digit in enumerate(reversed(digits)):
        check = d[check][p[i % 8][int(digit)]]
    return check == 0


class CodeMapping(models.Model):
    """One local concept mapped to one standard code."""

    class Source(models.TextChoices):
        TOXIN_PRODUCT = "toxin-product", "Toxin product"
        PROCEDURE = "procedure", "Surgical procedure"
        MUSCLE = "muscle", "Muscle"

    class Target(models.TextChoices):
        SNOMED = "snomed", "SNOMED CT"
        DMD = "dmd", "dm+d"
        RXNORM = "rxnorm", "RxNorm"

    # Which standard terminologies each kind of concept may be mapped to.
    TARGETS = {
        Source.TOXIN_PRODUCT: (Target.DMD, Target.RXNORM),
        Source.PROCEDURE: (Target.SNOMED,),
        Source.MUSCLE: (Target.SNOMED,),
    }

    source = models.CharField(max_length=16, choices=Source)
    local_code = models.CharField(max_length=40)
    target = models.CharField(max_length=8, choices=Target)
    code = models.CharField(
        max_length=18,
        validators=[RegexValidator(r"^[1-9][0-9]{0,17}$", "Give the code's digits only.")],
    )
    display = models.CharField(
        max_length=255, help_text="The code's preferred term, as the terminology gives it."
    )
    checked_against = models.CharField(
        max_length=80, help_text="The terminology release the code was checked in, e.g. 'dm+d 2026-11-30'."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["source", "local_code", "target"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "local_code", "target"], name="insight_codemapping_once"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(source="toxin-product", target__in=["dmd", "rxnorm"])
                    | models.Q(source__in=["procedure", "muscle"], target="snomed")
                ),
                name="insight_codemapping_target_fits_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.local_code} -> {self.target} {self.code}"

    @property
    def audit_label(self) -> str:
        return f"code mapping {self.source} {self.local_code} to {self.target}"
