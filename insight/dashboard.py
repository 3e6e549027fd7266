"""The clinic dashboard for the practice manager: activity, utilisation, recall conversion, toxin
use and outcomes, over the last N weeks. Aggregates only (no patient is named), each section a
fixed number of queries whatever the clinic's size.

It lives in treatments because toxin use and outcomes are clinical data; the scheduling figures
are read through scheduling's models, which treatments may import.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from scheduling.models import Appointment, Message, Provider, Recall, Room, WorkingHours
from treatments.common import local_date
from treatments.models import Assessment, Encounter, Injection, Product

MIN_WEEKS, MAX_WEEKS, DEFAULT_WEEKS = 4, 52, 12
CONVERSION_DAYS = 28
# Outcome: the Sunnybrook composite before and after a treatment, each within this many days.
OUTCOME_WINDOW_DAYS = 180
OUTCOME_KINDS = (Encounter.Kind.TOXIN, Encounter.Kind.THERAPY, Encounter.Kind.SURGERY)


@dataclass
class Dashboard:
    start: date
    end: date
    weeks: list[dict] = field(default_factory=list)
    providers: list[dict] = field(default_factory=list)
    rooms: list[dict] = field(default_factory=list)
    recalls: dict = field(default_factory=dict)
    toxin: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, datetime.min.time(), tzinfo=tz),
        datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz),
    )


def _rate(part, whole) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def weekly_activity(start: date, end: date) -> list[dict]:
    """Appointments per week and the no-show rate among those that were due: started before now
    and not cancelled (an appointment still to come cannot have been missed)."""
    lo, hi = _bounds(start, end)
    now = timezone.now()
    rows = (
        Appointment.objects.filter(starts_at__gte=lo, starts_at__lt=hi)
        .annotate(week=TruncWeek("starts_at"))
        .values("week")
        .annotate(
            total=Count("id"),
            cancelled=Count("id", filter=Q(status=Appointment.Status.CANCELLED)),
            due=Count("id", filter=Q(starts_at__lt=now) & ~Q(status=Appointment.Status.CANCELLED)),
            no_show=Count("id", filter=Q(status=Appointment.Status.NO_SHOW)),
        )
        .order_by("week")
    )
    by_week = {local_date(r["week"]) if isinstance(r["week"], datetime) else r["week"]: r for r in rows}
    weeks = []
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        r = by_week.get(monday, {"total": 0, "cancelled": 0, "due": 0, "no_show": 0})
        due = r["due"]
        weeks.append(
            {
                "week": monday,
                "appointments": r["total"],
                "cancelled": r["cancelled"],
                "no_show": r["no_show"],
                "no_show_rate": _rate(r["no_show"], due),
            }
        )
        monday += timedelta(days=7)
    return weeks


def _minutes(td: timedelta | None) -> int:
    return int(td.total_seconds() // 60) if td else 0


def _usage(name: str, booked: timedelta | None, available_minutes: int) -> dict:
    minutes = _minutes(booked)
    return {
        "name": name,
        "booked_hours": round(minutes / 60, 1),
        "available_hours": round(available_minutes / 60, 1),
        "utilisation": _rate(minutes, available_minutes),
    }


def utilisation(start: date, end: date) -> tuple[list[dict], list[dict]]:
    """Booked minutes against available minutes. A provider's available time is their working
    hours on each day of the period; a room's is the hours its location is staffed (the span of
    all working hours there on that weekday)."""
    lo, hi = _bounds(start, end)
    weekday_count = defaultdict(int)
    day = start
    while day <= end:
        weekday_count[day.weekday()] += 1
        day += timedelta(days=1)
    held = Appointment.objects.filter(
        starts_at__gte=lo, starts_at__lt=hi, status__in=Appointment.ACTIVE_STATUSES
    ).annotate(length=F("ends_at") - F("starts_at"))
    booked_by_provider = {
        r["provider"]: r["booked"] for r in held.values("provider").annotate(booked=Sum("length"))
    }
    booked_by_room = {r["room"]: r["booked"] for r in held.values("room").annotate(booked=Sum("length"))}

    available_provider: dict[int, int] = defaultdict(int)
    location_day_span: dict[tuple[int, int], list] = {}
    for wh in WorkingHours.objects.all().only(
        "provider_id", "location_id", "weekday", "start_time", "end_time"
    ):
        minutes = (wh.end_time.hour * 60 + wh.end_time.minute) - (
            wh.start_time.hour * 60 + wh.start_time.minute
        )
        available_provider[wh.provider_id] += minutes * weekday_count[wh.weekday]
        span = location_day_span.setdefault((wh.location_id, wh.weekday), [wh.start_time, wh.end_time])
        span[0], span[1] = min(span[0], wh.start_time), max(span[1], wh.end_time)
    available_location: dict[int, int] = defaultdict(int)
    for (location_id, weekday), (first, last) in location_day_span.items():
        minutes = (last.hour * 60 + last.minute) - (first.hour * 60 + first.minute)
        available_location[location_id] += minutes * weekday_count[weekday]

    providers = [
        _usage(str(p), booked_by_provider.get(p.pk), available_provider.get(p.pk, 0))
        for p in Provider.objects.select_related("user").filter(is_active=True)
    ]
    rooms = [
        _usage(str(r), booked_by_room.get(r.pk), available_location.get(r.location_id, 0))
        for r in Room.objects.select_related("location").filter(is_active=True)
    ]
    return providers, rooms


def recall_conversion(start: date, end: date) -> dict:
    """Recalls first messaged in the period, and how many were booked within four weeks of it."""
    lo, hi = _bounds(start, end)
    sent = Message.objects.filter(status=Message.Status.SENT)
    # The first message of each recall with a message sent in the period (a partial index on
    # sent_at finds those), kept when the first is in the period too. Grouping every recall
    # with every message instead took 3.4 s at a million patients.
    recalls = (
        sent.filter(recall_id__in=sent.filter(sent_at__gte=lo, sent_at__lt=hi).values("recall_id"))
        .values("recall_id", "recall__kind", "recall__booked_appointment__created_at")
        .annotate(first_sent=Min("sent_at"))
        .filter(first_sent__gte=lo)
        .order_by()
        .values_list("recall__kind", "first_sent", "recall__booked_appointment__created_at", named=True)
    )
    by_kind: dict[str, dict] = {}
    for kind, first_sent, booked_at in recalls:
        entry = by_kind.setdefault(kind, {"sent": 0, "booked": 0})
        entry["sent"] += 1
        if booked_at and booked_at <= first_sent + timedelta(days=CONVERSION_DAYS):
            entry["booked"] += 1
    labels = dict(Recall.Kind.choices)
    rows = [
        {
            "kind": labels.get(k, k),
            "sent": v["sent"],
            "booked": v["booked"],
            "rate": _rate(v["booked"], v["sent"]),
        }
        for k, v in sorted(by_kind.items())
    ]
    sent = sum(r["sent"] for r in rows)
    booked = sum(r["booked"] for r in rows)
    return {"rows": rows, "sent": sent, "booked": booked, "rate": _rate(booked, sent)}


def toxin_use(start: date, end: date) -> list[dict]:
    """Units per product and lot (each product in its own units: never added across products)."""
    lo, hi = _bounds(start, end)
    rows = (
        Injection.objects.filter(
            session__encounter__occurred_at__gte=lo, session__encounter__occurred_at__lt=hi
        )
        .values("session__product", "session__lot__lot_number")
        .annotate(units=Sum("units"), sessions=Count("session", distinct=True))
        .order_by("session__product", "session__lot__lot_number")
    )
    return [
        {
            "product": Product(r["session__product"]).label,
            "lot": r["session__lot__lot_number"],
            "units": r["units"] or Decimal(0),
            "sessions": r["sessions"],
        }
        for r in rows
    ]


def outcome_change(start: date, end: date) -> list[dict]:
    """Per modality: the mean change of the Sunnybrook composite from the last grading before a
    treatment in the period to the first grading after it (each within OUTCOME_WINDOW_DAYS)."""
    lo, hi = _bounds(start, end)
    treatments = list(
        Encounter.objects.filter(kind__in=OUTCOME_KINDS, occurred_at__gte=lo, occurred_at__lt=hi).values_list(
            "patient_id", "kind", "occurred_at"
        )
    )
    window = timedelta(days=OUTCOME_WINDOW_DAYS)
    gradings: dict[int, list] = defaultdict(list)
    for patient_id, at, scores in (
        Assessment.objects.filter(
            patient_id__in={t[0] for t in treatments},
            instrument="sunnybrook",
            status=Assessment.Status.RECORDED,
            assessed_at__gte=lo - window,
            assessed_at__lt=hi + window,
        )
        .order_by("assessed_at", "id")
        .values_list("patient_id", "assessed_at", "scores")
    ):
        if "composite" in scores:
            gradings[patient_id].append((at, scores["composite"]))
    changes: dict[str, list[float]] = defaultdict(list)
    for patient_id, kind, at in treatments:
        series = gradings.get(patient_id, [])
        before = [s for t, s in series if at - window <= t < at]
        after = [s for t, s in series if at < t <= at + window]
        if before and after:
            changes[kind].append(after[0] - before[-1])
    labels = dict(Encounter.Kind.choices)
    return [
        {
            "modality": labels[kind],
            "treatments": sum(1 for t in treatments if t[1] == kind),
            "paired": len(changes[kind]),
            "mean_change": round(sum(changes[kind]) / len(changes[kind]), 1) if changes[kind] else None,
        }
        for kind in OUTCOME_KINDS
    ]


def clinic_dashboard(*, weeks: int = DEFAULT_WEEKS, today: date | None = None) -> Dashboard:
    today = today or timezone.localdate()
    start = today - timedelta(weeks=weeks) + timedelta(days=1)
    providers, rooms = utilisation(start, today)
    return Dashboard(
        start=start,
        end=today,
        weeks=weekly_activity(start, today),
        providers=providers,
        rooms=rooms,
        recalls=recall_conversion(start, today),
        toxin=toxin_use(start, today),
        outcomes=outcome_change(start, today),
    )


# --- Charts: server-rendered SVG bars ----------------------------------------------------------

BAR_W, CHART_H, GAP, LABEL_H = 28, 140, 8, 36
# The labels' font size in the SVG's own units (clinic.css .dash-label) and a generous average
# character width for it: each bar's slot is wide enough for its label, so labels never overlap.
LABEL_FONT = 11
LABEL_CHAR_W = 0.62 * LABEL_FONT


def label_width(label: str) -> float:
    return round(len(label) * LABEL_CHAR_W, 1)


def bar_chart(*, values: list[tuple[str, float | None]], maximum: float | None = None) -> dict:
    """Bars for a template to draw: x, y, height and label per value (None draws no bar).

    The chart is drawn at its own size (``width`` x ``height`` CSS pixels, shrunk only to fit a
    narrow screen), never stretched to the page's width: a few bars stay a small chart. Every
    slot is as wide as the longest label, so neighbouring labels cannot overlap."""
    top = maximum or max((v for _, v in values if v is not None), default=0) or 1
    slot = max(BAR_W, *(label_width(label) for label, _ in values), 0) + GAP
    bars = []
    for index, (label, value) in enumerate(values):
        height = 0 if value is None else round(CHART_H * value / top, 1)
        centre = GAP / 2 + index * slot + slot / 2
        bars.append(
            {
                "x": round(centre - BAR_W / 2, 1),
                "y": round(CHART_H - height, 1),
                "height": height,
                "label": label,
                "value": value,
                "label_x": round(centre, 1),
            }
        )
    return {
        "bars": bars,
        "width": round(GAP + len(values) * slot, 1),
        "height": CHART_H + LABEL_H,
        "bar_width": BAR_W,
        "slot": slot,
        "plot_height": CHART_H,
        "label_y": CHART_H + 18,
        "maximum": top,
    }


def csv_rows(board: Dashboard) -> list[list]:
    rows: list[list] = [["section", "item", "measure", "value"]]
    for w in board.weeks:
        item = w["week"].isoformat()
        rows += [
            ["appointments", item, "appointments", w["appointments"]],
            ["appointments", item, "cancelled", w["cancelled"]],
            ["appointments", item, "no_show", w["no_show"]],
            ["appointments", item, "no_show_rate_percent", w["no_show_rate"]],
        ]
    for section, items in (("provider_utilisation", board.providers), ("room_utilisation", board.rooms)):
        for u in items:
            rows += [
                [section, u["name"], "booked_hours", u["booked_hours"]],
                [section, u["name"], "available_hours", u["available_hours"]],
                [section, u["name"], "utilisation_percent", u["utilisation"]],
            ]
    for r in board.recalls["rows"]:
        rows += [
            ["recall_conversion", r["kind"], "sent", r["sent"]],
            ["recall_conversion", r["kind"], f"booked_within_{CONVERSION_DAYS}_days", r["booked"]],
            ["recall_conversion", r["kind"], "conversion_percent", r["rate"]],
        ]
    for t in board.toxin:
        item = f"{t['product']} lot {t['lot']}"
        rows += [["toxin_units", item, "units", t["units"]], ["toxin_units", item, "sessions", t["sessions"]]]
    for o in board.outcomes:
        rows += [
            ["outcome_change", o["modality"], "treatments", o["treatments"]],
            ["outcome_change", o["modality"], "paired_gradings", o["paired"]],
            ["outcome_change", o["modality"], "mean_sunnybrook_change", o["mean_change"]],
        ]
    return [["" if v is None else v for v in row] for row in rows]
