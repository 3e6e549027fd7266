"""What every app shares: the staff user, capability permissions and the audit trail."""

from datetime import time

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


def display_name(*, title: str, first_name: str, last_name: str, username: str) -> str:
    """How a member of staff is named (User.display_name), from the columns alone."""
    name = " ".join(p for p in (title, first_name, last_name) if p)
    return name or username


class User(AbstractUser):
    """A member of staff. Patients never get a login: they act through signed links."""

    title = models.CharField(max_length=20, blank=True, help_text="e.g. Dr, Mr, Ms")
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

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The audit page filters by patient, by actor or by record, newest first.
            models.Index(fields=["patient_id", "-at"], name="clinic_audit_patient_at"),
            models.Index(fields=["actor", "-at"], name="clinic_audit_actor_at"),
            models.Index(fields=["target_type", "target_id"], name="clinic_audit_target"),
            models.Index(fields=["-at"], name="clinic_audit_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit trail is append-only.")


class ClinicSettings(models.Model):
    """The clinic's own rules, edited by the practice manager. One row (pk=1).

    Clinical intervals are settings, never hard-coded medical advice (DOMAIN.md); the defaults
    are the usual ones.
    """

    min_reinjection_interval_days = models.PositiveSmallIntegerField(
        default=84, help_text="Toxin sessions closer than this need a clinician's override with a reason."
    )
    appointment_reminder_hours = models.PositiveSmallIntegerField(default=48)
    recall_first_reminder_weeks = models.PositiveSmallIntegerField(default=11)
    recall_second_reminder_weeks = models.PositiveSmallIntegerField(default=14)
    recall_overdue_weeks = models.PositiveSmallIntegerField(default=16)
    questionnaire_after_toxin_days = models.PositiveSmallIntegerField(default=14)
    # No SMS in these hours (clinic time zone); the send waits until the window ends.
    quiet_hours_start = models.TimeField(default=time(21, 0))
    quiet_hours_end = models.TimeField(default=time(8, 0))
    booking_horizon_days = models.PositiveSmallIntegerField(
        default=180, help_text="How far ahead availability is offered."
    )
    # Calendar feeds end up on phones and in third-party calendar services: patients stay
    # anonymous there (appointment type and MRN only) unless the clinic decides otherwise.
    calendar_feed_shows_patient_names = models.BooleanField(
        default=False, help_text="Show patients' names in the private calendar feeds of providers and rooms."
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "clinic settings"
        verbose_name_plural = "clinic settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="clinic_clinicsettings_singleton"),
            models.CheckConstraint(
                condition=models.Q(recall_first_reminder_weeks__lte=models.F("recall_second_reminder_weeks"))
                & models.Q(recall_second_reminder_weeks__lte=models.F("recall_overdue_weeks")),
                name="clinic_clinicsettings_recall_weeks_ordered",
            ),
        ]

    def __str__(self) -> str:
        return "Clinic settings"

    @classmethod
    def load(cls) -> "ClinicSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj
