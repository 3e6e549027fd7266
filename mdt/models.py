"""The MDT list: meetings, the patients flagged for them (items) and the follow-up tasks.

A patient is flagged for a meeting with a question (an ``MdtItem``); the meeting's agenda is its
items not yet discussed, in order. The outcome of each discussion (free text and a decision) is
recorded on the item, with follow-up tasks assigned to a clinic role. When a meeting is held,
the items it did not reach roll over to the next meeting (a new item, ``carried_from`` the old
one). See docs/mdt.md.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from clinic.roles import Role


class MdtMeeting(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        HELD = "held", "Held"

    date = models.DateField()
    status = models.CharField(max_length=8, choices=Status, default=Status.PLANNED)
    # Who attended: members of staff, and free text for the others (a visiting consultant).
    attendees: "models.ManyToManyField[Any, Any]" = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="MdtAttendance", related_name="+", blank=True
    )
    attendees_note = models.TextField(blank=True, max_length=2000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    held_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "id"]
        indexes = [models.Index(fields=["status", "date"], name="mdt_meeting_status_date")]

    def __str__(self) -> str:
        return f"MDT meeting {self.date:%d %b %Y}"

    @property
    def audit_label(self) -> str:
        return f"MDT meeting {self.pk} ({self.date.isoformat()})"


class MdtAttendance(models.Model):
    meeting = models.ForeignKey(MdtMeeting, on_delete=models.PROTECT, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], name="mdt_attendance_once")]

    def __str__(self) -> str:
        return f"Attendance {self.user_id} at meeting {self.meeting_id}"


class MdtItem(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "On the agenda"
        DISCUSSED = "discussed", "Discussed"
        ROLLED_OVER = "rolled_over", "Rolled over to the next meeting"
        # A merged duplicate patient's item for a meeting where the survivor had one too.
        MERGED = "merged", "Merged into the patient's other item"

    class Decision(models.TextChoices):
        CONTINUE = "continue", "Continue the current plan"
        CHANGE_PLAN = "change_plan", "Change the plan"
        SURGERY = "surgery", "Offer surgery"
        INVESTIGATE = "investigate", "Further assessment first"
        REFER = "refer", "Refer to another service"
        DISCHARGE = "discharge", "Discharge"
        OTHER = "other", "Other (see the outcome)"

    meeting = models.ForeignKey(MdtMeeting, on_delete=models.PROTECT, related_name="items")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="mdt_items")
    question = models.TextField(max_length=2000)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status, default=Status.OPEN)
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    flagged_at = models.DateTimeField(default=timezone.now, editable=False)
    # The item of an earlier meeting that this one continues (it was not reached there).
    carried_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="carried_to"
    )
    outcome = models.TextField(blank=True, max_length=4000)
    decision = models.CharField(max_length=12, choices=Decision, blank=True)
    discussed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    discussed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["meeting", "position", "id"]
        constraints = [
            # Two desks flagging one patient for one meeting at once make one item.
            models.UniqueConstraint(
                fields=["meeting", "patient"],
                condition=~Q(status="merged"),
                name="mdt_item_one_per_patient_per_meeting",
            ),
            models.CheckConstraint(
                condition=~Q(status="discussed") | (~Q(outcome="") & ~Q(decision="")),
                name="mdt_item_discussed_has_outcome",
            ),
        ]
        indexes = [models.Index(fields=["patient", "-flagged_at"], name="mdt_item_patient")]

    def __str__(self) -> str:
        return f"MDT item {self.pk}: {self.question[:40]}"

    @property
    def audit_label(self) -> str:
        return f"MDT item {self.pk}"


class MdtTask(models.Model):
    """A follow-up of a discussion, for whoever holds ``role`` (clinic.roles)."""

    item = models.ForeignKey(MdtItem, on_delete=models.PROTECT, related_name="tasks")
    role = models.CharField(max_length=16, choices=Role)
    description = models.CharField(max_length=500)
    due = models.DateField()
    done = models.BooleanField(default=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["done", "due", "id"]
        indexes = [models.Index(fields=["role", "done", "due"], name="mdt_task_role_open")]

    def __str__(self) -> str:
        return f"MDT task {self.pk} ({self.role}): {self.description[:40]}"

    @property
    def audit_label(self) -> str:
        return f"MDT task {self.pk}"
