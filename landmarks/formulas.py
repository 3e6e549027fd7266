"""The measurements, version ``FORMULA_VERSION``: what each number means is written in
docs/measurements.md with its sources. Change a formula: raise the version (stored with each
result), say what changed in the document.

Every length is in millimetres, calibrated by the iris: the mean of the two horizontal visible
iris diameters is taken as ``IRIS_DIAMETER_MM`` (11.7 mm). Positions are read in a face frame:
the origin is the midpoint of the two pupils, x runs along the line through the pupils towards
the patient's left, y runs down, perpendicular to it. A head that is slightly tilted therefore
reads as level.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

FORMULA_VERSION = "1"
IRIS_DIAMETER_MM = 11.7

Point = Sequence[float]
SIDES = ("right", "left")

# (key, label, unit, single photograph or rest-to-smile pair)
DEFINITIONS: list[tuple[str, str, str]] = [
    ("brow_height", "Brow height", "mm"),
    ("palpebral_fissure", "Palpebral fissure height", "mm"),
    ("commissure_height", "Mouth corner height (below the pupils)", "mm"),
    ("commissure_distance", "Mouth corner distance from the midline", "mm"),
    ("smile_angle", "Smile angle", "°"),
    ("lower_lip_height", "Lower lip height (below the lip midline)", "mm"),
]
PAIR_DEFINITIONS: list[tuple[str, str, str]] = [
    ("commissure_excursion", "Mouth corner excursion, rest to smile", "mm"),
]
SET_ONLY = {"dental_show"}
LABELS = {key: (label, unit) for key, label, unit in DEFINITIONS + PAIR_DEFINITIONS}
LABELS["dental_show"] = ("Dental show (gap between the lips, midline)", "mm")


class Frame:
    """The face frame of one photograph: pupils level, millimetres from the iris."""

    def __init__(self, points: Mapping[str, Point]):
        right, left = points["iris_right"], points["iris_left"]
        self.origin = ((right[0] + left[0]) / 2, (right[1] + left[1]) / 2)
        angle = math.atan2(left[1] - right[1], left[0] - right[0])
        self.cos, self.sin = math.cos(angle), math.sin(angle)
        iris_px = (
            math.dist(points["iris_right_edge_a"], points["iris_right_edge_b"])
            + math.dist(points["iris_left_edge_a"], points["iris_left_edge_b"])
        ) / 2
        self.mm_per_px = IRIS_DIAMETER_MM / iris_px if iris_px > 0 else float("nan")
        self.points = points

    def at(self, name: str) -> tuple[float, float]:
        """(x, y) of a named point in millimetres in the face frame."""
        px, py = self.points[name]
        dx, dy = px - self.origin[0], py - self.origin[1]
        x = dx * self.cos + dy * self.sin
        y = -dx * self.sin + dy * self.cos
        return x * self.mm_per_px, y * self.mm_per_px


def _r(value: float) -> float | None:
    return None if value != value else round(value, 2)  # NaN: not measurable


def _sides(right: float, left: float) -> dict[str, float | None]:
    """A measurement on both sides, their difference (right - left) and ratio (the smaller
    over the larger, 1 = symmetric)."""
    big = max(abs(right), abs(left))
    ratio = min(abs(right), abs(left)) / big if big > 0 else 1.0
    return {"right": _r(right), "left": _r(left), "difference": _r(right - left), "ratio": _r(ratio)}


def measure(points: Mapping[str, Point]) -> dict[str, Any]:
    """Every single-photograph measurement of one set of landmarks."""
    f = Frame(points)
    out: dict[str, Any] = {"mm_per_px": _r(f.mm_per_px), "formula_version": FORMULA_VERSION}
    stomion = _mid(f.at("upper_lip_inner"), f.at("lower_lip_inner"))
    values: dict[str, dict[str, float]] = {k: {} for k, _, _ in DEFINITIONS}
    for side in SIDES:
        brow = f.at(f"brow_{side}")
        pupil = f.at(f"iris_{side}")
        values["brow_height"][side] = pupil[1] - brow[1]
        values["palpebral_fissure"][side] = math.dist(f.at(f"upper_lid_{side}"), f.at(f"lower_lid_{side}"))
        corner = f.at(f"commissure_{side}")
        values["commissure_height"][side] = corner[1]
        values["commissure_distance"][side] = abs(corner[0])
        # Upward from the lip midline (the stomion) to the corner, in degrees from the level line.
        values["smile_angle"][side] = math.degrees(
            math.atan2(stomion[1] - corner[1], abs(corner[0] - stomion[0]))
        )
        values["lower_lip_height"][side] = f.at(f"lower_lip_{side}")[1] - stomion[1]
    for key, by_side in values.items():
        out[key] = _sides(by_side["right"], by_side["left"])
    out["dental_show"] = {"value": _r(math.dist(f.at("upper_lip_inner"), f.at("lower_lip_inner")))}
    return out


def excursion(rest: Mapping[str, Point], smile: Mapping[str, Point]) -> dict[str, Any]:
    """How far each mouth corner moves from the rest photograph to the smile photograph, in
    millimetres, each photograph read in its own face frame (so a head that moved between the
    two does not count as movement)."""
    a, b = Frame(rest), Frame(smile)
    moved = {side: math.dist(a.at(f"commissure_{side}"), b.at(f"commissure_{side}")) for side in SIDES}
    return {"commissure_excursion": _sides(moved["right"], moved["left"])}


def _mid(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
    return ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
