"""Refusals of the landmarks app, each with a stable code (bases in clinic.errors)."""

from clinic.errors import Conflict, Invalid


class LandmarksNotFound(Conflict):
    code = "landmarks_not_found"
    default_detail = "This photograph has no landmarks to correct."


class UnknownLandmark(Invalid):
    code = "landmark_unknown"
    default_detail = "There is no landmark of that name."


class LandmarkOutsideImage(Invalid):
    code = "landmark_outside_image"
    default_detail = "The point is outside the photograph."


class NotMeasurable(Conflict):
    code = "not_measurable"
    default_detail = "Only a ready photograph of a standard view can be measured."
