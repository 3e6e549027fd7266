"""Consultation requests: a prospective patient asks to be seen (the public form), or the desk
enters a clinician's referral. The front desk accepts one (a patient, registered or matched,
and a booked consultation) or declines it with a message emailed to the requester once.

- ``ConsultationRequest``: one request, with its history. It goes new -> accepted or new ->
  declined, never back; an accepted request names its patient and appointment.
- ``SubmissionAttempt``: one POST of the public form from one client address, kept for the
  rate limit's window (docs/intake.md). It holds no personal data beyond the address.
"""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from patients.validators import validate_birth_date, validate_name

PROBLEM_MAX = 2000
PRIOR_TREATMENTS_MAX = 1000
DECLINE_MESSAGE_MAX = 2000


class ConsultationRequest(models.Model):
    class Source(models.TextChoices):
        PUBLIC = "public", "Public form"
        REFERRAL = "referral", "Referral from a clinician"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    class Side(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        BOTH = "both", "Both sides"
        UNSURE = "unsure", "Not sure"

    class EmailStatus(models.TextChoices):
        NONE = "", "Not sent"
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        NO_ADDRESS = "no_address", "No email address"

    source = models.CharField(max_length=16, choices=Source, default=Source.PUBLIC)
    status = models.CharField(max_length=16, choices=Status, default=Status.NEW)
    first_name = models.CharField(max_length=100, validators=[validate_name])
    last_name = models.CharField(max_length=100, validators=[validate_name])
    date_of_birth = models.DateField(validators=[validate_birth_date])
    email = models.EmailField(max_length=254, blank=True)
    phone = PhoneNumberField(blank=True, help_text="Stored in E.164, e.g. +447700100123")
    problem = models.TextField(validators=[MaxLengthValidator(PROBLEM_MAX)])
    affected_side = models.CharField(max_length=16, choices=Side, blank=True)
    duration = models.CharField("How long", max_length=100, blank=True)
    prior_treatments = models.TextField(blank=True, validators=[MaxLengthValidator(PRIOR_TREATMENTS_MAX)])
    consent_to_contact = models.BooleanField(default=False)
    referrer_name = models.CharField(max_length=200, blank=True)
    referrer_contact = models.CharField(max_length=200, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consultation_requests",
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_message = models.TextField(blank=True, validators=[MaxLengthValidator(DECLINE_MESSAGE_MAX)])
    email_status = models.CharField(max_length=16, choices=EmailStatus, blank=True, default="")
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_message_id = models.CharField(max_length=200, blank=True)
    email_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="intake_request_status")]
        constraints = [
            models.CheckConstraint(condition=~Q(email="", phone=""), name="intake_request_has_contact"),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(patient__isnull=False, appointment__isnull=False),
                name="intake_accepted_has_patient_and_appointment",
            ),
            models.CheckConstraint(
                condition=~Q(source="public") | Q(consent_to_contact=True),
                name="intake_public_request_has_consent",
            ),
        ]

    def __str__(self) -> str:
        return f"Consultation request {self.pk}: {self.first_name} {self.last_name}"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def audit_label(self) -> str:
        return f"consultation request {self.pk}"


class SubmissionAttempt(models.Model):
    address = models.GenericIPAddressField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["address", "at"], name="intake_attempt_address_at")]

    def __str__(self) -> str:
        return f"{self.address} at {self.at:%Y-%m-%d %H:%M}"
