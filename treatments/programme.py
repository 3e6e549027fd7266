"""The patient's home exercise programme: what it is now, and what the last visit changed.

A therapy visit records the whole home programme (the form starts from the previous visit's
exercises), so the *current* programme is the exercises of the patient's latest signed therapy
visit, and what a visit changed is the difference between its exercises and those of the signed
therapy visit before it. Exercises are matched by name (case and spacing ignored); a name in
both with a different dose, instructions or note is "changed". Drafts never count: a patient
only ever sees a programme its therapist has signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from .models import Encounter, HomeExercise, ProgrammeCheckIn, TherapyVisit

# What a patient can compare between two versions of an exercise, in the order shown.
COMPARED = (
    ("repetitions", "Repetitions"),
    ("hold_seconds", "Hold (seconds)"),
    ("times_per_day", "Times a day"),
    ("instructions", "How to do it"),
    ("notes", "Notes"),
)


def exercise_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def dose_text(exercise: HomeExercise) -> str:
    """'10 repetitions, hold 5 seconds, 3 times a day', in words a patient reads."""
    parts = [f"{exercise.repetitions} repetition{'s' if exercise.repetitions != 1 else ''}"]
    if exercise.hold_seconds:
        parts.append(f"hold {exercise.hold_seconds} second{'s' if exercise.hold_seconds != 1 else ''}")
    times = exercise.times_per_day
    parts.append("once a day" if times == 1 else "twice a day" if times == 2 else f"{times} times a day")
    return ", ".join(parts)


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ExerciseChange:
    name: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class ProgrammeDiff:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[ExerciseChange, ...] = ()

    @property
    def is_changed(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [
                {
                    "exercise": item.name,
                    "changes": [
                        {"field": c.label, "before": c.before, "after": c.after} for c in item.changes
                    ],
                }
                for item in self.changed
            ],
        }


def _keyed(exercises: Iterable[HomeExercise]) -> dict[str, HomeExercise]:
    keyed: dict[str, HomeExercise] = {}
    for exercise in exercises:
        # The first of two rows with the same name stands for both.
        keyed.setdefault(exercise_key(exercise.exercise), exercise)
    return keyed


def programme_diff(before: Sequence[HomeExercise], after: Sequence[HomeExercise]) -> ProgrammeDiff:
    """What changed from the programme ``before`` to the programme ``after``, in ``after``'s
    order (removed ones in ``before``'s order)."""
    old, new = _keyed(before), _keyed(after)
    added = tuple(e.exercise for key, e in new.items() if key not in old)
    removed = tuple(e.exercise for key, e in old.items() if key not in new)
    changed = []
    for key, now in new.items():
        was = old.get(key)
        if was is None:
            continue
        changes = tuple(
            Change(label, str(getattr(was, name)), str(getattr(now, name)))
            for name, label in COMPARED
            if getattr(was, name) != getattr(now, name)
        )
        if changes:
            changed.append(ExerciseChange(now.exercise, changes))
    return ProgrammeDiff(added=added, removed=removed, changed=tuple(changed))


def _signed_visits(patient_id: int) -> QuerySet[TherapyVisit]:
    return (
        TherapyVisit.objects.filter(
            encounter__patient_id=patient_id,
            encounter__kind=Encounter.Kind.THERAPY,
            encounter__status=Encounter.Status.SIGNED,
        )
        .select_related("encounter__clinician")
        .prefetch_related(Prefetch("exercises", queryset=HomeExercise.objects.order_by("position", "id")))
        .order_by("-encounter__occurred_at", "-encounter_id")
    )


@dataclass
class Programme:
    """The current programme: the visit that set it, its exercises, what that visit changed."""

    visit: TherapyVisit | None
    exercises: list[HomeExercise] = field(default_factory=list)
    diff: ProgrammeDiff = field(default_factory=ProgrammeDiff)
    previous: TherapyVisit | None = None

    @property
    def therapist_name(self) -> str:
        if self.visit is None:
            return ""
        clinician = self.visit.encounter.clinician
        return clinician.get_full_name() or clinician.get_username()

    @property
    def set_on(self) -> datetime | None:
        return self.visit.encounter.occurred_at if self.visit is not None else None


def programme_current(*, patient_id: int) -> Programme:
    """The patient's current home programme and what its visit changed (two queries)."""
    visits = list(_signed_visits(patient_id)[:2])
    if not visits:
        return Programme(visit=None)
    current = visits[0]
    previous = visits[1] if len(visits) > 1 else None
    exercises = list(current.exercises.all())
    before = list(previous.exercises.all()) if previous is not None else []
    return Programme(
        visit=current, exercises=exercises, diff=programme_diff(before, exercises), previous=previous
    )


def visit_diff(visit: TherapyVisit) -> ProgrammeDiff:
    """What ``visit`` changed against the patient's signed therapy visit before it."""
    encounter = visit.encounter
    previous = (
        _signed_visits(encounter.patient_id)
        .filter(encounter__occurred_at__lte=encounter.occurred_at)
        .exclude(pk=visit.pk)
        .exclude(encounter__occurred_at=encounter.occurred_at, encounter_id__gt=visit.pk)
        .first()
    )
    before = list(previous.exercises.all()) if previous is not None else []
    return programme_diff(before, list(visit.exercises.order_by("position", "id")))


def checkins_since(*, patient_id: int, since: datetime | None) -> QuerySet[ProgrammeCheckIn]:
    """The patient's check-ins answered after ``since`` (all of them when None), newest first."""
    qs = ProgrammeCheckIn.objects.filter(patient_id=patient_id)
    if since is not None:
        qs = qs.filter(answered_at__gt=since)
    return qs.order_by("-answered_at", "-id")


def last_signed_visit_at(*, patient_id: int, before: datetime | None = None) -> datetime | None:
    """When the patient's latest signed therapy visit (before ``before``, if given) took place."""
    qs = Encounter.objects.filter(
        patient_id=patient_id, kind=Encounter.Kind.THERAPY, status=Encounter.Status.SIGNED
    )
    if before is not None:
        qs = qs.filter(occurred_at__lt=before)
    return qs.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
