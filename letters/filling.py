"""What a new letter says before the clinician edits it: the record, read through the treatments
app's selectors, written out by the kind's Django template (templates/letters/kinds/<kind>.txt).

Each kind summarises one thing:

- a consultation summary: the consultation (history, examination, symptoms, severity, goals,
  plan) and the gradings recorded with it, or on the same day;
- a procedure summary: the operation (side, anaesthesia, procedures, findings, complications and
  the follow-up planned);
- a toxin course summary: the patient's toxin sessions up to the chosen one (at most
  ``COURSE_SESSIONS``), each with its product, lot, total dose and doses per muscle and side, and
  the latest grading of each instrument.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from patients.models import Patient
from treatments import selectors as clinical
from treatments.models import Assessment, Encounter, ToxinSession

from .exceptions import LetterNothingToSummarise
from .models import Letter

Kind = Letter.Kind
COURSE_SESSIONS = 6

# The encounter kinds each letter kind may summarise.
ENCOUNTER_KINDS: dict[str, tuple[str, ...]] = {
    Kind.CONSULTATION: (Encounter.Kind.CONSULTATION, Encounter.Kind.FOLLOW_UP),
    Kind.PROCEDURE: (Encounter.Kind.SURGERY,),
    Kind.TOXIN_COURSE: (Encounter.Kind.TOXIN,),
}
NOTHING: dict[str, str] = {
    Kind.CONSULTATION: "This patient has no consultation to summarise.",
    Kind.PROCEDURE: "This patient has no operation to summarise.",
    Kind.TOXIN_COURSE: "This patient has no toxin session to summarise.",
}


@dataclass(frozen=True)
class Grading:
    name: str
    on: Any
    summary: str
    rater: str


def candidate_encounters(*, patient_id: int, kind: str) -> list[Encounter]:
    """The encounters a letter of ``kind`` may be written from, newest first."""
    return list(
        Encounter.objects.filter(patient_id=patient_id, kind__in=ENCOUNTER_KINDS.get(kind, ()))
        .select_related("clinician")
        .order_by("-occurred_at", "-id")[:50]
    )


def letter_encounters(*, patient_id: int) -> list[Encounter]:
    """Every encounter any letter may be written from, newest first (the draft form's choices)."""
    kinds = {k for kinds in ENCOUNTER_KINDS.values() for k in kinds}
    return list(
        Encounter.objects.filter(patient_id=patient_id, kind__in=kinds)
        .select_related("clinician")
        .order_by("-occurred_at", "-id")[:50]
    )


def choose_encounter(*, patient: Patient, kind: str, encounter: Encounter | None) -> Encounter:
    """The encounter given (checked), or the patient's latest of the right kind."""
    if encounter is not None:
        if encounter.patient_id != patient.pk:
            raise LetterNothingToSummarise(fields={"encounter": ["This encounter is another patient's."]})
        if encounter.kind not in ENCOUNTER_KINDS[kind]:
            raise LetterNothingToSummarise(
                fields={"encounter": [f"A {Kind(kind).label.lower()} cannot be written from this encounter."]}
            )
        return encounter
    latest = candidate_encounters(patient_id=patient.pk, kind=kind)
    if not latest:
        raise LetterNothingToSummarise(NOTHING[kind], fields={"encounter": [NOTHING[kind]]})
    return latest[0]


def _gradings(assessments: Iterable[Assessment]) -> list[Grading]:
    from treatments import instruments

    rows = []
    for a in assessments:
        definition = instruments.get(a.instrument)
        rows.append(
            Grading(
                name=definition.name if definition else a.instrument,
                on=timezone.localdate(a.assessed_at),
                summary=clinical.score_summary(a),
                rater=a.rater.display_name if a.rater is not None else "patient-reported",
            )
        )
    return rows


def _encounter_gradings(encounter: Encounter) -> list[Grading]:
    """Gradings recorded with the encounter, or on its day."""
    day = timezone.localdate(encounter.occurred_at)
    recorded = [
        a
        for a in clinical.assessments_for_patient(patient_id=encounter.patient_id)[:200]
        if a.encounter_id == encounter.pk or timezone.localdate(a.assessed_at) == day
    ]
    return _gradings(sorted(recorded, key=lambda a: (a.assessed_at, a.pk)))


def _latest_gradings(patient_id: int) -> list[Grading]:
    latest: dict[str, Assessment] = {}
    for a in clinical.assessments_for_patient(patient_id=patient_id)[:200]:
        latest.setdefault(a.instrument, a)
    return _gradings(latest.values())


@dataclass(frozen=True)
class DoseRow:
    muscle: str
    side: str
    units: str
    points: int


@dataclass(frozen=True)
class CourseSession:
    on: Any
    product: str
    lot: str
    total: str
    doses: list[DoseRow]
    by: str
    response: str


def units(value: Decimal) -> str:
    """12.50 -> "12.5", 10.00 -> "10": doses as a clinician writes them."""
    return format(value.normalize(), "f")


def _response(session: ToxinSession) -> str:
    effects = [
        label
        for flag, label in (
            (session.response_ptosis, "ptosis"),
            (session.response_oral_incompetence, "oral incompetence"),
            (session.response_smile_weakness, "smile weakness"),
        )
        if flag
    ]
    if session.response_other:
        effects.append(session.response_other)
    parts = []
    if session.response_duration_weeks:
        parts.append(f"effect lasted about {session.response_duration_weeks} weeks")
    if effects:
        parts.append("side effects: " + ", ".join(effects))
    return "; ".join(parts)


def _course(encounter: Encounter) -> list[CourseSession]:
    sessions = clinical.recent_toxin_sessions(
        patient_id=encounter.patient_id, before=encounter.occurred_at, limit=COURSE_SESSIONS
    )
    course = []
    for s in reversed(sessions):
        injections = list(s.injections.all())
        course.append(
            CourseSession(
                on=timezone.localdate(s.encounter.occurred_at),
                product=s.get_product_display(),
                lot=s.lot.lot_number,
                total=units(sum((i.units for i in injections), start=Decimal(0))),
                doses=[
                    DoseRow(i.get_muscle_display(), i.get_side_display(), units(i.units), i.points)
                    for i in injections
                ],
                by=s.encounter.clinician.display_name,
                response=_response(s),
            )
        )
    return course


def record_context(*, patient: Patient, kind: str, encounter: Encounter) -> dict[str, Any]:
    """What the kind's template reads."""
    detail = clinical.detail_for(encounter)
    context: dict[str, Any] = {
        "patient": patient,
        "kind": kind,
        "encounter": encounter,
        "detail": detail,
        "on": timezone.localdate(encounter.occurred_at),
        "clinician": encounter.clinician.display_name,
    }
    if kind == Kind.CONSULTATION:
        context["gradings"] = _encounter_gradings(encounter)
    elif kind == Kind.PROCEDURE:
        context["procedures"] = list(detail.procedures.all())
        context["complications"] = list(detail.complications.all())
        context["follow_up_plan"] = list(detail.follow_up_plan.all())
        context["gradings"] = _latest_gradings(patient.pk)
    else:
        context["course"] = _course(encounter)
        context["gradings"] = _latest_gradings(patient.pk)
    return context


def subject_for(*, patient: Patient, kind: str, encounter: Encounter) -> str:
    on = timezone.localdate(encounter.occurred_at)
    return f"{Kind(kind).label}, {on:%-d %B %Y}"


def body_for(*, patient: Patient, kind: str, encounter: Encounter) -> str:
    text = render_to_string(
        f"letters/kinds/{kind}.txt", record_context(patient=patient, kind=kind, encounter=encounter)
    )
    # Templates leave blank lines where optional sections are empty: one blank line between
    # paragraphs is what the clinician edits and the PDF prints.
    paragraphs = [" ".join(p.split()) if "\n-" not in p else p.strip() for p in _paragraphs(text)]
    return "\n\n".join(p for p in paragraphs if p)


def _paragraphs(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks
