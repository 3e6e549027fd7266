"""Clinic letters: summaries written from the record for the GP, the referrer and the patient.

- ``Letter``: one letter about one patient, of one kind (a consultation, a procedure, a course of
  toxin sessions). It is drafted from the record (``letters.filling``), edited by the clinician,
  then signed. Signing makes the PDF, stores it privately with its SHA-256, and the letter is
  read-only from then on: a correction is a new letter that ``amends`` the signed one.
- ``LetterDelivery``: one email of a signed letter to one recipient (the GP, the referrer, or a
  copy to the patient), with the PDF attached. A delivery is claimed by one worker before it is
  sent, so it leaves at most once (``letters.services.letter_deliver``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

SUBJECT_MAX = 200
BODY_MAX = 20_000


class Letter(models.Model):
    class Kind(models.TextChoices):
        CONSULTATION = "consultation", "Consultation summary"
        PROCEDURE = "procedure", "Procedure summary"
        TOXIN_COURSE = "toxin_course", "Toxin course summary"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SIGNED = "signed", "Signed"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField(max_length=16, choices=Kind)
    # The encounter the letter summarises (a toxin course letter names its latest session).
    encounter = models.ForeignKey(
        "treatments.Encounter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A correction names the signed letter it corrects; the signed one never changes.
    amends = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    subject = models.CharField(max_length=SUBJECT_MAX)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The signed PDF in the private storage, its SHA-256, and the SHA-256 of the signed content
    # (letters.documents), printed in the PDF.
    pdf_name = models.CharField(max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(signed_at__isnull=False) & Q(signed_by__isnull=False) & ~Q(pdf_sha256="")),
                name="letters_letter_signed_is_complete",
            ),
        ]
        indexes = [models.Index(fields=["patient", "-created_at"], name="letters_patient_time")]

    def __str__(self) -> str:
        return f"Letter {self.pk}: {self.get_kind_display()}"

    @property
    def audit_label(self) -> str:
        return f"letter {self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED


class LetterDelivery(models.Model):
    class Recipient(models.TextChoices):
        GP = "gp", "GP"
        REFERRER = "referrer", "Referrer"
        PATIENT = "patient", "Patient (copy)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="deliveries")
    recipient = models.CharField(max_length=16, choices=Recipient)
    name = models.CharField(max_length=200, blank=True)
    address = models.EmailField(max_length=254)
    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    message_id = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="letters_delivery_sent_has_time"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="letters_delivery_due")]

    def __str__(self) -> str:
        return f"Letter {self.letter_id} to {self.get_recipient_display()}"

    @property
    def audit_label(self) -> str:
        return f"letter delivery {self.pk}"
