"""Landmarks found by the worker on a standard-view photograph, and the photographs it refuses
to measure: no face, two faces, rotated, very small. A refusal stores its status and message and
no point."""

import cv2
import numpy as np
import pytest
from django.urls import reverse

from clinic.models import AuditEvent
from landmarks import detection, services
from landmarks.exceptions import LandmarkOutsideImage, LandmarksNotFound, UnknownLandmark
from landmarks.models import FaceLandmarks
from landmarks.tasks import landmarks_detect_task
from tests.landmarks.conftest import measured
from tests.landmarks.portraits import portrait

pytestmark = pytest.mark.django_db


def test_the_portrait_gets_its_named_landmarks_and_measurements(photo_set, surgeon_user):
    result = measured(photo_set, surgeon_user, portrait())
    assert result.status == FaceLandmarks.Status.FOUND and result.message == ""
    assert set(result.points) == set(detection.POINTS)
    assert result.detector == "mediapipe-face-mesh" and result.detector_version == "0.10.21"
    assert (result.image_width, result.image_height) == (1024, 1024)
    # The patient's right eye is on the image's left.
    assert result.points["iris_right"][0] < result.points["iris_left"][0]
    m = result.measurements
    assert 0.5 < m["mm_per_px"] < 0.9  # the iris about 17 px across
    assert 5 < m["palpebral_fissure"]["right"] < 15 and 40 < m["commissure_height"]["left"] < 65
    assert result.history.count() == 1
    assert AuditEvent.objects.filter(action="landmarks.detected", patient_id=photo_set.patient_id).exists()


@pytest.mark.parametrize(
    ("name", "make", "status"),
    [
        ("blank", lambda: np.full((600, 600, 3), 200, np.uint8), "no_face"),
        (
            "two portraits side by side",
            lambda: np.concatenate([portrait(1), portrait(1)], axis=1),
            "several_faces",
        ),
        ("rotated 90 degrees", lambda: np.ascontiguousarray(np.rot90(portrait())), "rotated"),
        (
            "very small",
            lambda: cv2.resize(portrait(1), (128, 128), interpolation=cv2.INTER_AREA),
            "too_small",
        ),
    ],
)
def test_a_photograph_that_cannot_be_measured_says_why_and_keeps_no_point(
    photo_set, surgeon_user, name, make, status
):
    result = measured(photo_set, surgeon_user, make())
    assert result.status == status, name
    assert result.message == detection.MESSAGES[status]
    assert result.points == {} and result.detected_points == {} and result.measurements == {}
    with pytest.raises(LandmarksNotFound) as refused:
        services.landmarks_correct(landmarks=result, actor=surgeon_user, name="brow_left", x=1, y=1)
    assert refused.value.code == "landmarks_not_found"


def test_only_ready_photographs_of_standard_views_are_measured(photo_set, surgeon_user):
    extra = measured(photo_set, surgeon_user, portrait(1), view="extra")
    assert extra is None and not FaceLandmarks.objects.exists()


def test_the_task_measures_a_processed_photograph(photo_set, surgeon_user):
    result = measured(photo_set, surgeon_user, portrait(1))
    FaceLandmarks.objects.all().delete()
    assert landmarks_detect_task.run(result.media_item_id) == "found"


def test_a_correction_moves_one_point_is_attributed_and_the_measurements_follow(photo_set, surgeon_user):
    result = measured(photo_set, surgeon_user, portrait())
    before = result.measurements
    x, y = result.points["commissure_left"]
    moved = services.landmarks_correct(
        landmarks=result, actor=surgeon_user, name="commissure_left", x=x, y=y - 10
    )
    assert moved.points["commissure_left"] == [x, round(y - 10, 2)]
    assert moved.detected_points["commissure_left"] == [x, y]  # what the detector found stays
    assert moved.corrections["commissure_left"]["by"] == surgeon_user.pk
    assert moved.corrected_by == surgeon_user
    expected = 10 * before["mm_per_px"]
    change = before["commissure_height"]["left"] - moved.measurements["commissure_height"]["left"]
    assert change == pytest.approx(expected, abs=0.3)
    assert moved.measurements["commissure_height"]["right"] == before["commissure_height"]["right"]
    latest = moved.history.latest()
    assert latest.history_user == surgeon_user and latest.points["commissure_left"][1] == round(y - 10, 2)
    event = AuditEvent.objects.get(action="landmarks.corrected")
    assert event.actor == surgeon_user and event.changes["point"] == "commissure_left"

    with pytest.raises(UnknownLandmark):
        services.landmarks_correct(landmarks=moved, actor=surgeon_user, name="nose_ring", x=1, y=1)
    with pytest.raises(LandmarkOutsideImage) as outside:
        services.landmarks_correct(landmarks=moved, actor=surgeon_user, name="brow_left", x=5000, y=1)
    assert outside.value.code == "landmark_outside_image"


def test_the_api_reads_landmarks_and_measurements_and_takes_a_correction(
    photo_set, surgeon_user, surgeon, front_desk
):
    rest = measured(photo_set, surgeon_user, portrait(), view="rest")
    measured(photo_set, surgeon_user, portrait(), view="smile")
    listed = surgeon.get(reverse("api:face-landmarks-list"), {"photo_set": photo_set.pk})
    assert listed.status_code == 200 and listed.json()["count"] == 2
    detail = surgeon.get(reverse("api:face-landmarks-detail", args=[rest.pk])).json()
    assert (
        detail["status"] == "found" and detail["view"] == "rest" and "brow_height" in detail["measurements"]
    )
    whole = surgeon.get(reverse("api:photo-set-measurements-detail", args=[photo_set.pk])).json()
    # The same photograph at rest and smiling: the corners did not move.
    assert whole["commissure_excursion"]["right"] == pytest.approx(0, abs=0.05)
    assert [lm["view"] for lm in whole["landmarks"]] == ["rest", "smile"]

    url = reverse("api:face-landmarks-correct", args=[rest.pk])
    x, y = rest.points["commissure_right"]
    answer = surgeon.post(url, {"name": "commissure_right", "x": x, "y": y - 6}, format="json")
    assert answer.status_code == 200 and answer.json()["corrected_by"] == surgeon_user.pk
    whole = surgeon.get(reverse("api:photo-set-measurements-detail", args=[photo_set.pk])).json()
    assert whole["commissure_excursion"]["right"] == pytest.approx(
        6 * rest.measurements["mm_per_px"], abs=0.2
    )
    refused = surgeon.post(url, {"name": "nose_ring", "x": 1, "y": 1}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "landmark_unknown"
    refused = surgeon.post(url, {"name": "brow_left", "x": -4, "y": 1}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "landmark_outside_image"
    assert front_desk.post(url, {"name": "brow_left", "x": 1, "y": 1}, format="json").status_code == 403
