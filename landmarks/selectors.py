"""Reads of landmarks and measurements: one photo set's, and a patient's over time (a fixed
number of queries each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from photos.models import STANDARD_VIEWS, MediaItem, PhotoSet, View
from treatments.models import Encounter

from . import formulas
from .models import FaceLandmarks

# What the trend follows, and from which photograph of the set ("pair": rest and smile).
TREND: list[tuple[str, str]] = [
    ("brow_height", View.REST),
    ("palpebral_fissure", View.REST),
    ("commissure_height", View.REST),
    ("commissure_excursion", "pair"),
    ("smile_angle", View.SMILE),
    ("dental_show", View.SMILE),
    ("lower_lip_height", View.LOWER_TEETH),
]


def _items() -> QuerySet[MediaItem]:
    return (
        MediaItem.objects.filter(
            deleted_at__isnull=True, kind=MediaItem.Kind.IMAGE, status=MediaItem.Status.READY
        )
        .select_related("face_landmarks")
        .order_by("view", "-id")
    )


@dataclass
class SetMeasurements:
    photo_set: PhotoSet
    # One entry per standard view photographed: (view, label, item, landmarks or None).
    views: list[tuple[str, str, MediaItem, FaceLandmarks | None]] = field(default_factory=list)
    pair: dict[str, Any] = field(default_factory=dict)

    def of(self, view: str) -> FaceLandmarks | None:
        for v, _label, _item, landmarks in self.views:
            if v == view:
                return landmarks
        return None

    def value(self, key: str, source: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None
        if source == "pair":
            found = self.pair.get(key)
            return found
        landmarks = self.of(source)
        if landmarks is None or not landmarks.is_found:
            return None
        found = landmarks.measurements.get(key)
        return found


def _layout(photo_set: PhotoSet) -> SetMeasurements:
    latest: dict[str, MediaItem] = {}
    for item in photo_set.measured_items:  # type: ignore[attr-defined]
        latest.setdefault(item.view, item)  # newest first
    result = SetMeasurements(photo_set)
    for view in STANDARD_VIEWS:
        item = latest.get(view.value)
        if item is not None:
            landmarks = getattr(item, "face_landmarks", None)
            result.views.append((view.value, view.label, item, landmarks))
    rest, smile = result.of(View.REST), result.of(View.SMILE)
    if rest is not None and smile is not None and rest.is_found and smile.is_found:
        result.pair = formulas.excursion(rest.points, smile.points)
    return result


def set_measurements(*, pk: int) -> SetMeasurements | None:
    """One set's photographs with their landmarks and measurements (two queries)."""
    photo_set = (
        PhotoSet.objects.filter(pk=pk)
        .select_related("patient")
        .prefetch_related(Prefetch("items", queryset=_items(), to_attr="measured_items"))
        .first()
    )
    return _layout(photo_set) if photo_set is not None else None


@dataclass
class TrendEvent:
    on: date
    kind: str
    label: str


@dataclass
class TrendSeries:
    key: str
    source: str
    label: str
    unit: str
    # (date, photo set id, {"right", "left", "difference", "ratio"} or {"value"})
    rows: list[tuple[date, int, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Trend:
    series: list[TrendSeries]
    events: list[TrendEvent]
    dates: list[date]


def patient_trend(*, patient_id: int) -> Trend:
    """Each measurement at every photo set of the patient, oldest first, with the toxin
    sessions and surgery between them (three queries)."""
    sets = (
        PhotoSet.objects.filter(patient_id=patient_id, deleted_at__isnull=True)
        .prefetch_related(Prefetch("items", queryset=_items(), to_attr="measured_items"))
        .order_by("taken_at", "id")
    )
    layouts = [_layout(s) for s in sets]
    series = []
    dates: list[date] = []
    for key, source in TREND:
        label, unit = formulas.LABELS[key]
        entry = TrendSeries(key, source, label, unit)
        for layout in layouts:
            value = layout.value(key, source)
            if value is not None:
                on = timezone.localdate(layout.photo_set.taken_at)
                entry.rows.append((on, layout.photo_set.pk, value))
                if on not in dates:
                    dates.append(on)
        series.append(entry)
    events = [
        TrendEvent(timezone.localdate(e.occurred_at), e.kind, e.get_kind_display())
        for e in Encounter.objects.filter(
            patient_id=patient_id, kind__in=[Encounter.Kind.TOXIN, Encounter.Kind.SURGERY]
        ).order_by("occurred_at", "id")
    ]
    return Trend(series=series, events=events, dates=sorted(dates))
