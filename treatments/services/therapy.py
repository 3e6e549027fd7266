"""Therapy (NMRT) visits: techniques, home programme, synkinesis patterns, advice to the injector."""

from typing import cast

from clinic.configuration import field_bounds
from clinic.errors import Invalid

from ..models import (
    Encounter,
    HomeExercise,
    InjectorRecommendation,
    SynkinesisPattern,
    Technique,
    TherapyVisit,
)
from .encounters import Child, Draft, KindSpec

# A therapy course's visits and spacing, as the model fields bound them.
VISITS = field_bounds(TherapyVisit, "course_visits")
EVERY_WEEKS = field_bounds(TherapyVisit, "course_every_weeks")


class TherapySpec(KindSpec):
    kind = Encounter.Kind.THERAPY
    model = TherapyVisit
    capability = "clinic.record_therapy"
    fields = (
        "techniques",
        "duration_minutes",
        "adherence",
        "adherence_note",
        "goals",
        "progress",
        "course_visits",
        "course_every_weeks",
        "weekly_checkins",
    )
    children = (
        Child("exercises", HomeExercise, "visit"),
        Child("patterns", SynkinesisPattern, "visit"),
        Child("recommendations", InjectorRecommendation, "visit"),
    )

    def validate(self, draft: Draft, actor) -> None:
        techniques = draft.detail.techniques
        if not isinstance(techniques, list) or any(t not in Technique.values for t in techniques):
            raise Invalid(fields={"techniques": [f"Each must be one of: {', '.join(Technique.values)}."]})
        if len(set(techniques)) != len(techniques):
            raise Invalid(fields={"techniques": ["A technique is listed twice."]})
        # Keep the catalogue's order so that visits read alike.
        draft.detail.techniques = [t for t in Technique.values if t in techniques]
        self._validate_course(cast(TherapyVisit, draft.detail))

    @staticmethod
    def _validate_course(visit: TherapyVisit) -> None:
        visits, weeks = visit.course_visits, visit.course_every_weeks
        if visits is None and weeks is None:
            return
        errors: dict[str, list[str]] = {}
        if visits is None:
            errors["course_visits"] = ["How many visits? (Both or neither.)"]
        elif not VISITS[0] <= visits <= VISITS[1]:
            errors["course_visits"] = [f"Must be from {VISITS[0]} to {VISITS[1]}."]
        if weeks is None:
            errors["course_every_weeks"] = ["Every how many weeks? (Both or neither.)"]
        elif not EVERY_WEEKS[0] <= weeks <= EVERY_WEEKS[1]:
            errors["course_every_weeks"] = [f"Must be from {EVERY_WEEKS[0]} to {EVERY_WEEKS[1]}."]
        if errors:
            raise Invalid(fields=errors)

    def after_save(self, draft: Draft, actor) -> None:
        from .care_recalls import open_therapy_course_recalls

        open_therapy_course_recalls(
            encounter=draft.encounter, visit=cast(TherapyVisit, draft.detail), actor=actor
        )

    def summarise(self, draft: Draft) -> str:
        visit = draft.detail
        parts = [", ".join(visit.technique_labels)] if visit.techniques else []
        exercises = draft.rows.get("exercises")
        recommendations = draft.rows.get("recommendations")
        if exercises is None and not draft.creating:
            exercises = list(visit.exercises.all())
        if recommendations is None and not draft.creating:
            recommendations = list(visit.recommendations.all())
        if exercises:
            parts.append(f"{len(exercises)} home exercise{'s' if len(exercises) != 1 else ''}")
        if recommendations:
            parts.append(
                "to injector: "
                + ", ".join(f"{r.get_muscle_display()} ({r.side})" for r in recommendations[:3])
                + ("…" if len(recommendations) > 3 else "")
            )
        return " · ".join(parts)


THERAPY = TherapySpec()
