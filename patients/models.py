"""The patient registry: demographics, contact details, facial palsy history, messaging consent."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from .validators import (
    validate_birth_date,
    validate_country_code,
    validate_language_tag,
    validate_mobile,
    validate_name,
    validate_not_future,
)


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Not recorded"

    class Side(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        BILATERAL = "bilateral", "Bilateral"

    class Cause(models.TextChoices):
        BELLS_PALSY = "bells_palsy", "Bell's palsy"
        RAMSAY_HUNT = "ramsay_hunt", "Ramsay Hunt syndrome"
        SURGERY = "surgery", "Acoustic neuroma or other surgery"
        TRAUMA = "trauma", "Trauma"
        CONGENITAL = "congenital", "Congenital"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    class InactiveReason(models.TextChoices):
        DECEASED = "deceased", "Deceased"
        MOVED_AWAY = "moved_away", "Moved away"
        MERGED = "merged", "Duplicate, merged into another record"
        OTHER = "other", "Other"

    # Medical record number: generated, unique, human-friendly (see services.mrn_for).
    mrn = models.CharField("MRN", max_length=16, unique=True, editable=False)

    first_name = models.CharField(max_length=100, validators=[validate_name])
    last_name = models.CharField(max_length=100, validators=[validate_name])
    preferred_name = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_name],
        help_text="What the patient likes to be called",
    )
    date_of_birth = models.DateField(validators=[validate_birth_date])
    sex = models.CharField(max_length=16, choices=Sex, default=Sex.UNKNOWN)

    email = models.EmailField(max_length=254, blank=True)
    mobile = PhoneNumberField(
        blank=True, validators=[validate_mobile], help_text="Stored in E.164, e.g. +447700900123"
    )
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(
        max_length=2, blank=True, default="GB", validators=[validate_country_code], help_text="ISO 3166 code"
    )
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_phone = PhoneNumberField(blank=True)
    language = models.CharField(
        max_length=10, default="en", validators=[validate_language_tag], help_text="For messages, e.g. en, fr"
    )
    referring_clinician = models.CharField(max_length=200, blank=True)
    # Where clinic letters to the referrer go (letters app).
    referrer_email = models.EmailField("referrer's email", max_length=254, blank=True)
    gp_name = models.CharField("GP", max_length=200, blank=True)
    gp_practice = models.CharField("GP practice", max_length=200, blank=True)
    # Where clinic letters to the GP go: usually the practice's secure (nhs.net) mailbox.
    gp_email = models.EmailField("GP's email", max_length=254, blank=True)

    # Facial palsy history (clinical: hidden from the front desk).
    affected_side = models.CharField(max_length=16, choices=Side, blank=True)
    palsy_cause = models.CharField(max_length=32, choices=Cause, blank=True)
    palsy_cause_detail = models.CharField(max_length=200, blank=True)
    palsy_onset_date = models.DateField(null=True, blank=True, validators=[validate_not_future])
    previous_treatments = models.TextField(blank=True)
    prior_toxin = models.BooleanField(default=False)
    prior_therapy = models.BooleanField(default=False)
    prior_surgery = models.BooleanField(default=False)
    allergies = models.TextField(blank=True)
    medications = models.TextField(blank=True)
    # Anticoagulants change how surgery and injections are done: a flag, not just free text.
    on_anticoagulants = models.BooleanField(default=False)

    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE)
    inactive_reason = models.CharField(max_length=16, choices=InactiveReason, blank=True)
    inactive_since = models.DateTimeField(null=True, blank=True)
    inactive_note = models.CharField(max_length=200, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_records"
    )

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    # Fields only clinical roles may see (pages and API hide them from the front desk).
    CLINICAL_FIELDS = (
        "affected_side",
        "palsy_cause",
        "palsy_cause_detail",
        "palsy_onset_date",
        "previous_treatments",
        "prior_toxin",
        "prior_therapy",
        "prior_surgery",
        "allergies",
        "medications",
        "on_anticoagulants",
    )

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            # Inactive records say why; active ones carry no reason.
            models.CheckConstraint(
                condition=(Q(status="active") & Q(inactive_reason=""))
                | (Q(status="inactive") & ~Q(inactive_reason="")),
                name="patients_patient_inactive_has_reason",
            ),
            # A merged record points at its survivor, and only merged records do.
            models.CheckConstraint(
                condition=(Q(inactive_reason="merged") & Q(merged_into__isnull=False))
                | (~Q(inactive_reason="merged") & Q(merged_into__isnull=True)),
                name="patients_patient_merged_has_survivor",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("id")), name="patients_patient_not_merged_into_self"
            ),
            # Guards against mistyped years (e.g. 0197 for 1970) that forms would let through.
            models.CheckConstraint(
                condition=Q(date_of_birth__gte=date(1900, 1, 1)), name="patients_patient_born_after_1900"
            ),
            # A palsy cannot start before the patient was born (congenital: on the day of birth).
            models.CheckConstraint(
                condition=Q(palsy_onset_date__isnull=True) | Q(palsy_onset_date__gte=F("date_of_birth")),
                name="patients_patient_onset_after_birth",
            ),
        ]
        indexes = [
            # Duplicate guard: same name and date of birth.
            models.Index(Lower("last_name"), "date_of_birth", name="patients_patient_name_dob"),
            # Search and duplicate guard by contact details.
            models.Index(fields=["mobile"], name="patients_patient_mobile"),
            models.Index(Lower("email"), name="patients_patient_email"),
            models.Index(fields=["date_of_birth"], name="patients_patient_dob"),
            # The unfiltered patient list, alphabetical and paginated (Meta.ordering).
            models.Index(fields=["last_name", "first_name", "id"], name="patients_patient_list"),
            # Name search uses a trigram GIN index and two phonetic indexes on PostgreSQL;
            # they are expression indexes created by migration 0002 (see patients/search.py).
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.first_name
        return f"{first} {self.last_name}"

    @property
    def audit_label(self) -> str:
        # The audit trail names patients by MRN only.
        return f"patient {self.mrn}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_merged(self) -> bool:
        return self.inactive_reason == self.InactiveReason.MERGED

    @property
    def age(self) -> int:
        today = timezone.localdate()
        born = self.date_of_birth
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class MessagingConsent(models.Model):
    """One consent decision: given or withdrawn, for one channel and purpose, with how and when.

    Rows are never edited: the newest row per (patient, channel, purpose) is the current state,
    and the older rows are the record of what the patient said before.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    class Purpose(models.TextChoices):
        APPOINTMENT_REMINDERS = "appointment_reminders", "Appointment reminders"
        RECALLS = "recalls", "Recalls (e.g. reinjection due)"
        QUESTIONNAIRES = "questionnaires", "Questionnaires"

    class Method(models.TextChoices):
        WRITTEN = "written", "Written form"
        VERBAL = "verbal", "Verbally, to staff"
        ONLINE = "online", "Online form"
        LINK = "link", "Unsubscribe link"
        SMS_REPLY = "sms_reply", "SMS reply (STOP)"
        MERGE = "merge", "Carried over from a merged record"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    channel = models.CharField(max_length=8, choices=Channel)
    purpose = models.CharField(max_length=32, choices=Purpose)
    granted = models.BooleanField()
    # The address or number the decision was about (consent does not follow a changed number).
    address = models.CharField(max_length=254)
    method = models.CharField(max_length=16, choices=Method)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            # A grant is only meaningful for a known address or number.
            models.CheckConstraint(
                condition=Q(granted=False) | ~Q(address=""), name="patients_consent_grant_has_address"
            ),
        ]
        indexes = [
            # "Current consent for this patient, channel and purpose" reads the newest row.
            models.Index(
                fields=["patient", "channel", "purpose", "-recorded_at", "-id"],
                name="patients_consent_current",
            ),
        ]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrawn"
        return f"{self.channel}/{self.purpose} {verb}"
