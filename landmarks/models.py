"""The landmarks found on one standard-view photograph, and what was measured from them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class FaceLandmarks(models.Model):
    """One photograph's named landmarks, in the pixels of its main rendition (x to the right,
    y down; the patient's right side is on the left of an unmirrored photograph).

    ``points`` holds the landmarks in use: the detector's, with any a clinician moved.
    ``detected_points`` keeps what the detector found, untouched. A photograph on which no
    single upright face of a usable size was found keeps its status and message, and no points.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Being measured"
        FOUND = "found", "Landmarks found"
        NO_FACE = "no_face", "No face found"
        SEVERAL_FACES = "several_faces", "More than one face"
        ROTATED = "rotated", "Face tilted or rotated"
        TOO_SMALL = "too_small", "Face too small"
        FAILED = "failed", "Measurement failed"

    media_item = models.OneToOneField(
        "photos.MediaItem", on_delete=models.PROTECT, related_name="face_landmarks"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    message = models.CharField(max_length=300, blank=True)
    points = models.JSONField(default=dict, blank=True)
    detected_points = models.JSONField(default=dict, blank=True)
    # {point name: {"by": user id, "at": ISO time}} for each point a clinician moved.
    corrections = models.JSONField(default=dict, blank=True)
    measurements = models.JSONField(default=dict, blank=True)
    detector = models.CharField(max_length=60, blank=True)
    detector_version = models.CharField(max_length=30, blank=True)
    formula_version = models.CharField(max_length=10, blank=True)
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    measured_at = models.DateTimeField(null=True, blank=True)
    corrected_at = models.DateTimeField(null=True, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "face landmarks"
        indexes = [models.Index(fields=["status"], name="landmarks_status")]

    def __str__(self) -> str:
        return f"Landmarks of item {self.media_item_id} ({self.status})"

    @property
    def audit_label(self) -> str:
        return f"landmarks {self.pk}"

    @property
    def is_found(self) -> bool:
        return self.status == self.Status.FOUND
