"""Photo and video sets of the standard facial palsy views, their files, and photo consent."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


class View(models.TextChoices):
    """The standard views of a facial palsy series, in the order they are taken (the
    expressions the Sunnybrook and eFACE gradings use, plus tight closure and lower teeth)."""

    REST = "rest", "At rest"
    BROW_RAISE = "brow_raise", "Brow raise"
    GENTLE_EYE_CLOSURE = "gentle_eye_closure", "Gentle eye closure"
    TIGHT_EYE_CLOSURE = "tight_eye_closure", "Tight eye closure"
    SMILE = "smile", "Open-mouth smile"
    SNARL = "snarl", "Snarl (nose wrinkle)"
    LIP_PUCKER = "lip_pucker", "Lip pucker"
    LOWER_TEETH = "lower_teeth", "Lower teeth show"
    EXTRA = "extra", "Extra view"


STANDARD_VIEWS = [v for v in View if v != View.EXTRA]

# What the clinician asks the patient, shown on the guided capture.
VIEW_PROMPTS = {
    View.REST: "Face relaxed, eyes open, looking at the camera.",
    View.BROW_RAISE: "Raise your eyebrows as high as you can.",
    View.GENTLE_EYE_CLOSURE: "Close your eyes gently, as if asleep.",
    View.TIGHT_EYE_CLOSURE: "Squeeze your eyes shut tightly.",
    View.SMILE: "Smile widely, showing your teeth.",
    View.SNARL: "Wrinkle your nose, as at a bad smell.",
    View.LIP_PUCKER: "Pucker your lips, as for a kiss or a whistle.",
    View.LOWER_TEETH: "Pull your lower lip down to show your lower teeth.",
}


class PhotoSet(models.Model):
    """One sitting's photographs and videos: of an encounter, or a photo visit of its own."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="photo_sets")
    encounter = models.ForeignKey(
        "treatments.Encounter", null=True, blank=True, on_delete=models.PROTECT, related_name="photo_sets"
    )
    taken_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deletion_reason = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["patient", "-taken_at"], name="photos_set_patient_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=True) | ~Q(deletion_reason=""),
                name="photos_set_deletion_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Photo set {self.taken_at:%Y-%m-%d}"

    @property
    def audit_label(self) -> str:
        return f"photo set {self.pk}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class MediaItem(models.Model):
    """One photograph or video of a set, with its renditions in the photos storage.

    The upload is kept under ``incoming/`` until the worker has processed it; then only the
    processed files remain (metadata stripped). Nothing else refers to a file by name.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", "Photograph"
        VIDEO = "video", "Video"

    class Status(models.TextChoices):
        PENDING = "pending", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed, can be retried"
        REJECTED = "rejected", "Refused"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    photo_set = models.ForeignKey(PhotoSet, on_delete=models.PROTECT, related_name="items")
    view = models.CharField(max_length=24, choices=View)
    label = models.CharField(max_length=80, blank=True, help_text="What an extra view shows.")
    kind = models.CharField(max_length=8, choices=Kind)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=60)  # read from the content
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)  # of the processed main file
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    # Whether the whole face shows (a cropped detail does not): teaching without the face may use
    # only items marked False.
    identifiable = models.BooleanField(default=True)
    # Names in the photos storage; blank until written.
    incoming_name = models.CharField(max_length=200, blank=True)
    main_name = models.CharField(max_length=200, blank=True)  # full-size JPEG, or the MP4
    screen_name = models.CharField(max_length=200, blank=True)
    thumb_name = models.CharField(max_length=200, blank=True)
    poster_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    processed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deletion_reason = models.CharField(max_length=300, blank=True)
    files_purged_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["photo_set", "view", "id"]
        indexes = [
            models.Index(fields=["photo_set", "view"], name="photos_item_set_view"),
            models.Index(fields=["status"], name="photos_item_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=True) | ~Q(deletion_reason=""),
                name="photos_item_deletion_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_view_display()}"

    @property
    def audit_label(self) -> str:
        return f"{self.kind} {self.pk}"

    @property
    def title(self) -> str:
        if self.view == View.EXTRA and self.label:
            return self.label
        return self.get_view_display()

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY and self.deleted_at is None

    def rendition_name(self, rendition: str) -> str:
        return {
            "main": self.main_name,
            "screen": self.screen_name,
            "thumb": self.thumb_name,
            "poster": self.poster_name,
        }.get(rendition, "")


class PhotoConsent(models.Model):
    """What the patient agreed that their photographs may be used for. A new record replaces
    the one before (each is kept); withdrawal is recorded on the record it ends."""

    class Level(models.TextChoices):
        CLINICAL = "clinical", "Clinical record only"
        TEACHING_NO_FACE = "teaching_no_face", "Teaching, face not shown"
        TEACHING_WITH_FACE = "teaching_with_face", "Teaching and publication, face shown"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="photo_consents")
    level = models.CharField(max_length=24, choices=Level)
    version = models.PositiveIntegerField()
    given_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["patient", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "version"], name="photos_consent_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} (v{self.version})"

    @property
    def audit_label(self) -> str:
        return f"photo consent {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None
