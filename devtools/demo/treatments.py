"""Demo clinical histories for the quick start (``python manage.py seed_demo``).

For each active demo patient (one the demo registry, clinic.demo, lists; never a patient
registered through the app) whose history was not laid yet: a consultation with baseline gradings, a
treatment plan, therapy visits with home programmes and advice to the injector, toxin sessions
every 12-16 weeks over one to three years with realistic maps (lower doses per site on the
affected side, the other side injected for balance), follow-up gradings that improve, a few
surgeries with post-operative plans; most records signed, the latest ones sometimes still
drafts. About a quarter of the treated patients had their last session about eleven weeks ago,
so their reinjection recall is due now.

Everything goes through the services, so the rules hold (intervals, lots, recalls, audit).
Idempotent: each history is marked in the registry when laid, and a patient who already has
clinical records is skipped too; open recalls are then linked to the demo diary's bookings;
lots and dose limits are found by their natural keys. Each patient's history comes from a
random generator seeded with their MRN, so it is the same on every run.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from clinic.demo import demo_has, demo_mark
from devtools.demo.patients import demo_patients
from patients.models import Patient
from scheduling.models import Appointment, Recall
from scheduling.services import recall_match_bookings
from treatments import face_diagram, services
from treatments.common import local_date
from treatments.interval import intervals, toxin_interval_check
from treatments.models import Assessment, Encounter, Product, ToxinDoseLimit, ToxinLot
from treatments.services.surgery import SURGERY
from treatments.services.therapy import THERAPY
from treatments.services.toxin import TOXIN

# (product, lot prefix, vial units, share of patients using it)
PRODUCTS = [
    (Product.ONABOTULINUMTOXIN_A, "C", 100, 0.7),
    (Product.INCOBOTULINUMTOXIN_A, "X", 100, 0.15),
    (Product.ABOBOTULINUMTOXIN_A, "D", 300, 0.15),
]
# Dysport units are about 2.5 to 3 times onabotulinumtoxinA units for the same effect.
UNIT_FACTOR = {Product.ABOBOTULINUMTOXIN_A: Decimal("2.5")}

DOSE_LIMITS = {
    Product.ONABOTULINUMTOXIN_A: ("70", "5", "Clinic policy for facial synkinesis"),
    Product.INCOBOTULINUMTOXIN_A: ("70", "5", "Clinic policy for facial synkinesis"),
    Product.ABOBOTULINUMTOXIN_A: ("200", "15", "Clinic policy for facial synkinesis"),
}

EXERCISES = [
    ("Small smile in the mirror, keeping the eye open", 10, 5, 3),
    ("Gentle eye closure without the mouth moving", 10, 5, 3),
    ("Lip pucker with the eye relaxed", 8, 3, 2),
    ("Cheek and chin massage", 1, 120, 2),
    ("Neck stretch, chin up and away", 5, 20, 2),
    ("Slow open-mouth smile, watching the neck", 8, 3, 2),
]
# How each exercise is done, as the patient reads it on their home-programme page.
HOW = {
    "Small smile in the mirror, keeping the eye open": (
        "Sit at a mirror. Smile slowly, only as far as the eye stays open, hold, then relax fully."
    ),
    "Gentle eye closure without the mouth moving": (
        "Close the eyes slowly and softly, watching that the mouth corner stays still."
    ),
    "Lip pucker with the eye relaxed": "Pucker as for a kiss, keeping the eye relaxed and open.",
    "Cheek and chin massage": "Small circles with two fingers over the cheek and chin, firm but not painful.",
    "Neck stretch, chin up and away": "Turn the chin up and away from the affected side to a stretch.",
    "Slow open-mouth smile, watching the neck": "A slow open smile; stop before the neck tightens.",
}
# Observed pattern -> (muscle the injector could target, on which side)
PATTERNS = [
    ("smiling", "eye", "orbicularis_oculi_orbital"),
    ("smiling", "neck", "platysma"),
    ("lip_pucker", "eye", "orbicularis_oculi_pretarsal"),
    ("eye_closure", "mouth_corner", "buccinator"),
    ("speaking", "chin", "mentalis"),
    ("eating", "tearing", None),
]


@dataclass
class Context:
    patient: Patient
    rng: random.Random
    staff: dict
    lots: dict
    now: datetime
    affected: str
    other: str
    severity: float
    product: str | None = None
    toxin_sessions: int = 0


def seed(*, staff: dict, stdout) -> None:
    patients = list(demo_patients().filter(status=Patient.Status.ACTIVE).order_by("pk"))
    if not patients:
        stdout.write("treatments: no demo patients, no clinical records created.")
        return
    lots = _lots(staff["manager"])
    _dose_limits(staff["manager"])
    done = set(Encounter.objects.values_list("patient_id", flat=True).distinct())
    done |= set(Assessment.objects.values_list("patient_id", flat=True).distinct())
    now = timezone.now()
    seeded = 0
    for patient in patients:
        key = f"treatments:history:{patient.mrn}"
        if patient.pk in done or demo_has(key):
            continue
        rng = random.Random(f"treatments-demo:{patient.mrn}")
        affected = (
            patient.affected_side
            if patient.affected_side in ("left", "right")
            else rng.choice(["left", "right"])
        )
        ctx = Context(
            patient=patient,
            rng=rng,
            staff=staff,
            lots=lots,
            now=now,
            affected=affected,
            other="right" if affected == "left" else "left",
            severity=rng.uniform(0.35, 0.9),
        )
        _history(ctx)
        demo_mark(patient, key)
        seeded += 1
    linked = _link_recalls(patients, staff.get("frontdesk"))
    stdout.write(
        f"treatments: clinical histories for {seeded} patients; {sum(len(v) for v in lots.values())} lots; "
        f"{linked} recalls linked to their bookings."
    )


def _link_recalls(patients: list[Patient], actor) -> int:
    """Open recalls that a booking in the demo diary already answers are marked booked, as the
    clinic's own paths do (``recall_match_bookings``): they leave the worklist and their
    reminders are held back."""
    linked = 0
    for recall in Recall.objects.filter(patient__in=patients, status=Recall.Status.OPEN).order_by("pk"):
        if recall_match_bookings(recall=recall, actor=actor) is not None:
            linked += 1
    return linked


# --- Lot register and dose limits --------------------------------------------------------------


def _lots(manager) -> dict[str, list[ToxinLot]]:
    """Lots expiring every ~5 months from three years ago to two years ahead (the old ones expired)."""
    today = timezone.localdate()
    lots: dict[str, list[ToxinLot]] = {}
    for product, prefix, vial_units, _share in PRODUCTS:
        lots[product] = []
        for n in range(13):
            expiry = date(today.year - 3, 6, 30) + timedelta(days=150 * n)
            number = f"{prefix}{expiry:%y%m}{n:02d}"
            lot = ToxinLot.objects.filter(product=product, lot_number=number).first()
            if lot is None:
                lot = services.toxin_lot_create(
                    actor=manager,
                    data={
                        "product": product,
                        "lot_number": number,
                        "expiry_date": expiry,
                        "vial_units": vial_units,
                        "supplier": "Demo Pharma Ltd",
                        "received_on": expiry - timedelta(days=540),
                    },
                )
            lots[product].append(lot)
    return lots


def _dose_limits(manager) -> None:
    for product, (session, site, note) in DOSE_LIMITS.items():
        if not ToxinDoseLimit.objects.filter(product=product).exists():
            services.dose_limit_set(
                product=product,
                actor=manager,
                data={
                    "max_units_per_session": Decimal(session),
                    "max_units_per_site": Decimal(site),
                    "note": note,
                },
            )


def _lot_for(ctx: Context, product: str, on: date) -> ToxinLot:
    """The lot in use on that day: received by then, the soonest to expire."""
    usable = [lot for lot in ctx.lots[product] if lot.received_on <= on <= lot.expiry_date]
    return min(usable, key=lambda lot: lot.expiry_date)


# --- One patient's history ---------------------------------------------------------------------


def _at(ctx: Context, day: date, hour: int) -> datetime:
    moment = timezone.make_aware(datetime.combine(day, time(hour, ctx.rng.choice([0, 15, 30, 45]))))
    return min(moment, ctx.now - timedelta(hours=1))


def _sign(detail, clinician) -> None:
    services.encounter_sign(encounter=detail.encounter, actor=clinician)


def _history(ctx: Context) -> None:
    rng, staff, today = ctx.rng, ctx.staff, local_date(ctx.now)
    start = today - timedelta(days=rng.randint(120, 1095))
    surgeon = staff[rng.choice(["surgeon", "surgeon2"])]
    therapist = staff[rng.choice(["therapist", "therapist2"])]
    appointments = _past_appointments(ctx)

    consultation = services.consultation_record(
        patient=ctx.patient,
        actor=surgeon,
        data={
            "occurred_at": _at(ctx, start, 10),
            "appointment": appointments.get(("consultation", start)),
            "history_of_palsy": f"{ctx.affected.capitalize()} palsy; synkinesis developed during recovery.",
            "examination": "Oral-ocular synkinesis on smiling; eye narrows on the affected side.",
            "symptoms": rng.choice(
                [
                    "Eye closes when smiling and eating.",
                    "Neck tightness and eye closure when smiling.",
                    "Chin dimpling and tight cheek; eye waters when eating.",
                ]
            ),
            "severity": "severe" if ctx.severity > 0.7 else "moderate" if ctx.severity > 0.45 else "mild",
            "goals": rng.choice(
                [
                    "A natural smile in photos.",
                    "Eating out without the eye closing.",
                    "Less facial tightness.",
                ]
            ),
            "plan_summary": "NMRT first, toxin every 12-16 weeks, surgery if needed.",
        },
    )
    _sign(consultation, surgeon)
    _gradings(ctx, start, surgeon, baseline=True)

    will_operate = rng.random() < 0.12
    plan = services.plan_create(
        patient=ctx.patient,
        actor=surgeon,
        data={
            "status": "active" if rng.random() < 0.9 else "draft",
            "goals": "Reduce synkinesis and improve the symmetry of the smile.",
            "modalities": ["therapy", "toxin", *(["surgery"] if will_operate else [])],
            "severity": consultation.severity,
            "lifestyle": rng.choice(["quick_results", "can_invest_time"]),
            "surgery_comfort": "comfortable"
            if will_operate
            else rng.choice(["hesitant", "declines", "comfortable"]),
            "previous_experience": rng.choice(
                ["", "Toxin elsewhere, wore off at 8 weeks.", "Some physiotherapy."]
            ),
            "stages": [
                {
                    "modality": "therapy",
                    "description": "3 months of NMRT",
                    "target_start": start,
                    "status": "done",
                },
                {"modality": "toxin", "description": "Toxin every 12-16 weeks", "status": "in_progress"},
                *(
                    [{"modality": "surgery", "description": "DAO excision if smile distortion remains"}]
                    if will_operate
                    else []
                ),
            ],
        },
    )
    stages = {s.modality: s for s in plan.stages.all()}

    toxin_dates = _toxin_dates(ctx, start, today)
    therapy_dates = [start + timedelta(days=14 * n + rng.randint(0, 4)) for n in range(rng.randint(3, 6))]
    therapy_dates += [d + timedelta(days=rng.randint(14, 35)) for d in toxin_dates[1::3]]
    surgery_date = None
    if will_operate and toxin_dates:
        surgery_date = today - timedelta(days=rng.randint(20, max(21, (today - start).days - 60)))

    events = sorted(
        [(d, "toxin") for d in toxin_dates]
        + [(d, "therapy") for d in therapy_dates if d < today - timedelta(days=2)]
        + ([(surgery_date, "surgery")] if surgery_date else [])
    )
    last_index = len(events) - 1
    for index, (day, kind) in enumerate(events):
        # The most recent notes are sometimes not signed yet.
        sign = not (index == last_index and rng.random() < 0.25)
        if kind == "toxin":
            _toxin_session(ctx, day, stages.get("toxin"), appointments.get(("toxin", day)), sign)
            if rng.random() < 0.35 and day + timedelta(days=14) < today:
                _gradings(ctx, day + timedelta(days=14), None, baseline=False, saq_only=True)
        elif kind == "therapy":
            _therapy_visit(ctx, day, therapist, stages.get("therapy"), sign)
        else:
            _surgery(ctx, day, surgeon, stages.get("surgery"), sign)
    # Follow-up gradings roughly every six months, showing change.
    day = start + timedelta(days=180)
    while day < today - timedelta(days=7):
        _gradings(ctx, day, surgeon, baseline=False)
        day += timedelta(days=rng.randint(160, 200))
    if toxin_dates and toxin_dates[-1] + timedelta(days=21) < today and rng.random() < 0.4:
        follow = services.follow_up_record(
            patient=ctx.patient,
            actor=surgeon,
            data={
                "occurred_at": _at(ctx, toxin_dates[-1] + timedelta(days=21), 15),
                "response": rng.choice(["much_better", "better", "better", "unchanged"]),
                "response_note": "Eye closure on smiling reduced; happy with the result.",
            },
        )
        _sign(follow, surgeon)
    _recent_appointment_encounters(ctx, appointments, stages)


def _recent_appointment_encounters(ctx: Context, appointments: dict, stages: dict) -> None:
    """Attended appointments of the last four months get the encounter recorded at them."""
    since = local_date(ctx.now) - timedelta(days=120)
    linked = set(Encounter.objects.filter(patient=ctx.patient).values_list("appointment_id", flat=True))
    for (code, day), appointment in sorted(appointments.items(), key=lambda kv: kv[1].starts_at):
        if day < since or appointment.pk in linked:
            continue
        user = appointment.provider.user
        common = {"occurred_at": appointment.starts_at, "appointment": appointment}
        if code == "toxin" and user.has_perm("clinic.record_toxin"):
            product = _product_for(ctx)
            # Asked of the rule's owner, as the clinic's own paths do: never an override.
            if not toxin_interval_check(
                patient_id=ctx.patient.pk, on=day, product=product, exclude_appointment_id=appointment.pk
            ).allowed:
                continue
            detail = services.encounter_record(
                TOXIN,
                patient=ctx.patient,
                actor=user,
                data={
                    **common,
                    "plan_stage": stages.get("toxin"),
                    "product": product,
                    "lot": _lot_for(ctx, product, day),
                    "dilution_ml": Decimal("2.5"),
                    "injections": _map(ctx, product),
                },
            )
        elif code == "therapy" and user.has_perm("clinic.record_therapy"):
            detail = services.encounter_record(
                THERAPY,
                patient=ctx.patient,
                actor=user,
                data={**common, "plan_stage": stages.get("therapy"), "techniques": ["mirror_exercises"]},
            )
        elif code in ("follow_up", "post_op") and user.has_perm("clinic.record_consultation"):
            detail = services.follow_up_record(
                patient=ctx.patient,
                actor=user,
                data={**common, "response": ctx.rng.choice(["better", "unchanged"])},
            )
        else:
            continue
        _sign(detail, user)


def _past_appointments(ctx: Context) -> dict:
    """The patient's attended appointments by (type code, date): encounters on those days link to them."""
    rows = Appointment.objects.filter(
        patient=ctx.patient,
        starts_at__lt=ctx.now,
        status__in=[Appointment.Status.COMPLETED, Appointment.Status.CHECKED_IN],
    ).select_related("appointment_type", "provider__user")
    return {(a.appointment_type.code, local_date(a.starts_at)): a for a in rows}


def _toxin_dates(ctx: Context, start: date, today: date) -> list[date]:
    """Sessions every 12-16 weeks, counted back from the last one; about a quarter of the
    patients had their last session ~11 weeks ago (recall due now)."""
    rng = ctx.rng
    offset = rng.randint(74, 79) if rng.random() < 0.25 else rng.randint(8, 110)
    day = today - timedelta(days=offset)
    # The demo obeys the reinjection rule like every other path: the last session keeps the
    # widest interval before the patient's first toxin booking still to come.
    own, default = intervals()
    widest = max([default, *own.values()])
    booked = (
        Appointment.objects.filter(
            patient=ctx.patient,
            appointment_type__is_toxin=True,
            status__in=Appointment.ACTIVE_STATUSES,
            starts_at__gte=ctx.now - timedelta(days=1),
        )
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    if booked is not None:
        day = min(day, local_date(booked) - timedelta(days=widest))
    first_possible = start + timedelta(days=rng.randint(28, 56))
    dates = []
    while day >= first_possible:
        dates.append(day)
        day -= timedelta(days=rng.randint(84, 112))
    return sorted(dates)


def _toxin_session(ctx: Context, day: date, stage, appointment, sign: bool) -> None:
    rng = ctx.rng
    product = _product_for(ctx)
    if not toxin_interval_check(
        patient_id=ctx.patient.pk,
        on=day,
        product=product,
        exclude_appointment_id=appointment.pk if appointment else None,
    ).allowed:
        return  # a toxin visit of the demo diary is too close: this history skips a session
    injector = ctx.staff[rng.choice(["injector", "injector", "surgeon"])]
    data = {
        "occurred_at": _at(ctx, day, rng.choice([9, 11, 14, 16])),
        "appointment": appointment,
        "plan_stage": stage,
        "product": product,
        "lot": _lot_for(ctx, product, day),
        "dilution_ml": Decimal("2.5") if product != Product.ABOBOTULINUMTOXIN_A else Decimal("1.5"),
        "injections": _map(ctx, product),
    }
    if ctx.toxin_sessions:
        data.update(
            {
                "response_onset_days": rng.randint(2, 7),
                "response_duration_weeks": rng.randint(9, 15),
                "response_ptosis": rng.random() < 0.04,
                "response_oral_incompetence": rng.random() < 0.05,
                "response_smile_weakness": rng.random() < 0.08,
            }
        )
    session = services.encounter_record(TOXIN, patient=ctx.patient, actor=injector, data=data)
    ctx.toxin_sessions += 1
    if sign:
        _sign(session, injector)


def _product_for(ctx: Context) -> str:
    # One product per patient, chosen once from their seed (never mixed within a map).
    if ctx.product is None:
        roll, total = ctx.rng.random(), 0.0
        ctx.product = PRODUCTS[0][0]
        for product, _prefix, _units, share in PRODUCTS:
            total += share
            if roll < total:
                ctx.product = product
                break
    return ctx.product


def _units(ctx: Context, low: float, high: float, product: str) -> Decimal:
    """Units per point, to the half unit a syringe can give, in the product's own units."""
    value = ctx.rng.uniform(low, high) * float(UNIT_FACTOR.get(product, 1))
    return Decimal(round(value * 2)) / 2


# Where each demo row is marked on the face diagram, for the patient's right side in the
# drawing's units (treatments.face_diagram); the left side is the mirror image.
DIAGRAM_POINTS = {
    "frontalis": (150, 100),
    "orbicularis_oculi_orbital": (92, 200),
    "orbicularis_oculi_pretarsal": (140, 186),
    "buccinator": (100, 335),
    "depressor_anguli_oris": (146, 400),
    "depressor_labii_inferioris": (176, 405),
    "mentalis": (194, 415),
    "platysma": (150, 480),
}


def _diagram_point(muscle: str, side: str) -> dict:
    x, y = DIAGRAM_POINTS[muscle]
    if side == "left":
        x = face_diagram.WIDTH - x
    return {
        "diagram_x": (Decimal(x) / face_diagram.WIDTH).quantize(Decimal("0.001")),
        "diagram_y": (Decimal(y) / face_diagram.HEIGHT).quantize(Decimal("0.001")),
    }


def _map(ctx: Context, product: str) -> list[dict]:
    """Affected side: 1.5-2.5 U per point; the other side 2.5-5 U per point for balance."""
    rng, affected, other = ctx.rng, ctx.affected, ctx.other
    rows = [
        ("orbicularis_oculi_orbital", affected, 2, 3),
        ("mentalis", affected, 1, 1),
        ("depressor_anguli_oris", affected, 1, 2),
    ]
    if ctx.severity > 0.5:
        rows.append(("platysma", affected, 4, 6))
    if rng.random() < 0.5:
        rows.append(("orbicularis_oculi_pretarsal", affected, 1, 2))
    if rng.random() < 0.3:
        rows.append(("buccinator", affected, 1, 2))
    rows += [("depressor_anguli_oris", other, 1, 1), ("frontalis", other, 2, 3)]
    if rng.random() < 0.4:
        rows.append(("depressor_labii_inferioris", other, 1, 1))
    result = []
    for muscle, side, low_points, high_points in rows:
        points = rng.randint(low_points, high_points)
        low, high = (1.5, 2.5) if side == affected else (2.5, 5.0)
        per_point = _units(ctx, low, high, product)
        result.append(
            {
                "muscle": muscle,
                "side": side,
                "units": per_point * points,
                "points": points,
                **_diagram_point(muscle, side),
            }
        )
    return result


def _therapy_visit(ctx: Context, day: date, therapist, stage, sign: bool) -> None:
    rng = ctx.rng
    patterns = rng.sample(PATTERNS, k=rng.randint(1, 3))
    exercises = rng.sample(EXERCISES, k=rng.randint(2, 4))
    recommendations = [
        {
            "muscle": muscle,
            "side": ctx.affected,
            "note": f"{trigger.replace('_', ' ')} moves the {region.replace('_', ' ')}",
        }
        for trigger, region, muscle in patterns
        if muscle and rng.random() < 0.5
    ]
    visit = services.encounter_record(
        THERAPY,
        patient=ctx.patient,
        actor=therapist,
        data={
            "occurred_at": _at(ctx, day, rng.choice([9, 10, 13, 15])),
            "plan_stage": stage,
            "techniques": rng.sample(
                [
                    "patient_education",
                    "mirror_exercises",
                    "semg_biofeedback",
                    "massage_stretching",
                    "mime_therapy",
                ],
                k=rng.randint(2, 3),
            ),
            "duration_minutes": rng.choice([45, 50, 60]),
            "adherence": rng.choice(["occasional", "most_days", "daily", "daily"]),
            "goals": "Separate eye closure from smiling.",
            "progress": rng.choice(
                ["Steady improvement.", "Better control in the mirror.", "Plateau this month."]
            ),
            "exercises": [
                {
                    "exercise": name,
                    "repetitions": reps,
                    "hold_seconds": hold,
                    "times_per_day": times,
                    "instructions": HOW.get(name, ""),
                }
                for name, reps, hold, times in exercises
            ],
            "patterns": [
                {"trigger": trigger, "region": region, "severity": rng.choice(["mild", "moderate"])}
                for trigger, region, _muscle in patterns
            ],
            "recommendations": recommendations,
        },
    )
    if sign:
        _sign(visit, therapist)


def _surgery(ctx: Context, day: date, surgeon, stage, sign: bool) -> None:
    rng = ctx.rng
    started = _at(ctx, day, 8)
    kind = rng.choice(["dao_excision", "dao_excision", "selective_neurolysis", "upper_eyelid"])
    procedure = {"kind": kind}
    anaesthesia = "local"
    if kind == "selective_neurolysis":
        anaesthesia = "general"
        procedure.update(
            {
                "branches_divided": "Two buccal branches driving the orbicularis oculi on smiling",
                "branches_preserved": "Zygomatic branches to zygomaticus major",
            }
        )
    elif kind == "upper_eyelid":
        procedure.update(
            {"gold_weight_grams": Decimal("1.2"), "implant_lot": f"GW-{rng.randint(1000, 9999)}"}
        )
    surgery = services.encounter_record(
        SURGERY,
        patient=ctx.patient,
        actor=surgeon,
        data={
            "started_at": started,
            "ended_at": started + timedelta(minutes=rng.randint(35, 150)),
            "plan_stage": stage,
            "side": ctx.affected,
            "anaesthesia": anaesthesia,
            "assistants": "Surgical registrar",
            "procedures": [procedure],
            "findings": "As expected from the examination.",
            "complications": [{"description": "Minor haematoma, managed conservatively", "grade": "I"}]
            if rng.random() < 0.15
            else [],
            "operative_note": "Procedure performed as planned; haemostasis; closure in layers.",
        },
    )
    if sign:
        _sign(surgery, surgeon)


# --- Gradings ----------------------------------------------------------------------------------


def _gradings(ctx: Context, day: date, clinician, *, baseline: bool, saq_only: bool = False) -> None:
    """Gradings at ``day``; severity eases over time with treatment."""
    rng = ctx.rng
    if not baseline:
        ctx.severity = max(0.1, ctx.severity * rng.uniform(0.82, 0.97))
    s = ctx.severity
    at = _at(ctx, day, 12)

    def clamp(value, low, high):
        return max(low, min(high, round(value)))

    saq = {f"saq_{n}": clamp(1 + 4 * s + rng.uniform(-0.8, 0.8), 1, 5) for n in range(1, 10)}
    services.assessment_record(patient=ctx.patient, instrument="saq", items=saq, assessed_at=at, actor=None)
    if saq_only:
        return
    expressions = ["brow_lift", "gentle_eye_closure", "open_mouth_smile", "snarl", "lip_pucker"]
    sunnybrook = {
        "rest_eye": "narrow" if s > 0.4 else "normal",
        "rest_cheek": "more_pronounced" if s > 0.5 else "normal",
        "rest_mouth": "corner_pulled_up_out" if s > 0.65 else "normal",
        **{f"voluntary_{e}": clamp(5 - 3 * s + rng.uniform(-0.7, 0.7), 1, 5) for e in expressions},
        **{f"synkinesis_{e}": clamp(3 * s + rng.uniform(-0.7, 0.7), 0, 3) for e in expressions},
    }
    services.assessment_record(
        patient=ctx.patient, instrument="sunnybrook", items=sunnybrook, assessed_at=at, actor=clinician
    )
    services.assessment_record(
        patient=ctx.patient,
        instrument="house_brackmann",
        items={"grade": clamp(2 + 3 * s, 1, 6)},
        assessed_at=at,
        actor=clinician,
    )
