"""What the HTTP benchmark sends: the endpoints, and requests made from the database's own rows.

Each endpoint is replayed from a list of prepared requests (random patients, dates, search
terms), so that no cache or plan sees the same request twice in a row. Reads are chosen without
writing anything. The two writing endpoints are prepared so that every request should succeed:
bookings go into distinct free slots near the end of the booking horizon (found with the same
availability search the clinic uses, so a rerun simply takes the slots that are still free),
and toxin sessions are recorded for patients with no session inside the reinjection interval
(so a rerun picks other patients).

Sampling never sorts a big table at random: it draws random ids between the smallest and the
largest and keeps those that exist, which costs a few index lookups on a million patients.
"""

import contextlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Max, Min

from clinic.models import ClinicSettings
from patients.api import SEARCH_LIMIT
from patients.chart import panel_keys
from patients.models import Patient
from patients.selectors import patient_search
from scheduling import clock
from scheduling.availability import availability_for
from scheduling.models import Appointment, AppointmentType, Provider
from scheduling.reminders.selectors import Bucket
from treatments.models import Encounter, ToxinLot

Request = tuple[str, str, str | None]  # method, path with query string, JSON body or None

# Who the benchmark signs in as: a surgeon may do everything measured here (search, chart,
# calendars, booking, the recall worklist, recording toxin sessions).
BENCH_ROLE = "surgeon"
BOOKING_NOTE = "Benchmark booking"
TOXIN_NOTE = "Benchmark toxin session"


@dataclass(frozen=True)
class Endpoint:
    name: str
    title: str
    # "api" (token), "page" (session cookie), "baseline" (anonymous) or "bare" (anonymous, the
    # bare app's server)
    kind: str
    method: str
    example: str  # the route, for the report
    expect: tuple[int, ...] = (200,)
    writes: bool = False
    # Targets that read this endpoint's figures (see report.TARGETS).
    list_or_detail: bool = False
    # Also measured at half its saturation rate with a constant arrival rate (latency targets).
    half_rate: bool = False
    # Which baselines its ratios are given against.
    baselines: tuple[str, ...] = ("baseline_bare", "baseline_pk")
    # Its throughput target, as a fraction of the bare Django app's (report.targets).
    min_bare_ratio: float = 0.1


BASELINES = [
    # A separate Django application with no middleware and one query (bench/bare.py), on its
    # own gunicorn with the same configuration and workers: the floor every ratio is read from.
    Endpoint(
        "baseline_bare",
        "Bare Django app: no middleware, one query",
        "bare",
        "GET",
        "/bench/bare/<id>/",
        baselines=(),
    ),
    # The same query through this application's whole request path: what the path costs.
    Endpoint(
        "baseline_query",
        "This app's request path, the bare app's one query",
        "baseline",
        "GET",
        "/bench/baseline/query/<id>/",
        baselines=("baseline_bare",),
        min_bare_ratio=0.5,
    ),
    Endpoint(
        "baseline_plain", "Bare Django view, constant JSON", "baseline", "GET", "/bench/baseline/plain/"
    ),
    Endpoint(
        "baseline_pk",
        "Bare Django view, one primary-key lookup",
        "baseline",
        "GET",
        "/bench/baseline/pk/<id>/",
    ),
    Endpoint("baseline_drf", "Bare DRF view, constant data", "baseline", "GET", "/bench/baseline/drf/"),
]

_API = ("baseline_bare", "baseline_pk", "baseline_drf")

ENDPOINTS = [
    Endpoint(
        "patient_list",
        "Patient list, unfiltered",
        "api",
        "GET",
        "/api/v1/patients/?page_size=20&page=<1-3>",
        list_or_detail=True,
        baselines=_API,
        min_bare_ratio=0.3,
    ),
    Endpoint(
        "patient_detail",
        "Patient detail",
        "api",
        "GET",
        "/api/v1/patients/<id>/",
        list_or_detail=True,
        baselines=_API,
        min_bare_ratio=0.3,
    ),
    Endpoint(
        "patient_search",
        "Patient search",
        "api",
        "GET",
        "/api/v1/patients/?search=<name, typo, MRN, date of birth>",
        list_or_detail=True,
        baselines=_API,
    ),
    Endpoint("patient_chart", "Patient chart", "page", "GET", "/patients/<id>/", list_or_detail=True),
    # The chart's panels load apart, as each scrolls into view: one request per panel.
    Endpoint(
        "chart_panel",
        "Patient chart, one panel",
        "page",
        "GET",
        "/patients/<id>/panels/<each panel in turn>/",
        list_or_detail=True,
    ),
    Endpoint(
        "day_calendar",
        "Day calendar, all providers",
        "page",
        "GET",
        "/schedule/?date=<day>",
        list_or_detail=True,
    ),
    Endpoint(
        "week_calendar",
        "Week calendar, one provider",
        "page",
        "GET",
        "/schedule/week/?provider=<id>&date=<day>",
        list_or_detail=True,
    ),
    Endpoint(
        "room_calendar",
        "Room calendar, a day",
        "page",
        "GET",
        "/schedule/rooms/?date=<day>",
        list_or_detail=True,
    ),
    Endpoint(
        "availability_2w",
        "Availability, two weeks",
        "api",
        "GET",
        "/api/v1/availability/?appointment_type=<code>&date_from=<d>&date_to=<d+13>",
        half_rate=True,
        baselines=_API,
    ),
    Endpoint(
        "appointment_list",
        "Appointment list",
        "api",
        "GET",
        "/api/v1/appointments/?date_from=<d>&date_to=<d+6>",
        list_or_detail=True,
        baselines=_API,
    ),
    Endpoint(
        "recall_worklist", "Recall worklist", "page", "GET", "/recalls/?bucket=<bucket>", list_or_detail=True
    ),
    Endpoint(
        "booking",
        "Booking",
        "api",
        "POST",
        "POST /api/v1/appointments/ (distinct free slots)",
        expect=(201,),
        writes=True,
        half_rate=True,
        baselines=_API,
    ),
    Endpoint(
        "toxin_session_create",
        "Toxin session create",
        "api",
        "POST",
        "POST /api/v1/toxin-sessions/ (two-row injection map)",
        expect=(201,),
        writes=True,
        baselines=_API,
    ),
]

ALL = {e.name: e for e in [*BASELINES, *ENDPOINTS]}


@dataclass
class Workload:
    requests: list[Request]
    note: str = ""
    skipped: str = ""  # why the endpoint cannot be measured on this database
    extra: dict = field(default_factory=dict)


# --- sampling ---------------------------------------------------------------------------------


def sample_patients(rng: random.Random, n: int) -> list[Patient]:
    """Up to n distinct active patients, drawn at random by id."""
    bounds = Patient.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    found: dict[int, Patient] = {}
    for _ in range(20):
        wanted = n - len(found)
        if wanted <= 0:
            break
        span = bounds["high"] - bounds["low"] + 1
        ids = {rng.randint(bounds["low"], bounds["high"]) for _ in range(min(span, wanted * 2))}
        for patient in Patient.objects.filter(pk__in=ids - found.keys(), status=Patient.Status.ACTIVE):
            found[patient.pk] = patient
        if len(found) >= span:
            break
    patients = sorted(found.values(), key=lambda p: p.pk)
    rng.shuffle(patients)
    return patients[:n]


def _typo(rng: random.Random, word: str) -> str:
    """One slip of the kind people make: a dropped, doubled or swapped letter."""
    word = word.lower()
    if len(word) < 5:
        return word
    i = rng.randint(1, len(word) - 3)
    slip = rng.choice(["drop", "double", "swap"])
    if slip == "drop":
        return word[:i] + word[i + 1 :]
    if slip == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def search_terms(rng: random.Random, patients: list[Patient]) -> list[str]:
    """What the front desk types: names (often misspelt), part names, MRNs, dates of birth."""
    terms = []
    for i, p in enumerate(patients):
        first, last = p.first_name.strip(), p.last_name.strip()
        kind = i % 6
        if kind == 0:
            terms.append(f"{_typo(rng, first)} {_typo(rng, last)}")
        elif kind == 1:
            terms.append(last.lower())
        elif kind == 2:
            terms.append(f"{first[:3]} {last[:4]}".lower())
        elif kind == 3:
            terms.append(p.mrn)
        elif kind == 4:
            terms.append(f"{last} {p.date_of_birth:%d/%m/%Y}")
        else:
            terms.append(f"{first} {last}")
    return [t for t in terms if t.strip()]


def _get(path: str, **params) -> Request:
    return ("GET", f"{path}?{urlencode(params)}" if params else path, None)


def _weekdays(first: date, last: date) -> list[date]:
    return [d for d in clock.dates_between(first, last) if d.weekday() < 5]


# --- the workloads ----------------------------------------------------------------------------


def build(
    name: str, *, rng: random.Random, patients: list[Patient], max_writes: int, now: datetime
) -> Workload:
    return _BUILDERS[name](rng=rng, patients=patients, max_writes=max_writes, now=now)


def _baseline_plain(**_) -> Workload:
    return Workload([("GET", "/bench/baseline/plain/", None)])


def _baseline_drf(**_) -> Workload:
    return Workload([("GET", "/bench/baseline/drf/", None)])


def _baseline_bare(*, patients, **_) -> Workload:
    if not patients:
        return Workload([], skipped="no patients in the database")
    return Workload([("GET", f"/bench/bare/{p.pk}/", None) for p in patients])


def _baseline_query(*, patients, **_) -> Workload:
    if not patients:
        return Workload([], skipped="no patients in the database")
    return Workload([("GET", f"/bench/baseline/query/{p.pk}/", None) for p in patients])


def _patient_list(**_) -> Workload:
    active = Patient.objects.filter(status=Patient.Status.ACTIVE).order_by()[:60].count()
    if not active:
        return Workload([], skipped="no active patients in the database")
    pages = [_get("/api/v1/patients/", page_size=20, page=n) for n in range(1, (active + 19) // 20 + 1)]
    return Workload(pages * 20, note="the first pages of 20 (up to three), unfiltered: every active patient")


def _patient_detail(*, patients, **_) -> Workload:
    if not patients:
        return Workload([], skipped="no patients in the database")
    return Workload([("GET", f"/api/v1/patients/{p.pk}/", None) for p in patients])


def _week_calendar(*, rng, now, **_) -> Workload:
    today = clock.local(now).date()
    providers = list(Provider.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    if not providers:
        return Workload([], skipped="no active provider")
    requests = []
    for _ in range(200):
        day = today + timedelta(days=rng.randint(-28, 28))
        requests.append(_get("/schedule/week/", provider=rng.choice(providers), date=day.isoformat()))
    return Workload(requests, note="a random provider's week within 4 weeks of today")


def _room_calendar(*, rng, now, **_) -> Workload:
    today = clock.local(now).date()
    days = _weekdays(today - timedelta(days=28), today + timedelta(days=28))
    rng.shuffle(days)
    requests = [_get("/schedule/rooms/", date=d.isoformat()) for d in days]
    return Workload(requests, note="weekdays within 4 weeks")


def _baseline_pk(*, patients, **_) -> Workload:
    if not patients:
        return Workload([], skipped="no patients in the database")
    return Workload([("GET", f"/bench/baseline/pk/{p.pk}/", None) for p in patients])


def _patient_search(*, rng, patients, **_) -> Workload:
    terms = search_terms(rng, patients)
    if not terms:
        return Workload([], skipped="no patients in the database")
    return Workload([_get("/api/v1/patients/", search=t) for t in terms], extra={"terms": terms})


def _patient_chart(*, patients, **_) -> Workload:
    if not patients:
        return Workload([], skipped="no patients in the database")
    return Workload([("GET", f"/patients/{p.pk}/", None) for p in patients])


def _chart_panel(*, patients, **_) -> Workload:
    if not patients:
        return Workload([], skipped="no patients in the database")
    keys = panel_keys()
    requests = [("GET", f"/patients/{p.pk}/panels/{key}/", None) for p in patients for key in keys]
    return Workload(requests, note=f"panels {', '.join(keys)} of each sampled patient")


def _day_calendar(*, rng, now, **_) -> Workload:
    today = clock.local(now).date()
    days = _weekdays(today - timedelta(days=28), today + timedelta(days=28))
    rng.shuffle(days)
    return Workload([_get("/schedule/", date=d.isoformat()) for d in days], note="weekdays within 4 weeks")


def _availability(*, rng, now, **_) -> Workload:
    today = clock.local(now).date()
    codes = [t.code for t in _bookable(AppointmentType.objects.filter(is_active=True).order_by("code"))]
    if not codes:
        return Workload([], skipped="no bookable appointment type")
    requests = []
    for _ in range(200):
        start = today + timedelta(days=rng.randint(1, 60))
        requests.append(
            _get(
                "/api/v1/availability/",
                appointment_type=rng.choice(codes),
                date_from=start.isoformat(),
                date_to=(start + timedelta(days=13)).isoformat(),
            )
        )
    return Workload(requests, note=f"types {', '.join(codes)}; start within 60 days")


def _appointment_list(*, rng, now, **_) -> Workload:
    today = clock.local(now).date()
    starts = [today + timedelta(days=d) for d in range(-28, 29)]
    rng.shuffle(starts)
    requests = [
        _get("/api/v1/appointments/", date_from=d.isoformat(), date_to=(d + timedelta(days=6)).isoformat())
        for d in starts
    ]
    return Workload(requests, note="one week each, starting within 4 weeks of today")


def _recall_worklist(**_) -> Workload:
    buckets = [Bucket.DUE, Bucket.OVERDUE, Bucket.UPCOMING]
    return Workload([_get("/recalls/", bucket=b) for b in buckets], note="buckets due, overdue, upcoming")


def booking_type() -> AppointmentType | None:
    """A type without the toxin interval rule (which would refuse most random patients), with
    providers who can take it: a follow-up if the clinic has one."""
    candidates = _bookable(
        AppointmentType.objects.filter(is_active=True, is_toxin=False).order_by("duration_minutes", "code")
    )
    preferred = [t for t in candidates if t.code == "follow_up"] + candidates
    return preferred[0] if preferred else None


def _bookable(types) -> list[AppointmentType]:
    """Those of ``types`` that an active provider may take (one query for the roles)."""
    roles = set(Provider.objects.filter(is_active=True).values_list("role", flat=True))
    return [t for t in types if roles.intersection(t.provider_roles)]


def _booking(*, rng, patients, max_writes, now, **_) -> Workload:
    appointment_type = booking_type()
    if appointment_type is None:
        return Workload([], skipped="no bookable appointment type without the toxin rule")
    if not patients:
        return Workload([], skipped="no patients in the database")
    horizon = ClinicSettings.load().booking_horizon_days
    today = clock.local(now).date()
    last = today + timedelta(days=horizon)
    # From the far end of the horizon backwards: clear of the clinic's real bookings, and a
    # rerun finds what the last run left free.
    first = max(today + timedelta(days=7), last - timedelta(days=90))
    slots = availability_for(appointment_type=appointment_type, date_from=first, date_to=last)
    if len(slots) < max_writes and first > today + timedelta(days=7):
        slots = availability_for(
            appointment_type=appointment_type, date_from=today + timedelta(days=7), date_to=last
        )
    buffer = timedelta(minutes=appointment_type.buffer_after_minutes)
    # Slots for different providers may name the same room: keep a set in which no provider
    # and no room is held twice at once (the search already kept the clinic's own bookings).
    held_until: dict[tuple[str, int], datetime] = {}
    chosen = []
    for slot in sorted(slots, key=lambda s: (s.start, s.provider.pk)):
        keys = [("provider", slot.provider.pk), ("room", slot.room.pk)]
        if any(held_until.get(k, slot.start) > slot.start for k in keys):
            continue
        for k in keys:
            held_until[k] = slot.end + buffer
        chosen.append(slot)
        if len(chosen) >= max_writes:
            break
    if not chosen:
        return Workload([], skipped=f"no free {appointment_type.code} slot in the booking horizon")
    # A patient is booked at most once a day, and never on a day they already have a booking.
    window = (
        clock.day_bounds(clock.local(chosen[0].start).date())[0],
        clock.day_bounds(clock.local(chosen[-1].start).date())[1],
    )
    busy: dict[int, set[date]] = defaultdict(set)
    for patient_id, starts_at in (
        Appointment.objects.active()
        .filter(patient_id__in=[p.pk for p in patients], starts_at__gte=window[0], starts_at__lt=window[1])
        .values_list("patient_id", "starts_at")
    ):
        busy[patient_id].add(clock.local(starts_at).date())
    requests = []
    cursor = 0
    for slot in chosen:
        day = clock.local(slot.start).date()
        for _ in range(len(patients)):
            patient = patients[cursor % len(patients)]
            cursor += 1
            if day not in busy[patient.pk]:
                busy[patient.pk].add(day)
                body = {
                    "patient": patient.pk,
                    "appointment_type": appointment_type.code,
                    "provider": slot.provider.pk,
                    "room": slot.room.pk,
                    "start": slot.start.isoformat(),
                    "notes": BOOKING_NOTE,
                }
                requests.append(("POST", "/api/v1/appointments/", json.dumps(body)))
                break
    rng.shuffle(requests)
    return Workload(
        requests,
        note=f"{appointment_type.code} slots from {clock.local(chosen[0].start):%Y-%m-%d} "
        f"to {clock.local(chosen[-1].start):%Y-%m-%d}",
        extra={"appointment_type": appointment_type.code, "free_slots": len(slots)},
    )


def _toxin_session_create(*, rng, patients, max_writes, now, **_) -> Workload:
    today = clock.local(now).date()
    lot = (
        ToxinLot.objects.filter(is_active=True, expiry_date__gt=today + timedelta(days=1))
        .order_by("-expiry_date", "pk")
        .first()
    )
    if lot is None:
        return Workload([], skipped="no unexpired toxin lot in the register")
    minimum = ClinicSettings.load().min_reinjection_interval_days
    occurred_at = now - timedelta(hours=1)
    recent = set(
        Encounter.objects.filter(
            kind="toxin",
            patient_id__in=[p.pk for p in patients],
            occurred_at__gt=occurred_at - timedelta(days=minimum + 1),
        ).values_list("patient_id", flat=True)
    )
    requests = []
    for patient in patients:
        if patient.pk in recent:
            continue
        body = {
            "patient": patient.pk,
            "occurred_at": occurred_at.isoformat(),
            "product": lot.product,
            "lot": lot.pk,
            "dilution_ml": "2.5",
            "note": TOXIN_NOTE,
            "injections": [
                {"muscle": "orbicularis_oculi_orbital", "side": "left", "units": "2.5", "points": 2},
                {"muscle": "mentalis", "side": "right", "units": "5", "points": 1},
            ],
        }
        requests.append(("POST", "/api/v1/toxin-sessions/", json.dumps(body)))
        if len(requests) >= max_writes:
            break
    if not requests:
        return Workload([], skipped="every sampled patient had a toxin session inside the interval")
    return Workload(requests, note=f"lot {lot.lot_number}; patients without a session for {minimum} days")


_BUILDERS = {
    "baseline_bare": _baseline_bare,
    "baseline_query": _baseline_query,
    "patient_list": _patient_list,
    "patient_detail": _patient_detail,
    "week_calendar": _week_calendar,
    "room_calendar": _room_calendar,
    "baseline_plain": _baseline_plain,
    "baseline_pk": _baseline_pk,
    "baseline_drf": _baseline_drf,
    "patient_search": _patient_search,
    "patient_chart": _patient_chart,
    "chart_panel": _chart_panel,
    "day_calendar": _day_calendar,
    "availability_2w": _availability,
    "appointment_list": _appointment_list,
    "recall_worklist": _recall_worklist,
    "booking": _booking,
    "toxin_session_create": _toxin_session_create,
}


def search_at_database(terms: list[str], *, repeat: int = 3) -> dict:
    """The patient search's SQL, as the API runs it, under EXPLAIN ANALYZE: planning + execution
    time per run (the common-name probe included), and any sequential scan of the patients
    table (the indexes must serve every kind of term)."""
    from django.core.exceptions import EmptyResultSet
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, seq_scans = [], []
    for term in terms:
        # A common name is probed first (patients.search._common_name): its query counts too.
        with CaptureQueriesContext(connection) as built:
            qs = patient_search(query=term, limit=SEARCH_LIMIT)
        statements = [(q["sql"], None) for q in built.captured_queries]
        # EmptyResultSet: Django answers without asking the database (nothing can match).
        with contextlib.suppress(EmptyResultSet):
            statements.append(qs.query.get_compiler(connection=connection).as_sql())
        for _ in range(repeat):
            total, scanned = 0.0, False
            for sql, params in statements:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                    plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                total += plan[0]["Planning Time"] + plan[0]["Execution Time"]
                scanned = scanned or bool(_seq_scans(plan[0]["Plan"]))
            times.append(total)
        if scanned:
            seq_scans.append(term)
    return {"terms": len(terms), "runs": len(times), "times_ms": times, "seq_scan_terms": seq_scans}


def _seq_scans(node: dict) -> list[str]:
    found = []
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") == Patient._meta.db_table:
        found.append(node["Relation Name"])
    for child in node.get("Plans", ()):
        found += _seq_scans(child)
    return found
