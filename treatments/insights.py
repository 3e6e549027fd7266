"""Clinical insight from a patient's own toxin history.

Personal reinjection timing
---------------------------
Toxin wears off at 3-4 months for most patients, but each patient is fairly consistent with
themselves. Two kinds of evidence are recorded:

- *reported duration of effect*: asked at each session about the previous one
  (``ToxinSession.response_duration_weeks``), the direct measure;
- *return intervals*: how many days after a session the patient actually came back
  (``ToxinSession.days_since_previous``); later than the wear-off when the patient waited, so
  only used when too few durations were reported.

The estimate is the median of the last three values of the better evidence (at least two
needed). The recall is then due at that point after the session, but **never before the minimum
reinjection interval** (``ClinicSettings.min_reinjection_interval_days``): frequent exposure
raises the risk of neutralising antibodies, and a short-lasting effect is a reason to review the
plan, not to inject sooner.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import median

from .common import local_date
from .models import MUSCLE_ORDER, Assessment, Encounter, Product, ToxinSession

# How many recent sessions speak for the patient's current response.
RECENT = 3
# Fewer than this and the clinic's default timing is used.
MIN_SAMPLES = 2


@dataclass(frozen=True)
class Sample:
    """One past session: its date, the wear-off the patient reported for the session before it,
    and the days since that previous session."""

    on: date
    reported_duration_weeks: int | None = None
    days_since_previous: int | None = None


@dataclass(frozen=True)
class Timing:
    due_date: date
    earliest_date: date
    # The personal estimate in days after the session, when there was enough history.
    estimate_days: int | None
    explanation: str
    clamped: bool = False


def _weeks_label(days: int) -> str:
    return f"{round(days / 7)} weeks"


def _range_label(values_weeks: list[float]) -> str:
    low, high = round(min(values_weeks)), round(max(values_weeks))
    return f"{low} weeks" if low == high else f"{low}-{high} weeks"


def _count_label(n: int) -> str:
    return {1: "last session", 2: "last two sessions", 3: "last three sessions"}.get(n, f"last {n} sessions")


def reinjection_timing(*, history: list[Sample], anchor: date, min_interval_days: int) -> Timing:
    """When to recall a patient whose last session was on ``anchor``.

    ``history`` is the patient's sessions oldest first, up to and including the one on ``anchor``.
    The due date is never before ``anchor + min_interval_days``.
    """
    earliest = anchor + timedelta(days=min_interval_days)
    reported = [s.reported_duration_weeks for s in history if s.reported_duration_weeks][-RECENT:]
    returned = [s.days_since_previous for s in history if s.days_since_previous][-RECENT:]
    if len(reported) >= MIN_SAMPLES:
        estimate = round(median(reported) * 7)
        evidence = f"the {_count_label(len(reported))} wore off at {_range_label(reported)}"
    elif len(returned) >= MIN_SAMPLES:
        estimate = round(median(returned))
        evidence = (
            f"the {_count_label(len(returned))} were repeated after {_range_label([d / 7 for d in returned])}"
        )
    else:
        return Timing(
            due_date=earliest,
            earliest_date=earliest,
            estimate_days=None,
            explanation=(
                f"Recall at {_weeks_label(min_interval_days)} (the minimum interval): "
                "not enough history yet for a personal estimate."
            ),
        )
    if estimate < min_interval_days:
        return Timing(
            due_date=earliest,
            earliest_date=earliest,
            estimate_days=estimate,
            clamped=True,
            explanation=(
                f"Recall at {_weeks_label(min_interval_days)}, the minimum interval: {evidence}, "
                "sooner than toxin may safely be repeated; consider reviewing the plan."
            ),
        )
    return Timing(
        due_date=anchor + timedelta(days=estimate),
        earliest_date=earliest,
        estimate_days=estimate,
        explanation=f"Recall at {_weeks_label(estimate)}: {evidence}.",
    )


def toxin_history(*, patient_id: int, until=None) -> list[Sample]:
    """The patient's toxin sessions as samples, oldest first (one query)."""
    sessions = ToxinSession.objects.filter(
        encounter__patient_id=patient_id, encounter__kind=Encounter.Kind.TOXIN
    )
    if until is not None:
        sessions = sessions.filter(encounter__occurred_at__lte=until)
    rows = sessions.order_by("encounter__occurred_at", "pk").values_list(
        "encounter__occurred_at", "response_duration_weeks", "days_since_previous"
    )
    return [
        Sample(on=local_date(at), reported_duration_weeks=duration, days_since_previous=days)
        for at, duration, days in rows
    ]


def patient_reinjection_timing(*, patient_id: int, min_interval_days: int, until=None) -> Timing | None:
    history = toxin_history(patient_id=patient_id, until=until)
    if not history:
        return None
    return reinjection_timing(history=history, anchor=history[-1].on, min_interval_days=min_interval_days)


# --- Dose-response ------------------------------------------------------------------------------

# Sessions shown side by side: enough to titrate, few enough to read.
DOSE_RESPONSE_SESSIONS = 6
ROLLING_DAYS = 84
# The gradings shown under each session: the first of each taken after it, before the next one.
RESPONSE_INSTRUMENTS = ("sunnybrook", "saq")
# A change in SAQ of about 13 points exceeds measurement noise (docs/domain.md); smaller is "stable".
SAQ_MEANINGFUL_CHANGE = 13
SUNNYBROOK_MEANINGFUL_CHANGE = 10
# Secondary non-response: looked for over at least this many consecutive sessions of one product.
NON_RESPONSE_SESSIONS = 3
# "Stable or rising" dose tolerates this much less than the first session of the run.
DOSE_TOLERANCE = Decimal("0.9")


def _session_rows(patient_id: int):
    return list(
        ToxinSession.objects.filter(encounter__patient_id=patient_id)
        .select_related("encounter", "lot")
        .prefetch_related("injections")
        .order_by("encounter__occurred_at", "pk")
    )


def _responses(patient_id: int, sessions) -> dict[int, dict[str, float]]:
    """For each session, the first Sunnybrook composite and SAQ total recorded after it and
    before the next session (the response to that session)."""
    rows = (
        Assessment.objects.filter(
            patient_id=patient_id, instrument__in=RESPONSE_INSTRUMENTS, status=Assessment.Status.RECORDED
        )
        .order_by("assessed_at", "id")
        .values_list("instrument", "assessed_at", "scores")
    )
    result: dict[int, dict[str, float]] = {s.pk: {} for s in sessions}
    bounds = [(s.pk, s.encounter.occurred_at) for s in sessions]
    for instrument, at, scores in rows:
        owner = None
        for pk, start in bounds:
            if start <= at:
                owner = pk
            else:
                break
        if owner is None or instrument in result[owner]:
            continue
        key = "composite" if instrument == "sunnybrook" else "total"
        if key in scores:
            result[owner][instrument] = scores[key]
    return result


def _non_response_flag(sessions, responses) -> str | None:
    """Possible secondary non-response: over the last sessions of one product, at a stable or
    rising dose, the effect got shorter (reported wear-off) or weaker (SAQ worse, Sunnybrook
    lower). A prompt to look, never a diagnosis."""
    if len(sessions) < NON_RESPONSE_SESSIONS:
        return None
    run = sessions[-NON_RESPONSE_SESSIONS:]
    if len({s.product for s in run}) != 1:
        return None
    totals = [s.total_units for s in run]
    if any(later < earlier * DOSE_TOLERANCE for earlier, later in pairwise(totals)):
        return None
    reasons = []
    # The wear-off of session k is reported at session k+1: use those recorded within the run.
    durations = [s.response_duration_weeks for s in run[1:] if s.response_duration_weeks]
    if len(durations) >= 2 and durations[-1] < durations[0]:
        reasons.append(f"effect reported shorter ({durations[0]} -> {durations[-1]} weeks)")
    saq = [responses[s.pk]["saq"] for s in run if "saq" in responses[s.pk]]
    if len(saq) >= 2 and saq[-1] - saq[0] >= SAQ_MEANINGFUL_CHANGE:
        reasons.append(f"SAQ after sessions worse ({saq[0]:g} -> {saq[-1]:g})")
    sunnybrook = [responses[s.pk]["sunnybrook"] for s in run if "sunnybrook" in responses[s.pk]]
    if len(sunnybrook) >= 2 and sunnybrook[0] - sunnybrook[-1] >= SUNNYBROOK_MEANINGFUL_CHANGE:
        reasons.append(f"Sunnybrook after sessions lower ({sunnybrook[0]:g} -> {sunnybrook[-1]:g})")
    if not reasons:
        return None
    product = Product(run[0].product).label
    return (
        f"Possible secondary non-response to {product}: over the last {len(run)} sessions, at a stable or "
        f"rising dose ({', '.join(f'{t:g}' for t in totals)} U), " + "; ".join(reasons) + "."
    )


def dose_response(*, patient_id: int) -> dict:
    """The dose-response view: per muscle and side, units per session (last few sessions), the
    gradings after each session, the product's rolling 12-week units, and a non-response flag.
    A fixed number of queries (sessions, injections, assessments)."""
    sessions = _session_rows(patient_id)
    for s in sessions:
        s.total_units = sum((i.units for i in s.injections.all()), start=Decimal(0))
        s.on = local_date(s.encounter.occurred_at)
    responses = _responses(patient_id, sessions)
    # Rolling units are per product: units of different products are never added.
    for index, s in enumerate(sessions):
        window_start = s.on - timedelta(days=ROLLING_DAYS - 1)
        s.rolling_units = sum(
            (o.total_units for o in sessions[: index + 1] if o.product == s.product and o.on >= window_start),
            start=Decimal(0),
        )
    shown = sessions[-DOSE_RESPONSE_SESSIONS:]
    next_duration = {earlier.pk: later.response_duration_weeks for earlier, later in pairwise(sessions)}
    rows: dict[tuple[str, str], dict] = {}
    for column, s in enumerate(shown):
        for injection in s.injections.all():
            key = (injection.muscle, injection.side)
            row = rows.setdefault(
                key,
                {
                    "muscle": injection.get_muscle_display(),
                    "side": injection.side,
                    "cells": [None] * len(shown),
                    "order": MUSCLE_ORDER.get(injection.muscle, 99),
                },
            )
            row["cells"][column] = injection.units
    columns = [
        {
            "session": s,
            "date": s.on,
            "product": Product(s.product).label,
            "total_units": s.total_units,
            "rolling_units": s.rolling_units,
            "sunnybrook": responses[s.pk].get("sunnybrook"),
            "saq": responses[s.pk].get("saq"),
            # Reported at the next session.
            "duration_weeks": next_duration.get(s.pk),
        }
        for s in shown
    ]
    return {
        "columns": columns,
        "rows": sorted(rows.values(), key=lambda r: (r["order"], r["side"])),
        "mixed_products": len({s.product for s in shown}) > 1,
        "flag": _non_response_flag(sessions, responses),
    }
