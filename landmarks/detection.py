"""Finding one face and its landmarks on a photograph, with MediaPipe's Face Mesh.

The model ships inside the ``mediapipe`` wheel (``mediapipe/modules/face_landmark`` and
``face_detection``): nothing is downloaded at run time. MediaPipe's face detector (full-range
model) counts the faces first; Face Mesh with ``refine_landmarks`` then gives 478 points, the
irises included, of which the named points below are kept (docs/measurements.md).

Refusals: no face, more than one face, a face rotated or tilted beyond ``MAX_TILT_DEGREES``, an
iris smaller than ``MIN_IRIS_PX`` (too few pixels to calibrate from). Each is a ``Refusal``
with a stable code (the ``FaceLandmarks.Status`` values) and a sentence for the clinician.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

DETECTOR = "mediapipe-face-mesh"
MAX_TILT_DEGREES = 15.0
MIN_IRIS_PX = 5.0
# MediaPipe never sees more than this many pixels along a side (it works on a 192-256 px crop
# of the face; a smaller copy of a 24-megapixel photograph loses nothing and decodes faster).
WORKING_PX = 1600

# Named landmarks: the Face Mesh index of each. "right"/"left" are the patient's sides.
POINTS: dict[str, int] = {
    "brow_right": 105,
    "brow_left": 334,
    "upper_lid_right": 159,
    "lower_lid_right": 145,
    "upper_lid_left": 386,
    "lower_lid_left": 374,
    "eye_inner_right": 133,
    "eye_outer_right": 33,
    "eye_inner_left": 362,
    "eye_outer_left": 263,
    "iris_right": 468,
    "iris_right_edge_a": 469,
    "iris_right_edge_b": 471,
    "iris_left": 473,
    "iris_left_edge_a": 474,
    "iris_left_edge_b": 476,
    "commissure_right": 61,
    "commissure_left": 291,
    "upper_lip": 0,
    "lower_lip": 17,
    "upper_lip_inner": 13,
    "lower_lip_inner": 14,
    "lower_lip_right": 84,
    "lower_lip_left": 314,
    "nasion": 168,
    "chin": 152,
}

LABELS: dict[str, str] = {
    "brow_right": "Right brow",
    "brow_left": "Left brow",
    "upper_lid_right": "Right upper lid",
    "lower_lid_right": "Right lower lid",
    "upper_lid_left": "Left upper lid",
    "lower_lid_left": "Left lower lid",
    "eye_inner_right": "Right inner canthus",
    "eye_outer_right": "Right outer canthus",
    "eye_inner_left": "Left inner canthus",
    "eye_outer_left": "Left outer canthus",
    "iris_right": "Right pupil",
    "iris_right_edge_a": "Right iris edge (outer)",
    "iris_right_edge_b": "Right iris edge (inner)",
    "iris_left": "Left pupil",
    "iris_left_edge_a": "Left iris edge (inner)",
    "iris_left_edge_b": "Left iris edge (outer)",
    "commissure_right": "Right mouth corner",
    "commissure_left": "Left mouth corner",
    "upper_lip": "Upper lip (midline)",
    "lower_lip": "Lower lip (midline)",
    "upper_lip_inner": "Upper lip, inner edge",
    "lower_lip_inner": "Lower lip, inner edge",
    "lower_lip_right": "Right lower lip",
    "lower_lip_left": "Left lower lip",
    "nasion": "Nasion",
    "chin": "Chin",
}

MESSAGES = {
    "no_face": "No face was found on this photograph: measure it by hand or take it again.",
    "several_faces": "More than one face is on this photograph: crop it to the patient's face.",
    "rotated": "The face is rotated or tilted (the eyes are not level): take it again, head upright.",
    "too_small": "The face is too small on this photograph to measure: take it closer.",
}


class Refusal(Exception):
    def __init__(self, code: str):
        super().__init__(MESSAGES[code])
        self.code = code
        self.message = MESSAGES[code]


@dataclass
class Found:
    points: dict[str, list[float]] = field(default_factory=dict)
    width: int = 0
    height: int = 0


_lock = threading.Lock()
# The MediaPipe graphs of each thread that has used them: a graph is used only by the thread that
# made it (a graph made by a request thread of a threaded server, used later from another thread
# once that one has ended, can hang). A Celery worker's process has one thread, so one pair; the
# pairs of threads that have ended are closed on the next call.
_models: dict[int, tuple[Any, Any]] = {}


def detector_version() -> str:
    import mediapipe

    return str(mediapipe.__version__)


def _load() -> tuple[Any, Any]:
    alive = {thread.ident for thread in threading.enumerate()}
    for ident in [ident for ident in _models if ident not in alive]:
        for model in _models.pop(ident):
            model.close()
    ident = threading.get_ident()
    if ident not in _models:
        from mediapipe.python.solutions import face_detection, face_mesh

        _models[ident] = (
            face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5),
            face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=2, refine_landmarks=True, min_detection_confidence=0.5
            ),
        )
    return _models[ident]


def rgb_pixels(data: bytes) -> Any:
    """The photograph as an RGB array (height, width, 3)."""
    import numpy as np

    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    return np.asarray(rgb)


def find(pixels: Any) -> Found:
    """The named landmarks of the one face on ``pixels`` (an RGB uint8 array), in its pixels."""
    import numpy as np

    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    scale = 1.0
    work = pixels
    if max(width, height) > WORKING_PX:
        scale = WORKING_PX / max(width, height)
        small = Image.fromarray(pixels).resize(
            (round(width * scale), round(height * scale)), Image.Resampling.LANCZOS
        )
        work = np.asarray(small)
    work = np.ascontiguousarray(work)
    with _lock:
        detection, mesh = _load()
        faces = detection.process(work).detections or []
        if not faces:
            raise Refusal("no_face")
        if len(faces) > 1:
            raise Refusal("several_faces")
        result = mesh.process(work).multi_face_landmarks or []
    if not result:
        raise Refusal("no_face")
    if len(result) > 1:
        raise Refusal("several_faces")
    marks = result[0].landmark
    points = {
        name: [round(marks[index].x * width, 2), round(marks[index].y * height, 2)]
        for name, index in POINTS.items()
    }
    right, left = points["iris_right"], points["iris_left"]
    # The patient's right eye is on the image's left: level eyes point along +x.
    tilt = math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))
    if abs(tilt) > MAX_TILT_DEGREES:
        raise Refusal("rotated")
    iris = (
        math.dist(points["iris_right_edge_a"], points["iris_right_edge_b"])
        + math.dist(points["iris_left_edge_a"], points["iris_left_edge_b"])
    ) / 2
    if iris * scale < MIN_IRIS_PX:
        raise Refusal("too_small")
    return Found(points=points, width=width, height=height)


def find_in_file(data: bytes) -> Found:
    return find(rgb_pixels(data))
