"""Landmarks found on a photograph, corrected by a clinician, and the measurements from them.

Every write goes through here: the detector's result is stored whole or not at all (a refusal
keeps its status and message and no points), and a clinician's correction is attributed in the
history and the audit trail, then the measurements are computed again."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.audit import acting_user, attribute, audit_record
from clinic.errors import Invalid
from photos.models import STANDARD_VIEWS, MediaItem
from photos.storage import photo_storage

from . import detection, formulas
from .exceptions import LandmarkOutsideImage, LandmarksNotFound, UnknownLandmark
from .models import FaceLandmarks

logger = logging.getLogger(__name__)


def measurable(item: MediaItem) -> bool:
    return item.kind == MediaItem.Kind.IMAGE and item.view in STANDARD_VIEWS and item.is_ready


def landmarks_detect(*, item_id: int) -> FaceLandmarks | None:
    """The worker's job: find the face and its landmarks on a ready standard-view photograph,
    measure, and store. None when the item is not such a photograph (nothing is stored)."""
    item = MediaItem.objects.select_related("photo_set").filter(pk=item_id).first()
    if item is None or not measurable(item):
        return None
    values: dict[str, Any] = {
        "status": FaceLandmarks.Status.FAILED,
        "message": "",
        "points": {},
        "detected_points": {},
        "corrections": {},
        "measurements": {},
        "corrected_at": None,
        "corrected_by": None,
        "detector": detection.DETECTOR,
        "formula_version": formulas.FORMULA_VERSION,
        "image_width": item.width,
        "image_height": item.height,
        "measured_at": timezone.now(),
    }
    try:
        values["detector_version"] = detection.detector_version()
        storage = photo_storage()  # type: ignore[no-untyped-call]
        with storage.open(item.main_name, "rb") as fh:
            found = detection.find_in_file(fh.read())
    except detection.Refusal as refusal:
        values["status"], values["message"] = refusal.code, refusal.message
    except Exception:
        logger.exception("landmark detection failed", extra={"item": item_id})
        values["message"] = "The measurement could not be made; it can be asked for again."
    else:
        values.update(
            status=FaceLandmarks.Status.FOUND,
            points=found.points,
            detected_points=found.points,
            measurements=formulas.measure(found.points),
            image_width=found.width,
            image_height=found.height,
        )
    with transaction.atomic():
        MediaItem.objects.select_for_update().filter(pk=item.pk).first()
        landmarks = FaceLandmarks.objects.filter(media_item=item).first() or FaceLandmarks(media_item=item)
        for name, value in values.items():
            setattr(landmarks, name, value)
        attribute(landmarks, None)
        landmarks.save()
        audit_record(
            actor=None,
            action="landmarks.detected",
            target=landmarks,
            patient_id=item.photo_set.patient_id,
            changes={"item": item.pk, "status": landmarks.status},
        )
    return landmarks


def landmarks_correct(
    *, landmarks: FaceLandmarks, actor: Any, name: str, x: float | str, y: float | str
) -> FaceLandmarks:
    """Move one landmark to where the clinician puts it; the measurements follow."""
    if name not in detection.POINTS:
        raise UnknownLandmark(fields={"name": [f"There is no landmark called {name!r}."]})
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError) as exc:
        raise Invalid(fields={"x": ["Give the point's position in pixels."]}) from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise Invalid(fields={"x": ["Give the point's position in pixels."]})
    with transaction.atomic():
        landmarks = (
            FaceLandmarks.objects.select_for_update()
            .select_related("media_item__photo_set")
            .get(pk=landmarks.pk)
        )
        if not landmarks.is_found or not landmarks.points:
            raise LandmarksNotFound()
        width, height = landmarks.image_width or 0, landmarks.image_height or 0
        if not (0 <= x <= width and 0 <= y <= height):
            raise LandmarkOutsideImage(
                fields={"x": [f"The point must lie within the {width} by {height} pixel photograph."]}
            )
        before = landmarks.points[name]
        points = dict(landmarks.points)
        points[name] = [round(x, 2), round(y, 2)]
        user = acting_user(actor)
        now = timezone.now()
        landmarks.points = points
        landmarks.corrections = {
            **landmarks.corrections,
            name: {"by": user.pk if user else None, "at": now.isoformat(), "from": before},
        }
        landmarks.measurements = formulas.measure(points)
        landmarks.formula_version = formulas.FORMULA_VERSION
        landmarks.corrected_at, landmarks.corrected_by = now, user
        attribute(landmarks, actor)
        landmarks.save()
        audit_record(
            actor=actor,
            action="landmarks.corrected",
            target=landmarks,
            patient_id=landmarks.media_item.photo_set.patient_id,
            changes={"point": name, "from": before, "to": points[name]},
        )
    return landmarks
