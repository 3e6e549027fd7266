"""Demo data: the clinic's rooms, providers, working hours and appointment types, and a busy
week of appointments around today for the active demo patients.

Idempotent: set-up rows are fetched by their natural keys; every demo appointment is marked in
the demo registry (clinic.demo), and the week is only filled when it holds no demo appointment
yet. Only demo patients are booked, and only those who agreed to appointment messages on some
channel, so their confirmations and reminders go out; appointments already in the diary (booked
through the app) are worked around, never moved. Future bookings get their reminders planned as
a booking at the desk would. A fixed random seed makes every run lay out the same way.
"""

import random
from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from clinic.demo import demo_ids, demo_mark_many
from devtools.demo.patients import demo_patients
from patients.models import MessagingConsent
from scheduling import clock
from scheduling.intervals import Busy
from scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Location,
    Provider,
    Room,
    TimeOff,
    WorkingHours,
)
from scheduling.rules import working_blocks
from scheduling.services import appointment_cancel, waitlist_add

SEED = 20270301

ROOMS = [
    ("Consultation 1", Room.Kind.CONSULTATION),
    ("Consultation 2", Room.Kind.CONSULTATION),
    ("Procedure 1", Room.Kind.PROCEDURE),
    ("Procedure 2", Room.Kind.PROCEDURE),
    ("Theatre", Room.Kind.THEATRE),
    ("Therapy 1", Room.Kind.THERAPY),
    ("Therapy 2", Room.Kind.THERAPY),
]

TYPES = [
    # code, name, minutes, per booking, buffer, roles, room kind, toxin, colour, follow-up plan
    (
        "consultation",
        "New patient consultation",
        60,
        False,
        0,
        ["surgeon"],
        "consultation",
        False,
        "#1f5fa8",
        [],
    ),
    (
        "follow_up",
        "Follow-up",
        20,
        False,
        0,
        ["injector", "surgeon", "therapist"],
        "consultation",
        False,
        "#5b6577",
        [],
    ),
    (
        "toxin",
        "Botulinum toxin session",
        30,
        False,
        10,
        ["injector", "surgeon"],
        "procedure",
        True,
        "#8a3ffc",
        [],
    ),
    ("therapy", "NMRT therapy visit", 45, False, 0, ["therapist"], "therapy", False, "#1e7a4c", []),
    (
        "surgery",
        "Surgery",
        90,
        True,
        30,
        ["surgeon"],
        "theatre",
        False,
        "#b42318",
        [
            {"after_days": 7, "appointment_type": "post_op", "label": "1 week"},
            {"after_days": 42, "appointment_type": "post_op", "label": "6 weeks"},
            {"after_days": 91, "appointment_type": "post_op", "label": "3 months"},
        ],
    ),
    ("post_op", "Post-operative check", 20, False, 0, ["surgeon"], "consultation", False, "#c2410c", []),
]

# username -> (role, colour, {weekday: [(start, end), ...]})
PROVIDERS = {
    "surgeon": (
        "surgeon",
        "#1f5fa8",
        {0: [(9, 17)], 1: [(8.5, 12.5), (13.5, 17.5)], 2: [(8, 18)], 3: [(9, 13)], 4: [(9, 16)]},
    ),
    "surgeon2": ("surgeon", "#0f766e", {0: [(9, 17)], 1: [(9, 17)], 2: [(9, 17)], 3: [(9, 17)]}),
    "injector": (
        "injector",
        "#8a3ffc",
        {0: [(8.5, 16.5)], 1: [(8.5, 16.5)], 2: [(8.5, 12), (13, 17)], 3: [(8.5, 16.5)], 4: [(8.5, 14)]},
    ),
    "therapist": ("therapist", "#1e7a4c", {d: [(9, 17)] for d in range(5)}),
    "therapist2": ("therapist", "#a16207", {0: [(10, 18)], 1: [(9, 13)], 2: [(10, 18)], 4: [(10, 18)]}),
}

# What each role mostly does: (type code, weight). The surgeon's Wednesday is a theatre day.
MIX = {
    "surgeon": [("consultation", 3), ("follow_up", 3), ("toxin", 2), ("post_op", 2)],
    "injector": [("toxin", 8), ("follow_up", 2)],
    "therapist": [("therapy", 9), ("follow_up", 1)],
}
THEATRE_DAY = 2


def _wall(hours: float) -> time:
    return time(int(hours), round((hours % 1) * 60))


def seed(*, staff: dict, stdout) -> None:
    with transaction.atomic():
        location = _setup(staff)
        created = _busy_week(staff, location)
        _contact_details(location)
    stdout.write(f"scheduling: {created} demo appointments around today.")


def ensure_appointment_types() -> dict[str, AppointmentType]:
    """The clinic's appointment types (TYPES), created where missing, existing ones left as
    they are; by code."""
    for code, name, minutes, per_booking, buffer, roles, kind, toxin, colour, plan in TYPES:
        AppointmentType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "duration_minutes": minutes,
                "duration_set_per_booking": per_booking,
                "buffer_after_minutes": buffer,
                "provider_roles": roles,
                "room_kind": kind,
                "is_toxin": toxin,
                "colour": colour,
                "follow_up_plan": plan,
            },
        )
    return {t.code: t for t in AppointmentType.objects.filter(code__in=[row[0] for row in TYPES])}


def _setup(staff: dict) -> Location:
    location, _ = Location.objects.get_or_create(
        name="Main clinic", defaults={"address": "1 Facial Nerve Way, London"}
    )
    for name, kind in ROOMS:
        Room.objects.get_or_create(location=location, name=name, defaults={"kind": kind})
    ensure_appointment_types()
    for username, (role, colour, week) in PROVIDERS.items():
        user = staff.get(username)
        if user is None:
            continue
        provider, created = Provider.objects.get_or_create(
            user=user, defaults={"role": role, "colour": colour}
        )
        if created:
            WorkingHours.objects.bulk_create(
                WorkingHours(
                    provider=provider, location=location, weekday=day, start_time=_wall(a), end_time=_wall(b)
                )
                for day, blocks in week.items()
                for a, b in blocks
            )
    # Ms Raman is at a conference at the end of next week.
    surgeon2 = Provider.objects.filter(user=staff.get("surgeon2")).first()
    if surgeon2 and not TimeOff.objects.filter(provider=surgeon2, reason="Conference").exists():
        monday = clock.local_today() - timedelta(days=clock.local_today().weekday())
        TimeOff.objects.create(
            provider=surgeon2,
            starts_at=clock.at(monday + timedelta(days=9), time(0)),
            ends_at=clock.at(monday + timedelta(days=11), time(0)),
            reason="Conference",
        )
    return location


def _busy_week(staff: dict, location: Location) -> int:
    today = clock.local_today()
    first, last = today - timedelta(days=3), today + timedelta(days=4)
    window = (clock.day_bounds(first)[0], clock.day_bounds(last)[1])
    demo_appointments = Appointment.objects.filter(pk__in=demo_ids(Appointment, prefix="appointment:"))
    if demo_appointments.filter(starts_at__gte=window[0], starts_at__lt=window[1]).exists():
        return 0
    patients = list(
        demo_patients()
        .filter(status="active")
        .filter(consents__purpose=MessagingConsent.Purpose.APPOINTMENT_REMINDERS, consents__granted=True)
        .distinct()
        .order_by("pk")
    )
    if not patients:
        return 0
    rng = random.Random(SEED)
    types = {t.code: t for t in AppointmentType.objects.all()}
    rooms_by_kind: dict[str, list[Room]] = {}
    for room in Room.objects.filter(location=location, is_active=True).order_by("name"):
        rooms_by_kind.setdefault(room.kind, []).append(room)
    providers = list(Provider.objects.filter(is_active=True, user__in=staff.values()).select_related("user"))
    hours = {p.pk: list(WorkingHours.objects.filter(provider=p, location=location)) for p in providers}
    away = {
        p.pk: list(TimeOff.objects.filter(provider=p).values_list("starts_at", "ends_at")) for p in providers
    }
    taken: dict[int, list] = {}
    # Patients who had toxin recently (before this week) are not injected again in it.
    toxin_done = set(
        Appointment.objects.filter(
            appointment_type__is_toxin=True,
            status__in=Appointment.ACTIVE_STATUSES,
            starts_at__gte=window[0] - timedelta(days=84),
        ).values_list("patient_id", flat=True)
    )
    room_busy: dict[int, list] = {}
    patient_busy: dict[int, list] = {}
    # What the diary already holds (booked through the app): the demo works around it.
    for pk, room_id, patient_id, start, end, blocked in Appointment.objects.filter(
        status__in=Appointment.ACTIVE_STATUSES, starts_at__lt=window[1], blocked_until__gt=window[0]
    ).values_list("provider_id", "room_id", "patient_id", "starts_at", "ends_at", "blocked_until"):
        room_busy.setdefault(room_id, []).append((start, blocked))
        patient_busy.setdefault(patient_id, []).append((start, end))
        taken.setdefault(pk, []).append((start, blocked))
    away = {pk: Busy([*away[pk], *taken.get(pk, [])]) for pk in away}
    now = timezone.now()
    booker = staff.get("frontdesk")
    rows: list[Appointment] = []
    for day in clock.dates_between(first, last):
        for provider in providers:
            for block in working_blocks(hours[provider.pk], day):
                cursor = block.start
                while cursor < block.end:
                    if rng.random() < 0.18:  # a free gap in the diary
                        cursor += clock.GRID * rng.choice((1, 2))
                        continue
                    appt = _one(rng, provider, day, cursor, block, types, rooms_by_kind, room_busy)
                    if appt is None or not away[provider.pk].is_free(appt.starts_at, appt.blocked_until):
                        cursor += clock.GRID
                        continue
                    patient = _free_patient(rng, patients, patient_busy, appt, toxin_done)
                    if patient is None:
                        cursor += clock.GRID
                        continue
                    appt.patient = patient
                    appt.status = _status(rng, appt, now)
                    appt.booked_by = booker
                    appt.created_at = appt.starts_at - timedelta(days=rng.randint(3, 40))
                    if appt.status == Appointment.Status.CANCELLED:
                        appt.cancellation_reason = rng.choice(
                            ("Unwell", "Work commitment", "Travel problems")
                        )
                    else:
                        room_busy.setdefault(appt.room_id, []).append((appt.starts_at, appt.blocked_until))
                        patient_busy.setdefault(patient.pk, []).append((appt.starts_at, appt.ends_at))
                        if appt.appointment_type.is_toxin:
                            toxin_done.add(patient.pk)
                    rows.append(appt)
                    cursor = clock.ceil_to_grid(max(appt.blocked_until, cursor + clock.GRID))
    bulk_create_with_history(rows, Appointment, default_user=booker)
    demo_mark_many([(a, f"appointment:{a.provider.user.username}:{a.starts_at:%Y%m%dT%H%M}") for a in rows])
    _events(rows, booker)
    _plan_messages(rows, now)
    _waitlist(staff, types, patients, rows, now)
    return len(rows)


def _plan_messages(rows: list[Appointment], now) -> None:
    """Future bookings get what a booking at the desk gets: the confirmation (sent at the next
    dispatch, so the outbox shows it), the reminder and, before toxin, the questionnaire."""
    from scheduling.reminders.services import messages_plan_for_appointment

    for appt in rows:
        if appt.starts_at > now and appt.status in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
            messages_plan_for_appointment(appointment=appt, event="booked", now=now)


def _one(rng, provider, day, start, block, types, rooms_by_kind, room_busy) -> Appointment | None:
    if provider.role == "surgeon" and day.weekday() == THEATRE_DAY:
        appointment_type = types["surgery"]
        minutes = rng.choice((60, 90, 120, 150))
    else:
        codes, weights = zip(*MIX[provider.role], strict=True)
        appointment_type = types[rng.choices(codes, weights)[0]]
        minutes = appointment_type.duration_minutes
    end = start + timedelta(minutes=minutes)
    blocked = end + timedelta(minutes=appointment_type.buffer_after_minutes)
    if end > block.end:
        return None
    room = next(
        (
            r
            for r in rooms_by_kind.get(appointment_type.room_kind, [])
            if Busy(room_busy.get(r.pk, ())).is_free(start, blocked)
        ),
        None,
    )
    if room is None:
        return None
    return Appointment(
        appointment_type=appointment_type,
        provider=provider,
        room=room,
        starts_at=start,
        ends_at=end,
        blocked_until=blocked,
    )


def _free_patient(rng, patients, patient_busy, appt, toxin_done):
    for _ in range(12):
        patient = rng.choice(patients)
        if appt.appointment_type.is_toxin and patient.pk in toxin_done:
            continue
        if Busy(patient_busy.get(patient.pk, ())).is_free(appt.starts_at, appt.ends_at):
            return patient
    return None


def _status(rng, appt, now) -> str:
    Status = Appointment.Status
    if appt.ends_at <= now:
        return rng.choices((Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED), (90, 6, 4))[0]
    if appt.starts_at <= now:
        return Status.CHECKED_IN
    if appt.starts_at - now < timedelta(minutes=30):
        return rng.choice((Status.CHECKED_IN, Status.CONFIRMED))
    return rng.choices((Status.BOOKED, Status.CONFIRMED, Status.CANCELLED), (55, 42, 3))[0]


def _events(rows: list[Appointment], booker) -> None:
    """The history each appointment would have: booked, then how it went."""
    Status = Appointment.Status
    events = []
    for appt in rows:
        events.append(
            AppointmentEvent(
                appointment=appt, action="booked", to_status=Status.BOOKED, at=appt.created_at, by=booker
            )
        )
        steps = {
            Status.CONFIRMED: [("confirmed", Status.BOOKED, Status.CONFIRMED, -timedelta(days=2))],
            Status.CHECKED_IN: [("checked_in", Status.BOOKED, Status.CHECKED_IN, -timedelta(minutes=10))],
            Status.COMPLETED: [
                ("checked_in", Status.BOOKED, Status.CHECKED_IN, -timedelta(minutes=10)),
                ("completed", Status.CHECKED_IN, Status.COMPLETED, appt.ends_at - appt.starts_at),
            ],
            Status.NO_SHOW: [("no_show", Status.BOOKED, Status.NO_SHOW, timedelta(minutes=20))],
            Status.CANCELLED: [("cancelled", Status.BOOKED, Status.CANCELLED, -timedelta(days=1))],
        }.get(appt.status, [])
        for action, before, after, offset in steps:
            events.append(
                AppointmentEvent(
                    appointment=appt,
                    action=action,
                    from_status=before,
                    to_status=after,
                    at=appt.starts_at + offset,
                    by=booker,
                    reason=appt.cancellation_reason if action == "cancelled" else "",
                )
            )
    AppointmentEvent.objects.bulk_create(events)


def _waitlist(staff, types, patients, rows, now) -> None:
    """Two patients waiting for an earlier slot, and a cancellation that offers them one."""
    booker = staff.get("frontdesk")
    future = [
        a
        for a in rows
        if a.starts_at > now + timedelta(days=1)
        and a.status in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED)
    ]
    busy_patients = {a.patient_id for a in rows}
    # Two patients, the least busy first: one waiting for toxin, one for a consultation.
    waiting = sorted(patients, key=lambda p: p.pk in busy_patients)[:2]
    for patient, code in zip(waiting, ("toxin", "consultation"), strict=False):
        if not patient.waitlist_entries.filter(status="waiting").exists():
            waitlist_add(
                patient=patient, appointment_type=types[code], actor=booker, notes="Any weekday morning"
            )
    waiting_ids = {p.pk for p in waiting}
    freed = next(
        (a for a in future if a.appointment_type.code == "consultation" and a.patient_id not in waiting_ids),
        None,
    )
    if freed is not None:
        appointment_cancel(
            appointment=freed, reason="Moved abroad for work", cancelled_by="patient", actor=booker
        )


def _contact_details(location: Location) -> None:
    """The clinic's phone and address for the patient pages and emails, where none is set yet
    (a number reserved for drama, so nobody real is called)."""
    from clinic.models import ClinicSettings

    ClinicSettings.load()
    ClinicSettings.objects.filter(pk=1, clinic_phone="", clinic_address="").update(
        clinic_phone="+44 20 7946 0000", clinic_address=location.address
    )
