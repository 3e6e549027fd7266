"""Procedure consent: versioned form templates and the consents patients sign on them.

- ``ConsentTemplate``: one version of one procedure's form (what the procedure is, its
  benefits, risks, alternatives and what to expect). Editing a form adds a version; a version
  is never changed or deleted (the services refuse it; on PostgreSQL a trigger too, migration
  0002), so a signed consent always points at the exact text the patient read.
- ``PatientConsent``: one patient's consent on one template version. It goes
  awaiting_patient -> awaiting_countersignature -> signed, and may be withdrawn at any stage
  (reason, who, when). Once countersigned, the signed PDF is made, stored privately and
  hashed; from then on only the withdrawal columns may change (trigger as above).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Procedure(models.TextChoices):
    """The procedures the clinic has a consent form for."""

    BOTULINUM_TOXIN = "botulinum_toxin", "Botulinum toxin injections"
    DAO_EXCISION = "dao_excision", "Depressor anguli oris (DAO) excision under local anaesthetic"
    SELECTIVE_MYECTOMY = "selective_myectomy", "Selective myectomy"
    SELECTIVE_NEUROLYSIS = "selective_neurolysis", "Selective neurolysis"
    BROW_LIFT = "brow_lift", "Brow lift"
    GOLD_WEIGHT = "gold_weight", "Upper eyelid gold weight"
    MUSCLE_TRANSFER = "muscle_transfer", "Muscle transfer (free functional muscle transfer)"


SURGICAL_PROCEDURES = frozenset(p for p in Procedure.values if p != Procedure.BOTULINUM_TOXIN)


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BILATERAL = "bilateral", "Bilateral"


# The sections of a form, in the order they are read and printed.
SECTIONS = (
    ("description", "About the procedure"),
    ("benefits", "Intended benefits"),
    ("risks", "Risks and side effects"),
    ("alternatives", "Alternatives"),
    ("what_to_expect", "What to expect"),
)


class ConsentTemplate(models.Model):
    procedure = models.CharField(max_length=32, choices=Procedure)
    version = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField()
    benefits = models.TextField()
    risks = models.TextField()
    alternatives = models.TextField()
    what_to_expect = models.TextField()
    change_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["procedure", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "version"], name="consents_template_one_per_version"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="consents_template_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    @property
    def audit_label(self) -> str:
        return f"consent template {self.procedure} v{self.version}"

    @property
    def sections(self) -> list[tuple[str, str]]:
        """(heading, text) of each section, in reading order."""
        return [(heading, getattr(self, name)) for name, heading in SECTIONS]


class PatientConsent(models.Model):
    class Status(models.TextChoices):
        AWAITING_PATIENT = "awaiting_patient", "Awaiting the patient's signature"
        AWAITING_COUNTERSIGNATURE = "awaiting_countersignature", "Awaiting countersignature"
        SIGNED = "signed", "Signed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class SignatureMethod(models.TextChoices):
        DRAWN = "drawn", "Drawn on a signature pad"
        TYPED = "typed", "Typed name, confirmed"

    class Via(models.TextChoices):
        TABLET = "tablet", "Clinic tablet"
        LINK = "link", "Patient link"
        API = "api", "API"
        STAFF = "staff", "Staff"

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="procedure_consents"
    )
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="consents")
    # The template's procedure, kept on the row for the "valid consent for X" look-ups.
    procedure = models.CharField(max_length=32, choices=Procedure)
    side = models.CharField(max_length=16, choices=Side, blank=True)
    details = models.CharField(
        max_length=300, blank=True, help_text="What exactly is planned, e.g. 'left DAO, with lip surgery'."
    )
    status = models.CharField(max_length=32, choices=Status, default=Status.AWAITING_PATIENT)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    patient_signed_at = models.DateTimeField(null=True, blank=True)
    patient_signed_name = models.CharField(max_length=200, blank=True)
    patient_signature_method = models.CharField(max_length=8, choices=SignatureMethod, blank=True)
    patient_signature_png = models.BinaryField(null=True, blank=True, editable=False)
    patient_signed_via = models.CharField(max_length=8, choices=Via, blank=True)

    countersigned_at = models.DateTimeField(null=True, blank=True)
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    countersignature_method = models.CharField(max_length=8, choices=SignatureMethod, blank=True)
    countersignature_png = models.BinaryField(null=True, blank=True, editable=False)

    # The signed PDF in the private storage (never a public URL), its SHA-256, and the SHA-256
    # of the signed content (the canonical record printed in the PDF: consents.documents).
    pdf_name = models.CharField(max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)

    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)
    withdrawal_via = models.CharField(max_length=8, choices=Via, blank=True)

    history = HistoricalRecords(excluded_fields=["patient_signature_png", "countersignature_png"])

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="awaiting_patient")
                | Q(patient_signed_at__isnull=False)
                | Q(status="withdrawn"),
                name="consents_consent_patient_signed",
            ),
            models.CheckConstraint(
                condition=~Q(status="signed")
                | (Q(countersigned_at__isnull=False) & Q(countersigned_by__isnull=False) & ~Q(pdf_sha256="")),
                name="consents_consent_signed_is_complete",
            ),
            models.CheckConstraint(
                condition=~Q(status="withdrawn") | (Q(withdrawn_at__isnull=False) & ~Q(withdrawal_reason="")),
                name="consents_consent_withdrawal_recorded",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "procedure", "-created_at"], name="consents_patient_procedure"),
        ]

    def __str__(self) -> str:
        return f"Consent {self.pk}: {self.get_procedure_display()}"

    @property
    def audit_label(self) -> str:
        return f"procedure consent {self.pk}"

    @property
    def is_surgical(self) -> bool:
        return self.procedure in SURGICAL_PROCEDURES
