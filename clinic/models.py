"""What every app shares: the staff user, capability permissions and the audit trail."""

from datetime import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from simple_history.models import HistoricalRecords


def display_name(*, title: str, first_name: str, last_name: str, username: str) -> str:
    """How a member of staff is named (User.display_name), from the columns alone."""
    name = " ".join(p for p in (title, first_name, last_name) if p)
    return name or username


class User(AbstractUser):
    """A member of staff. Patients never get a login: they act through signed links."""

    title = models.CharField(max_length=20, blank=True, help_text="e.g. Dr, Mr, Ms")
    # Raised to end every session of the user at once (a two-factor reset, deactivation, "sign
    # out everywhere"): it is part of the hash each session is checked against.
    session_version = models.PositiveIntegerField(default=0, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return display_name(
            title=self.title, first_name=self.first_name, last_name=self.last_name, username=self.username
        )

    def _get_session_auth_hash(self, secret=None):
        # Django's session hash (of the password hash), with the session version mixed in once it
        # has been raised; version 0 gives Django's own value, so existing sessions stay valid.
        value = self.password if not self.session_version else f"{self.password}:{self.session_version}"
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            value,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def role_names(self) -> list[str]:
        # Prefetch-friendly: reads the groups cache when the caller prefetched it.
        return sorted(group.name for group in self.groups.all())


class Capability(models.Model):
    """Holds the capability permissions the roles are made of; it has no table.

    Pages, API views and patient-link views all check these through ``user.has_perm``,
    so there is one authorization layer (see clinic.roles for who has which).
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_demographics", "See patients' demographics and contact details"),
            ("edit_demographics", "Register patients and edit their demographics"),
            ("view_clinical", "See clinical records: history, encounters, gradings, plans"),
            ("record_consultation", "Record consultations, follow-ups, gradings and plans"),
            ("record_toxin", "Record botulinum toxin sessions"),
            ("override_toxin_interval", "Override the minimum reinjection interval, with a reason"),
            ("record_surgery", "Record surgeries"),
            ("record_therapy", "Record therapy (NMRT) visits"),
            ("book_appointments", "Book, move and cancel appointments"),
            ("manage_schedule", "Manage rooms, working hours, time off and appointment types"),
            ("work_recalls", "Work the recall list and see the message log"),
            ("manage_lots", "Manage the toxin lot register"),
            ("merge_patients", "Merge duplicate patient records and deactivate patients"),
            ("view_audit", "Browse the audit trail"),
            ("manage_staff", "See staff accounts and reset their two-factor authentication"),
            ("manage_settings", "Edit the clinic settings and the reinjection interval of each product"),
            ("review_interval_findings", "Review toxin sessions found closer than the interval"),
        ]

    def __str__(self) -> str:
        return "capability"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The audit trail is append-only.")

    def delete(self):
        raise TypeError("The audit trail is append-only.")


class AuditEvent(models.Model):
    """Who did what to which record, and when. Append-only.

    The application never updates or deletes a row (save/delete refuse, and on PostgreSQL a
    trigger refuses too, so that even raw SQL from the app's role cannot rewrite history).
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Kept beside the FK so the trail reads the same even if a user is renamed.
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    # The patient the event concerns, if any: answers "who touched this patient's record".
    patient_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.UUIDField(null=True, blank=True)
    source = models.CharField(max_length=16, blank=True)
    # The hash chain (clinic.audit_chain): the row's place in the chain, the previous link's hash
    # and SHA-256 over this row's content and that hash. Written by the database when the
    # inserting transaction commits (PostgreSQL), or by save() (SQLite); never by the caller.
    chain_seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    row_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The audit page filters by patient, by actor or by record, newest first.
            models.Index(fields=["patient_id", "-at"], name="clinic_audit_patient_at"),
            models.Index(fields=["actor", "-at"], name="clinic_audit_actor_at"),
            models.Index(fields=["target_type", "target_id"], name="clinic_audit_target"),
            models.Index(fields=["-at"], name="clinic_audit_at"),
            # audit_verify counts rows left outside the chain; this keeps that count cheap.
            models.Index(
                fields=["id"], condition=models.Q(chain_seq__isnull=True), name="clinic_audit_unsealed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit trail is append-only.")
        from .audit_chain import event_insert

        event_insert(self, super().save, *args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit trail is append-only.")


class AuditChainHead(models.Model):
    """The newest link of the audit trail's hash chain: one row (id 1), locked while a link is
    added, so that links are handed out one at a time in commit order (clinic.audit_chain)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    row_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain head {self.seq}"


# The range of a minimum reinjection interval, the clinic default's and each product's
# (treatments.ToxinProductInterval): at least a day, at most a year.
INTERVAL_DAYS_MIN = 1
INTERVAL_DAYS_MAX = 365


def bounded(low: int, high: int) -> list:
    """The validators of a whole number from ``low`` to ``high``; forms and serializers read
    their bounds from these (see clinic.configuration.field_bounds)."""
    return [MinValueValidator(low), MaxValueValidator(high)]


def decimal_bounded(low: str, high: str | None = None) -> list:
    """The validators of a decimal from ``low`` (to ``high``), given as strings: exact decimals."""
    validators: list = [MinValueValidator(Decimal(low))]
    if high is not None:
        validators.append(MaxValueValidator(Decimal(high)))
    return validators


# The bounds of each number the practice manager sets, checked by the model (full_clean), the
# settings page, the API and the database alike.
CLINIC_SETTINGS_BOUNDS: dict[str, tuple[int, int]] = {
    "min_reinjection_interval_days": (INTERVAL_DAYS_MIN, INTERVAL_DAYS_MAX),
    "appointment_reminder_hours": (1, 168),
    "recall_first_reminder_weeks_before_due": (0, 12),
    "recall_second_reminder_weeks_after_due": (0, 12),
    "recall_overdue_weeks_after_due": (1, 26),
    "questionnaire_after_toxin_days": (1, 90),
    "booking_horizon_days": (1, 730),
    "therapy_after_toxin_from_day": (1, 120),
    "therapy_after_toxin_to_day": (1, 180),
    "first_toxin_review_days": (1, 60),
    "toxin_consent_valid_months": (1, 60),
    "photo_retention_days": (1, 3650),
}


CLINIC_PHONE_VALIDATOR = RegexValidator(
    r"^\+?[0-9][0-9 ()\-]{4,30}$",
    "Enter a phone number: digits, spaces, brackets and dashes, optionally starting with +.",
    code="invalid_phone",
)


class ClinicSettings(models.Model):
    """The clinic's own rules, edited by the practice manager. One row (pk=1).

    Clinical intervals are settings, never hard-coded medical advice (docs/domain.md); the defaults
    are the usual ones. Changes go through ``clinic.configuration.clinic_settings_update``.
    """

    min_reinjection_interval_days = models.PositiveSmallIntegerField(
        "minimum reinjection interval (days)",
        default=84,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["min_reinjection_interval_days"]),
        help_text="Toxin sessions closer than this need a clinician's override with a reason. "
        "The clinic default: a product with its own interval uses that instead.",
    )
    appointment_reminder_hours = models.PositiveSmallIntegerField(
        "appointment reminder (hours before)",
        default=48,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["appointment_reminder_hours"]),
    )
    # Reinjection recall timing, counted from each patient's own due date (their usual duration
    # of effect, never inside the minimum interval): see scheduling.reminders.services.
    recall_first_reminder_weeks_before_due = models.PositiveSmallIntegerField(
        "first reinjection reminder (weeks before the due date)",
        default=3,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["recall_first_reminder_weeks_before_due"]),
        help_text="Never sent before the earliest safe date of the next session.",
    )
    recall_second_reminder_weeks_after_due = models.PositiveSmallIntegerField(
        "second reinjection reminder (weeks after the due date)",
        default=0,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["recall_second_reminder_weeks_after_due"]),
        help_text="0: on the due date. Sent only if the patient has still not booked, and at "
        "least a week after the first.",
    )
    recall_overdue_weeks_after_due = models.PositiveSmallIntegerField(
        "reinjection recall overdue (weeks after the due date)",
        default=4,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["recall_overdue_weeks_after_due"]),
    )
    questionnaire_after_toxin_days = models.PositiveSmallIntegerField(
        "questionnaire (days after a toxin session)",
        default=14,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["questionnaire_after_toxin_days"]),
    )
    # Therapy in the toxin's window of opportunity: a therapy recall due between these days
    # after every toxin session (treatments.services.care_recalls).
    therapy_after_toxin_offered = models.BooleanField(
        "offer therapy after each toxin session",
        default=True,
        help_text="Opens a therapy recall in the window below after every toxin session.",
    )
    therapy_after_toxin_from_day = models.PositiveSmallIntegerField(
        "therapy after toxin: from day",
        default=14,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["therapy_after_toxin_from_day"]),
        help_text="Days after the session when the therapy visit becomes due.",
    )
    therapy_after_toxin_to_day = models.PositiveSmallIntegerField(
        "therapy after toxin: to day",
        default=42,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["therapy_after_toxin_to_day"]),
        help_text="Days after the session when the window closes (the recall is overdue after it).",
    )
    first_toxin_review_days = models.PositiveSmallIntegerField(
        "review after the first toxin session (days)",
        default=14,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["first_toxin_review_days"]),
        help_text="A follow-up recall this many days after a patient's first-ever toxin session.",
    )
    aftercare_messages = models.BooleanField(
        "send aftercare advice",
        default=True,
        help_text="Email / text the aftercare advice when a toxin session or an operation is signed.",
    )
    # No SMS in these hours (clinic time zone); the send waits until the window ends.
    quiet_hours_start = models.TimeField(
        default=time(21, 0),
        help_text="No text message is sent from this time (clinic time zone). The same start and "
        "end: no quiet hours.",
    )
    quiet_hours_end = models.TimeField(
        default=time(8, 0), help_text="Until this time; messages due in the quiet hours wait until then."
    )
    # Procedure consent (consents.rules): a toxin session warns when the patient's toxin
    # consent was signed longer ago than this on the day of the session.
    toxin_consent_valid_months = models.PositiveSmallIntegerField(
        "toxin consent valid for (months)",
        default=12,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["toxin_consent_valid_months"]),
        help_text="Booking or recording a toxin session warns when the patient's signed toxin consent "
        "is older than this on the day.",
    )
    # Photographs (photos.services.media_purge): the files of a deleted photograph or video are
    # kept this long (a mistaken deletion can still be looked into), then purged; the record of
    # the deletion stays for good.
    photo_retention_days = models.PositiveSmallIntegerField(
        "keep deleted photographs' files for (days)",
        default=30,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["photo_retention_days"]),
        help_text="After this many days the files of a deleted photograph or video are removed for good; "
        "the record of who deleted it, when and why stays.",
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        "booking horizon (days)",
        default=180,
        validators=bounded(*CLINIC_SETTINGS_BOUNDS["booking_horizon_days"]),
        help_text="How far ahead availability is offered.",
    )
    # Calendar feeds end up on phones and in third-party calendar services: patients stay
    # anonymous there (appointment type and MRN only) unless the clinic decides otherwise.
    calendar_feed_shows_patient_names = models.BooleanField(
        default=False, help_text="Show patients' names in the private calendar feeds of providers and rooms."
    )
    # What patients see on their link pages and in the footer of their emails.
    clinic_name = models.CharField(
        "clinic name",
        max_length=100,
        blank=True,
        help_text="As patients see it. Empty: the name the server was started with.",
    )
    clinic_phone = models.CharField(
        "phone number",
        max_length=32,
        blank=True,
        validators=[CLINIC_PHONE_VALIDATOR],
        help_text="The number patients call, e.g. +44 20 7946 0000.",
    )
    clinic_address = models.CharField("address", max_length=300, blank=True)
    # Which medicines terminology codes the products in exported records (FHIR): the NHS
    # dictionary of medicines and devices in the UK, RxNorm elsewhere.
    medicines_terminology = models.CharField(
        "medicine codes in exports",
        max_length=8,
        choices=[("dmd", "dm+d (UK)"), ("rxnorm", "RxNorm (US)")],
        default="dmd",
        help_text="The code system for toxin products in FHIR exports.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "clinic settings"
        verbose_name_plural = "clinic settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="clinic_clinicsettings_singleton"),
            models.CheckConstraint(
                condition=models.Q(
                    recall_second_reminder_weeks_after_due__lt=models.F("recall_overdue_weeks_after_due")
                ),
                name="clinic_clinicsettings_recall_weeks_ordered",
                violation_error_code="recall_weeks_order",
                violation_error_message="A recall becomes overdue after its second reminder: the overdue "
                "weeks must be more than the second reminder's weeks after the due date.",
            ),
            models.CheckConstraint(
                condition=models.Q(therapy_after_toxin_from_day__lt=models.F("therapy_after_toxin_to_day")),
                name="clinic_clinicsettings_therapy_window_ordered",
                violation_error_code="therapy_window_order",
                violation_error_message="The therapy window after a toxin session must end after it starts: "
                "the 'to' day must be later than the 'from' day.",
            ),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{name}__gte": low, f"{name}__lte": high}),
                    name=f"clinic_clinicsettings_{name}_range",
                )
                for name, (low, high) in CLINIC_SETTINGS_BOUNDS.items()
            ),
        ]

    def __str__(self) -> str:
        return "Clinic settings"

    @property
    def audit_label(self) -> str:
        return "clinic settings"

    @property
    def display_name(self) -> str:
        """The clinic's name as patients see it."""
        return self.clinic_name or settings.CLINIC_NAME

    @classmethod
    def load(cls) -> "ClinicSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


# Models kept beside their code, registered with this app.
from clinic.accounts.models import AccountLink  # noqa: E402, F401
from clinic.mfa.models import StaffRecoveryDevice, StaffTOTPDevice  # noqa: E402, F401
from clinic.tokens.models import ApiToken  # noqa: E402, F401  (the API token model, see there)


class DemoRecord(models.Model):
    """A record that the demo data (``manage.py seed_demo``) created, under a stable key.

    The demo finds its own records here, and only here: it creates what a key lacks, skips what
    a key has, and never reads, changes or attaches anything to a record that has no key (a
    patient registered through the app, an appointment booked at the desk).
    """

    key = models.CharField(max_length=200, unique=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["content_type", "object_id"], name="demo_record_target")]

    def __str__(self) -> str:
        return self.key
