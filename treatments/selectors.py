"""Reads of the treatments app: what the chart, the forms and the API show.

Every function here runs a fixed number of queries whatever the number of rows.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.utils import timezone

from clinic.queries import related_count

from . import instruments
from .common import format_units, local_date
from .models import (
    MUSCLE_ORDER,
    Addendum,
    Assessment,
    Consultation,
    Encounter,
    FollowUp,
    Injection,
    InjectorRecommendation,
    PlanAgreement,
    PlanStage,
    Product,
    Surgery,
    TherapyVisit,
    ToxinDoseLimit,
    ToxinLot,
    ToxinSession,
    TreatmentPlan,
)

# --- Encounters and timeline -------------------------------------------------------------------


def encounters_listed() -> QuerySet[Encounter]:
    """Encounters as lists show them: newest first (index ``treatments_enc_time``), with their
    clinician and their number of addenda, from the encounter table alone (one query)."""
    return (
        Encounter.objects.select_related("clinician")
        .annotate(addendum_count=related_count(Addendum.objects, to="encounter"))
        .order_by("-occurred_at", "-id")
    )


def encounters_for_patient(*, patient_id: int) -> QuerySet[Encounter]:
    """The patient's encounters, newest first."""
    return encounters_listed().filter(patient_id=patient_id)


@dataclass
class TimelineEntry:
    at: object
    kind: str
    label: str
    summary: str
    by: str
    status: str = ""
    encounter_id: int | None = None
    assessment_id: int | None = None
    addendum_count: int = 0


def timeline(*, patient_id: int, limit: int = 100) -> list[TimelineEntry]:
    """Encounters and gradings in one list, newest first (two queries)."""
    entries = [
        TimelineEntry(
            at=e.occurred_at,
            kind=e.kind,
            label=e.get_kind_display(),
            summary=e.summary,
            by=e.clinician.display_name,
            status=e.status,
            encounter_id=e.pk,
            addendum_count=e.addendum_count,
        )
        for e in encounters_for_patient(patient_id=patient_id)[:limit]
    ]
    for a in assessments_for_patient(patient_id=patient_id)[:limit]:
        definition = instruments.get(a.instrument)
        entries.append(
            TimelineEntry(
                at=a.assessed_at,
                kind="assessment",
                label=definition.name if definition else a.instrument,
                summary=score_summary(a),
                by=a.rater.display_name if a.rater_id else "Patient-reported",
                assessment_id=a.pk,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def score_summary(assessment: Assessment) -> str:
    definition = instruments.get(assessment.instrument)
    if definition is None:
        return ", ".join(f"{k} {v}" for k, v in assessment.scores.items())
    return ", ".join(
        f"{s.label} {assessment.scores[s.key]}" for s in definition.scores if s.key in assessment.scores
    )


def encounter_detail(*, encounter_id: int) -> Encounter:
    """An encounter with its detail record, child rows, addenda and co-signatures (a fixed number
    of queries)."""
    encounter = Encounter.objects.select_related(
        "patient", "clinician", "signed_by", "appointment", "plan_stage", "created_by"
    ).get(pk=encounter_id)
    encounter.addenda_list = list(encounter.addenda.select_related("author").order_by("at", "id"))
    encounter.cosignatures_list = list(
        encounter.cosignatures.select_related("cosigned_by").order_by("cosigned_at", "id")
    )
    encounter.detail = detail_for(encounter)
    return encounter


def detail_for(encounter: Encounter):
    kind = Encounter.Kind
    if encounter.kind == kind.TOXIN:
        return (
            ToxinSession.objects.select_related("lot", "interval_overridden_by")
            .prefetch_related("injections")
            .get(pk=encounter.pk)
        )
    if encounter.kind == kind.THERAPY:
        return TherapyVisit.objects.prefetch_related("exercises", "patterns", "recommendations").get(
            pk=encounter.pk
        )
    if encounter.kind == kind.SURGERY:
        return Surgery.objects.prefetch_related(
            "procedures", "complications", "follow_up_plan", "stimulated_branches"
        ).get(pk=encounter.pk)
    if encounter.kind == kind.CONSULTATION:
        return Consultation.objects.get(pk=encounter.pk)
    return FollowUp.objects.select_related("treatment").get(pk=encounter.pk)


# --- Toxin -------------------------------------------------------------------------------------


def toxin_sessions_queryset() -> QuerySet[ToxinSession]:
    return ToxinSession.objects.select_related(
        "encounter", "encounter__clinician", "encounter__patient", "lot"
    ).prefetch_related(Prefetch("injections", queryset=Injection.objects.order_by("position", "id")))


def recent_toxin_sessions(
    *, patient_id: int, before=None, exclude_pk: int | None = None, limit: int = 3
) -> list[ToxinSession]:
    """The patient's last ``limit`` sessions (before ``before`` if given), newest first."""
    qs = toxin_sessions_queryset().filter(encounter__patient_id=patient_id)
    if before is not None:
        qs = qs.filter(encounter__occurred_at__lte=before)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs.order_by("-encounter__occurred_at", "-pk")[:limit])


@dataclass
class MapRow:
    muscle: str
    muscle_label: str
    side: str
    cells: list


@dataclass
class MapComparison:
    sessions: list
    rows: list[MapRow]
    # The response the patient reported about each session (asked at the next one), or None.
    responses: list


def compare_maps(sessions: list[ToxinSession], newer: ToxinSession | None = None) -> MapComparison:
    """Sessions side by side: one row per muscle and side, one column per session (oldest left).

    ``sessions`` newest first, as recent_toxin_sessions gives them; ``newer`` is the session
    after the newest one (its response fields describe the newest), if there is one.
    """
    ordered = list(reversed(sessions))
    by_key: dict[tuple[str, str], MapRow] = {}
    labels = dict(Injection._meta.get_field("muscle").choices)
    for column, session in enumerate(ordered):
        for injection in session.injections.all():
            key = (injection.muscle, injection.side)
            if key not in by_key:
                by_key[key] = MapRow(
                    injection.muscle, labels[injection.muscle], injection.side, [None] * len(ordered)
                )
            by_key[key].cells[column] = injection
    rows = sorted(by_key.values(), key=lambda r: (MUSCLE_ORDER.get(r.muscle, 99), r.side))
    # The response to session i is on session i + 1.
    followers = [*ordered[1:], newer]
    responses = [f if f is not None and f.has_reported_response else None for f in followers]
    return MapComparison(sessions=ordered, rows=rows, responses=responses)


def open_recommendations(*, patient_id: int, before=None, exclude_pk: int | None = None) -> list:
    """Therapists' recommendations to the injector since the patient's last toxin session.

    "Open" needs no state to close: a recommendation is for the next session, so it is the
    ones from therapy visits after the latest session before ``before`` (default: now).
    """
    before = before or timezone.now()
    last = Encounter.objects.filter(patient_id=patient_id, kind=Encounter.Kind.TOXIN, occurred_at__lt=before)
    if exclude_pk is not None:
        last = last.exclude(pk=exclude_pk)
    last_at = last.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    qs = InjectorRecommendation.objects.filter(
        visit__encounter__patient_id=patient_id, visit__encounter__occurred_at__lte=before
    )
    if last_at is not None:
        qs = qs.filter(visit__encounter__occurred_at__gt=last_at)
    return list(
        qs.select_related("visit__encounter__clinician").order_by(
            "-visit__encounter__occurred_at", "position"
        )
    )


def units_by_product(*, patient_id: int, since: date | None = None) -> list[dict]:
    """Units given to the patient per product. Never one total across products: their units
    are not the same unit (docs/domain.md)."""
    qs = Injection.objects.filter(session__encounter__patient_id=patient_id)
    if since is not None:
        qs = qs.filter(session__encounter__occurred_at__date__gte=since)
    rows = qs.values("session__product").annotate(
        units=Sum("units"), sessions=Count("session", distinct=True)
    )
    labels = dict(Product.choices)
    return sorted(
        (
            {
                "product": r["session__product"],
                "label": labels[r["session__product"]],
                "units": r["units"],
                "sessions": r["sessions"],
            }
            for r in rows
        ),
        key=lambda r: r["product"],
    )


def dose_limits() -> dict[str, ToxinDoseLimit]:
    return {limit.product: limit for limit in ToxinDoseLimit.objects.all()}


def dose_warnings(*, product: str, injections, limit: ToxinDoseLimit | None) -> list[str]:
    """Messages for a map that goes beyond the clinic's dose limits (warnings, not refusals)."""
    if limit is None:
        return []
    label = Product(product).label
    injections = list(injections)
    warnings = []
    total = sum((i.units for i in injections), start=Decimal(0))
    if limit.max_units_per_session and total > limit.max_units_per_session:
        warnings.append(
            f"{format_units(total)} U in this session is above the clinic's limit of "
            f"{format_units(limit.max_units_per_session)} U of {label} per session."
        )
    if limit.max_units_per_site:
        for injection in injections:
            per_site = injection.units / injection.points
            if per_site > limit.max_units_per_site:
                warnings.append(
                    f"{injection.get_muscle_display()} ({injection.side}): "
                    f"{format_units(per_site.quantize(Decimal('0.01')))} U per point is above the clinic's "
                    f"limit of {format_units(limit.max_units_per_site)} U per site."
                )
    return warnings


def session_total(session: ToxinSession) -> Decimal:
    """Units of the session's product (a session has exactly one product)."""
    return sum((i.units for i in session.injections.all()), start=Decimal(0))


def usable_lots(*, on_date: date | None = None, product: str | None = None) -> QuerySet[ToxinLot]:
    """Lots the session form offers: in use and not expired on the session date."""
    qs = ToxinLot.objects.filter(is_active=True, expiry_date__gte=on_date or timezone.localdate())
    if product:
        qs = qs.filter(product=product)
    return qs.order_by("product", "expiry_date", "lot_number")


def lots_with_usage() -> QuerySet[ToxinLot]:
    return ToxinLot.objects.annotate(session_count=related_count(ToxinSession.objects, to="lot")).order_by(
        "-expiry_date", "lot_number"
    )


def lot_recipients(*, lot: ToxinLot) -> list[dict]:
    """A lot recall: every patient who received this lot, with the dates (one query)."""
    sessions = (
        ToxinSession.objects.filter(lot=lot)
        .select_related("encounter__patient")
        .order_by("encounter__patient__last_name", "encounter__patient_id", "encounter__occurred_at")
    )
    patients: dict[int, dict] = {}
    for session in sessions:
        patient = session.encounter.patient
        entry = patients.setdefault(patient.pk, {"patient": patient, "sessions": []})
        entry["sessions"].append(
            {"encounter_id": session.pk, "date": local_date(session.encounter.occurred_at)}
        )
    return list(patients.values())


# --- Plans -------------------------------------------------------------------------------------


def current_plan(*, patient_id: int) -> TreatmentPlan | None:
    """The active plan, else the newest one that is not completed (drafts, on hold)."""
    plans = (
        TreatmentPlan.objects.filter(patient_id=patient_id)
        .select_related("author")
        .prefetch_related("stages")
    )
    order = ["active", "draft", "on_hold"]
    candidates = list(plans.exclude(status=TreatmentPlan.Status.COMPLETED).order_by("-created_at"))
    candidates.sort(key=lambda p: order.index(p.status))
    return candidates[0] if candidates else None


PLAN_ORDER = ["active", "draft", "on_hold", "completed"]


def patient_plans(*, patient_id: int) -> list[TreatmentPlan]:
    """Every plan of the patient: the active one first, then drafts, plans on hold and completed
    ones, newest first within each."""
    plans = list(
        TreatmentPlan.objects.filter(patient_id=patient_id)
        .select_related("author")
        .prefetch_related("stages", plan_agreements())
        .order_by("-created_at", "-id")
    )
    plans.sort(key=lambda p: PLAN_ORDER.index(p.status) if p.status in PLAN_ORDER else len(PLAN_ORDER))
    return plans


def plan_agreements() -> Prefetch:
    """A plan's agreements, newest first, with who recorded and who witnessed them."""
    return Prefetch(
        "agreements",
        queryset=PlanAgreement.objects.select_related("recorded_by", "witness").order_by("-agreed_at", "-id"),
    )


def plan_stages_for_patient(*, patient_id: int):
    """Stages of the patient's plans that are not completed: what an encounter can link to."""
    return (
        PlanStage.objects.filter(plan__patient_id=patient_id)
        .exclude(plan__status=TreatmentPlan.Status.COMPLETED)
        .select_related("plan")
        .order_by("-plan__created_at", "position")
    )


# --- Gradings ----------------------------------------------------------------------------------


def assessments_for_patient(*, patient_id: int) -> QuerySet[Assessment]:
    return (
        Assessment.objects.filter(patient_id=patient_id, status=Assessment.Status.RECORDED)
        .select_related("rater")
        .order_by("-assessed_at", "-id")
    )


@dataclass
class TrendSeries:
    instrument: instruments.Instrument
    score: instruments.Score
    points: list[tuple[date, float, Assessment]] = field(default_factory=list)


@dataclass
class TreatmentEvent:
    on: date
    kind: str
    label: str
    encounter_id: int


@dataclass
class GradingTrend:
    series: list[TrendSeries]
    events: list[TreatmentEvent]
    rows: list[dict]

    @property
    def is_empty(self) -> bool:
        return not self.series


def grading_trend(*, patient_id: int) -> GradingTrend:
    """Each instrument's trend score over time, and the treatments between them (two queries)."""
    series: dict[str, TrendSeries] = {}
    rows = []
    for a in assessments_for_patient(patient_id=patient_id).order_by("assessed_at", "id"):
        definition = instruments.get(a.instrument)
        if definition is None or definition.trend_score not in a.scores:
            continue
        entry = series.setdefault(
            a.instrument, TrendSeries(definition, definition.score(definition.trend_score))
        )
        entry.points.append((local_date(a.assessed_at), a.scores[definition.trend_score], a))
        rows.append(
            {"on": local_date(a.assessed_at), "kind": "assessment", "assessment": a, "definition": definition}
        )
    events = [
        TreatmentEvent(local_date(e.occurred_at), e.kind, e.summary or e.get_kind_display(), e.pk)
        for e in Encounter.objects.filter(
            patient_id=patient_id, kind__in=[Encounter.Kind.TOXIN, Encounter.Kind.SURGERY]
        ).order_by("occurred_at", "id")
    ]
    rows.extend({"on": e.on, "kind": "event", "event": e} for e in events)
    rows.sort(key=lambda r: (r["on"], r["kind"] == "assessment"))
    ordered = [series[i.code] for i in instruments.all_instruments() if i.code in series]
    return GradingTrend(series=ordered, events=events, rows=rows)


def instrument_wording(instrument: str) -> dict[str, str]:
    """{item key: question} the clinic has loaded for a licensed instrument (may be empty)."""
    from .models import InstrumentItemWording

    return dict(InstrumentItemWording.objects.filter(instrument=instrument).values_list("item_key", "text"))
