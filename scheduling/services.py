"""Scheduling services: the rules for calendars, bookings and recalls live here."""

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinic.audit import acting_user, audit_record, changed_fields
from clinic.errors import Invalid, InvalidTransition
from clinic.models import ClinicSettings
from patients.exceptions import PatientInactive
from patients.models import Patient

from . import clock
from .constraints import PostgresExclusionConstraint
from .exceptions import (
    AlreadyWaiting,
    BadDuration,
    BeyondHorizon,
    InThePast,
    NotToday,
    OffGrid,
    OutsideWorkingHours,
    OverrideNotPermitted,
    ProviderNotAllowed,
    ReasonRequired,
    SlotUnavailable,
    TooEarly,
    TypeInactive,
    WrongRoom,
)
from .models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Provider,
    Recall,
    Room,
    TimeOff,
    WaitlistEntry,
    WaitlistOffer,
    WorkingHours,
)
from .reminders.services import (
    messages_cancel_for_recall,
    messages_plan_for_appointment,
    messages_plan_for_recall,
)
from .rules import toxin_schedule, working_blocks
from .tasks import messages_dispatch_after_commit

logger = logging.getLogger("scheduling.events")


@transaction.atomic
def recall_open(
    *,
    patient,
    kind: str,
    appointment_type_code: str,
    anchor_date: date,
    earliest_date: date,
    due_date: date,
    overdue_date: date,
    source: str,
    label: str = "",
    preferred_provider: Provider | None = None,
    actor=None,
) -> Recall:
    """Open a recall for a patient, or return the one already opened from the same source.

    Called by higher apps (a toxin session opens a reinjection recall, a surgery its post-op
    recalls). Idempotent: (patient, kind, source) is unique, so a retried call opens nothing new.
    """
    # A booking of the recalled kind made at the same moment either commits before us (and is
    # matched below) or waits for this lock and then finds the open recall (_recall_satisfy).
    patient_lock(patient.pk)
    existing = Recall.objects.filter(patient=patient, kind=kind, source=source).first()
    if existing is not None:
        return existing
    recall = Recall(
        patient=patient,
        kind=kind,
        appointment_type=AppointmentType.objects.get(code=appointment_type_code),
        preferred_provider=preferred_provider,
        anchor_date=anchor_date,
        earliest_date=max(earliest_date, anchor_date),
        due_date=max(due_date, earliest_date, anchor_date),
        overdue_date=max(overdue_date, due_date, earliest_date, anchor_date),
        source=source,
        label=label,
    )
    try:
        with transaction.atomic():
            recall.save()
    except IntegrityError:
        # Opened concurrently by another worker from the same source: that one stands.
        return Recall.objects.get(patient=patient, kind=kind, source=source)
    audit_record(
        actor=actor,
        action="recall.opened",
        target=recall,
        patient_id=patient.pk,
        changes={"kind": kind, "due_date": recall.due_date.isoformat(), "source": source},
    )
    # The patient may already have the recalled appointment booked (made at the end of the
    # session, before it was recorded): then the recall is booked at once and never reminds.
    recall_match_bookings(recall=recall, actor=actor)
    # The reminders are planned in the same transaction: a recall never exists without them.
    # While the recall is booked they are held back at send time; if the booking is cancelled
    # the recall reopens and they go out again.

    messages_plan_for_recall(recall=recall)
    return recall


def _recall_appointment_types(appointment_type: AppointmentType) -> Q:
    """The appointment types that satisfy a recall for ``appointment_type``: that type, and for
    a toxin recall any toxin appointment (the diary has more than one kind of toxin visit)."""
    if appointment_type.is_toxin:
        return Q(appointment_type__is_toxin=True)
    return Q(appointment_type_id=appointment_type.pk)


def recall_upcoming_booking(recall: Recall) -> Appointment | None:
    """The patient's next active appointment that satisfies ``recall`` and no other recall:
    booked on or after the recall's anchor date, not yet started."""
    start_of_anchor = clock.day_bounds(recall.anchor_date)[0]
    return (
        Appointment.objects.filter(patient_id=recall.patient_id, status__in=Appointment.ACTIVE_STATUSES)
        .filter(_recall_appointment_types(recall.appointment_type))
        .filter(starts_at__gte=max(start_of_anchor, timezone.now()))
        .exclude(satisfied_recalls__status=Recall.Status.BOOKED)
        .select_related("appointment_type", "provider__user", "room__location")
        .order_by("starts_at", "id")
        .first()
    )


def recall_match_bookings(*, recall: Recall, actor=None) -> Appointment | None:
    """Attach an open recall to the patient's upcoming booking of the recalled kind, if any.

    The one place that turns an existing booking into a booked recall; booking afterwards goes
    through ``_recall_satisfy``. Either way the recall leaves the due list and its reminders
    are held back.
    """
    if recall.status != Recall.Status.OPEN:
        return None
    appointment = recall_upcoming_booking(recall)
    if appointment is None:
        return None
    _recall_mark_booked(recall, appointment, actor=actor)
    return appointment


@transaction.atomic
def recall_supersede(*, patient, kind: str, keep_source: str, actor=None) -> int:
    """Complete the patient's other open recalls of ``kind``: a newer event (a new toxin session)
    replaces what they were waiting for. Their pending reminders are cancelled."""

    closed = 0
    for recall in (
        Recall.objects.select_for_update()
        .filter(patient=patient, kind=kind, status=Recall.Status.OPEN)
        .exclude(source=keep_source)
    ):
        recall.status = Recall.Status.COMPLETED
        recall.save(update_fields=["status", "updated_at"])
        messages_cancel_for_recall(recall=recall, reason="superseded by a newer recall")
        audit_record(
            actor=actor,
            action="recall.superseded",
            target=recall,
            patient_id=patient.pk,
            changes={"by": keep_source},
        )
        closed += 1
    return closed


# ---------------------------------------------------------------------------------------------
# Booking and the appointment lifecycle
# ---------------------------------------------------------------------------------------------

VIA_STAFF = "staff"
VIA_API = "api"
VIA_PATIENT_LINK = "patient_link"

# Surgery and other per-booking durations: a quarter hour to a long theatre list.
MIN_BOOKED_MINUTES = 15
MAX_BOOKED_MINUTES = 12 * 60

# Exclusion constraint name -> which resource was busy, for the error message (Appointment.Meta).
CONSTRAINT_RESOURCES = {
    c.name: c.resource for c in Appointment._meta.constraints if isinstance(c, PostgresExclusionConstraint)
}

Status = Appointment.Status

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset, str]] = {
    "confirm": (frozenset({Status.BOOKED}), Status.CONFIRMED),
    "check_in": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.CHECKED_IN),
    "no_show": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.NO_SHOW),
    "complete": (frozenset({Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN}), Status.COMPLETED),
    "cancel": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.CANCELLED),
}
# How each action is named in the event log and the audit trail.
PAST_TENSE = {
    "confirm": "confirmed",
    "check_in": "checked_in",
    "no_show": "no_show",
    "complete": "completed",
    "cancel": "cancelled",
}
RESCHEDULABLE = frozenset({Status.BOOKED, Status.CONFIRMED})

# Mistakes put right: from status -> statuses a correction (with a reason) may set. Each is a new
# event; nothing is overwritten (a no-show that cannot be corrected is a known failure elsewhere).
CORRECTIONS: dict[str, frozenset] = {
    Status.NO_SHOW: frozenset({Status.COMPLETED, Status.CHECKED_IN, Status.BOOKED}),
    Status.CHECKED_IN: frozenset({Status.BOOKED}),
    Status.COMPLETED: frozenset({Status.CHECKED_IN, Status.NO_SHOW}),
    Status.CANCELLED: frozenset({Status.BOOKED}),
}

CANCELLED_BY = ("patient", "clinic")


def _constraint_resource(exc: IntegrityError) -> str | None:
    """Which resource an exclusion-constraint violation was about, if it was one."""
    diag = getattr(exc.__cause__, "diag", None)
    return CONSTRAINT_RESOURCES.get(getattr(diag, "constraint_name", None) or "")


def _booked_minutes(appointment_type: AppointmentType, duration_minutes: int | None) -> int:
    if not appointment_type.duration_set_per_booking:
        if duration_minutes not in (None, appointment_type.duration_minutes):
            raise BadDuration(
                fields={"duration_minutes": ["This appointment type has a fixed duration."]},
            )
        return appointment_type.duration_minutes
    minutes = duration_minutes or appointment_type.duration_minutes
    if not MIN_BOOKED_MINUTES <= minutes <= MAX_BOOKED_MINUTES or minutes % clock.GRID_MINUTES:
        raise BadDuration(
            fields={
                "duration_minutes": [
                    f"Give {MIN_BOOKED_MINUTES} to {MAX_BOOKED_MINUTES} minutes in quarter hours."
                ]
            },
        )
    return minutes


def _free_rooms(
    *,
    patient,
    appointment_type: AppointmentType,
    provider: Provider,
    room: Room | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None,
    via: str,
    prefer_room_id: int | None = None,
) -> list[Room]:
    """Raise unless the slot is bookable; return the rooms free for it (the given one, or all).

    The same rules as the availability search, checked here for one slot so that every entry
    point (pages, API, patient links) gets the same answer with a reason.
    """
    now = timezone.now()
    if not clock.on_grid(starts_at):
        raise OffGrid(fields={"start": [OffGrid.default_detail]})
    if starts_at < now:
        raise InThePast(fields={"start": [InThePast.default_detail]})
    if via == VIA_PATIENT_LINK:
        horizon = clock.local_today() + timedelta(days=ClinicSettings.load().booking_horizon_days)
        if clock.local(starts_at).date() > horizon:
            raise BeyondHorizon(fields={"start": [BeyondHorizon.default_detail]})
    if not provider.is_active or provider.role not in appointment_type.provider_roles:
        raise ProviderNotAllowed(
            f"{provider} ({provider.get_role_display()}) cannot deliver {appointment_type}.",
            fields={"provider": [ProviderNotAllowed.default_detail]},
        )
    blocked_until = ends_at + timedelta(minutes=appointment_type.buffer_after_minutes)

    day = clock.local(starts_at).date()
    hours = list(
        WorkingHours.objects.filter(provider=provider, weekday=day.weekday(), location__is_active=True)
    )
    block = next((b for b in working_blocks(hours, day) if b.start <= starts_at and ends_at <= b.end), None)
    if block is None:
        raise OutsideWorkingHours(f"{provider} does not work at that time.")

    if room is not None:
        if not room.is_active or room.kind != appointment_type.room_kind:
            raise WrongRoom(
                f"{appointment_type} needs a {Room.Kind(appointment_type.room_kind).label.lower()}.",
                fields={"room": [WrongRoom.default_detail]},
            )
        if room.location_id != block.location_id:
            raise WrongRoom(
                "That room is at another location than the provider works then.",
                fields={"room": [WrongRoom.default_detail]},
            )
        candidates = [room]
    else:
        candidates = list(
            Room.objects.filter(
                is_active=True, kind=appointment_type.room_kind, location_id=block.location_id
            ).order_by("name", "id")
        )
        candidates.sort(key=lambda r: r.pk != prefer_room_id)
        if not candidates:
            raise SlotUnavailable("There is no room of the right kind at that location.", resource="room")
    # Also covers the reinjection interval, checked after this: one patient's toxin bookings
    # on different days do not overlap, so no exclusion constraint would catch that race.
    _lock_resources(provider_id=provider.pk, patient_id=patient.pk, room_ids=[r.pk for r in candidates])

    busy_rooms: set[int] = set()
    for provider_id, room_id in TimeOff.objects.filter(
        Q(provider=provider) | Q(room__in=candidates), starts_at__lt=blocked_until, ends_at__gt=starts_at
    ).values_list("provider_id", "room_id"):
        if provider_id:
            raise SlotUnavailable(f"{provider} is away at that time.", resource="provider")
        busy_rooms.add(room_id)

    clashes = (
        Appointment.objects.active()
        .holding(starts_at, blocked_until)
        .filter(Q(provider=provider) | Q(room__in=candidates) | Q(patient=patient))
        .exclude(pk=exclude_id)
        .values_list("provider_id", "room_id", "patient_id", "starts_at", "ends_at")
    )
    patient_busy = False
    for provider_id, room_id, patient_id, s, e in clashes:
        if provider_id == provider.pk:
            raise SlotUnavailable(f"{provider} is already booked at that time.", resource="provider")
        if patient_id == patient.pk and s < ends_at and e > starts_at:
            patient_busy = True
        busy_rooms.add(room_id)
    if patient_busy:
        raise SlotUnavailable("The patient already has an appointment at that time.", resource="patient")
    free = [r for r in candidates if r.pk not in busy_rooms]
    if not free:
        detail = "That room is in use at that time." if room else "No suitable room is free at that time."
        raise SlotUnavailable(detail, resource="room")
    return free


def _toxin_override(
    *,
    patient,
    appointment_type: AppointmentType,
    starts_at: datetime,
    exclude_id,
    actor,
    override_reason: str,
) -> str:
    """'' when the minimum reinjection interval is kept; the clinician's reason when overridden.

    The rule is the clinical app's (``toxin_schedule``); the patient's lock is already held.
    """
    if not appointment_type.is_toxin:
        return ""
    verdict = toxin_schedule(patient_id=patient.pk, exclude_appointment_id=exclude_id).check(
        clock.local(starts_at).date()
    )
    if verdict.allowed:
        return ""
    reason = (override_reason or "").strip()
    permitted = acting_user(actor) is not None and actor.has_perm("clinic.override_toxin_interval")
    if not reason:
        raise verdict.error(
            override_allowed=permitted,
            hint="Booking this date needs a clinician's override with a reason.",
        )
    if not permitted:
        raise OverrideNotPermitted(earliest=verdict.earliest.isoformat())
    return reason


# Advisory-lock namespaces: one lock per provider, room and patient being booked.
LOCK_NAMESPACES = {"provider": 73010, "room": 73011, "patient": 73012}


def patient_lock(patient_id: int) -> None:
    """Hold the patient's booking lock until the transaction ends (PostgreSQL).

    Bookings take it with their provider and room locks; recording a toxin session takes it
    alone, so a session and a toxin booking for one patient never both miss the other.
    """
    if connection.vendor != "postgresql":
        return  # SQLite serializes writers on its own.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACES["patient"], patient_id % 2**31]
        )


def _lock_resources(*, provider_id: int, patient_id: int, room_ids) -> None:
    """Serialize bookings that touch the same provider, room or patient (PostgreSQL).

    A row lock cannot guard a slot that is still empty; an advisory lock on the resource's name
    can. Holding them, the checks below see every booking committed before ours, so a lost
    race gets the friendly error, and concurrent conflicting inserts no longer deadlock on the
    exclusion constraints (which remain the guarantee). Locks are taken in one sorted order, so
    two bookings never wait for each other in a circle; they are released at commit.
    """
    if connection.vendor != "postgresql":
        return  # SQLite serializes writers on its own.
    if not settings.SCHEDULING_BOOKING_LOCKS:
        return  # Only for `manage.py race_booking --without-constraint` (see clinic/settings.py).
    keys = sorted(
        {
            (LOCK_NAMESPACES["provider"], provider_id % 2**31),
            (LOCK_NAMESPACES["patient"], patient_id % 2**31),
            *((LOCK_NAMESPACES["room"], room_id % 2**31) for room_id in room_ids),
        }
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(ns, id)) FROM "
            "(SELECT ns, id FROM unnest(%s::int[], %s::int[]) AS k(ns, id) ORDER BY ns, id) AS ordered",
            [[k[0] for k in keys], [k[1] for k in keys]],
        )


def _record(
    appointment: Appointment, action: str, from_status: str, *, actor, via: str, reason="", details=None
):
    AppointmentEvent.objects.create(
        appointment=appointment,
        action=action,
        from_status=from_status,
        to_status=appointment.status,
        by=acting_user(actor),
        via=via,
        reason=reason[:500],
        details=details or {},
    )


def _audit(appointment: Appointment, action: str, *, actor, changes: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=f"appointment.{action}",
        target=appointment,
        patient_id=appointment.patient_id,
        changes=changes or {},
    )


def _slot_json(starts_at: datetime, ends_at: datetime, provider_id: int, room_id: int) -> dict:
    return {
        "start": starts_at.isoformat(),
        "end": ends_at.isoformat(),
        "provider": provider_id,
        "room": room_id,
    }


def _recall_satisfy(appointment: Appointment, *, actor) -> Recall | None:
    """Booking satisfies the patient's oldest open recall for the same kind of appointment (any
    toxin appointment for a toxin recall), by every booking path: desk, API, patient link,
    waitlist offer, correction."""
    recall = (
        Recall.objects.select_for_update()
        .filter(
            _recall_appointment_types(appointment.appointment_type),
            patient_id=appointment.patient_id,
            status=Recall.Status.OPEN,
        )
        .order_by("due_date", "id")
        .first()
    )
    if recall is None:
        return None
    _recall_mark_booked(recall, appointment, actor=actor)
    return recall


def _recall_mark_booked(recall: Recall, appointment: Appointment, *, actor) -> None:
    recall.status = Recall.Status.BOOKED
    recall.booked_appointment = appointment
    recall.save(update_fields=["status", "booked_appointment", "updated_at"])
    audit_record(
        actor=actor,
        action="recall.booked",
        target=recall,
        patient_id=recall.patient_id,
        changes={"appointment": appointment.pk},
    )


def _recall_reopen(appointment: Appointment, *, actor) -> None:
    """A cancelled or missed appointment no longer satisfies its recall: the patient is due again."""
    for recall in Recall.objects.select_for_update().filter(
        booked_appointment=appointment, status=Recall.Status.BOOKED
    ):
        recall.status = Recall.Status.OPEN
        recall.booked_appointment = None
        recall.save(update_fields=["status", "booked_appointment", "updated_at"])
        audit_record(
            actor=actor,
            action="recall.reopened",
            target=recall,
            patient_id=recall.patient_id,
            changes={"appointment": appointment.pk, "appointment_status": appointment.status},
        )


# A plain exclusion constraint lets two transactions inserting conflicting rows at the same moment
# each wait for the other; PostgreSQL breaks the tie by failing one with "deadlock detected".
DEADLOCK = "40P01"
SAVE_ATTEMPTS = 5


def _insert_or_update(appointment: Appointment, *, update_fields: list[str] | None = None) -> None:
    """Save, translating an exclusion-constraint violation (a race lost) into SlotUnavailable."""
    for attempt in range(SAVE_ATTEMPTS):
        try:
            with transaction.atomic():
                appointment.save(update_fields=update_fields)
            return
        except IntegrityError as exc:
            resource = _constraint_resource(exc)
            if resource is None:
                raise
            raise SlotUnavailable(
                f"The {resource} was booked by someone else a moment ago.", resource=resource
            ) from exc
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK:
                raise
            # Saving again waits for the other booking to commit or roll back, then either
            # meets its row (SlotUnavailable above) or finds the slot free after all.
            if attempt + 1 == SAVE_ATTEMPTS:
                raise SlotUnavailable("Several bookings for this time arrived at once; try again.") from exc
            if update_fields is None:
                appointment.pk = None
                appointment._state.adding = True


# The changes that imply messages to the patient (a notice, and for a booking its reminder).
MESSAGED_CHANGES = {"booked", "rescheduled", "cancelled"}


def _notify(appointment: Appointment, change: str) -> None:
    """The one way a change reaches the patient: its messages are planned here, inside the
    change's transaction (a booking never commits without them, and a rolled-back one leaves
    none), and one dispatch is asked for once it has committed."""
    transaction.on_commit(
        lambda: logger.info("appointment.%s", change, extra={"appointment_id": appointment.pk})
    )
    if change in MESSAGED_CHANGES:
        messages_plan_for_appointment(appointment=appointment, event=change)
        messages_dispatch_after_commit()


@transaction.atomic
def appointment_book(
    *,
    patient,
    appointment_type: AppointmentType,
    provider: Provider,
    starts_at: datetime,
    actor,
    room: Room | None = None,
    duration_minutes: int | None = None,
    override_reason: str = "",
    notes: str = "",
    via: str = VIA_STAFF,
) -> Appointment:
    """Book an appointment. Raises a DomainError saying why when the slot cannot be booked.

    The checks here give a friendly error; on PostgreSQL the exclusion constraints settle races
    between concurrent bookings (the loser gets SlotUnavailable, never a 500).
    """
    starts_at = clock.utc(starts_at)
    if not appointment_type.is_active:
        raise TypeInactive(fields={"appointment_type": [TypeInactive.default_detail]})
    if patient.status != Patient.Status.ACTIVE:
        raise PatientInactive(fields={"patient": [PatientInactive.default_detail]})
    minutes = _booked_minutes(appointment_type, duration_minutes)
    ends_at = starts_at + timedelta(minutes=minutes)
    rooms = _free_rooms(
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        room=room,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=None,
        via=via,
    )
    override = _toxin_override(
        patient=patient,
        appointment_type=appointment_type,
        starts_at=starts_at,
        exclude_id=None,
        actor=actor,
        override_reason=override_reason,
    )
    appointment = None
    for index, candidate in enumerate(rooms):
        appointment = Appointment(
            patient=patient,
            appointment_type=appointment_type,
            provider=provider,
            room=candidate,
            starts_at=starts_at,
            ends_at=ends_at,
            blocked_until=ends_at + timedelta(minutes=appointment_type.buffer_after_minutes),
            interval_override_reason=override,
            notes=notes[:500],
            booked_by=acting_user(actor),
            booked_via=via,
        )
        try:
            _insert_or_update(appointment)
            break
        except SlotUnavailable as exc:
            # A room the service picked was taken meanwhile: the next free one will do.
            if room is None and exc.extra.get("resource") == "room" and index + 1 < len(rooms):
                continue
            raise
    assert appointment is not None  # noqa: S101 (rooms is never empty: _free_rooms raises first)
    _record(appointment, "booked", "", actor=actor, via=via, reason=override)
    _audit(
        appointment,
        "booked",
        actor=actor,
        changes={
            **_slot_json(starts_at, ends_at, provider.pk, appointment.room_id),
            "appointment_type": appointment_type.code,
            "via": via,
        },
    )
    if override:
        _audit(
            appointment,
            "toxin_interval_overridden",
            actor=actor,
            changes={"reason": override},
        )
    _recall_satisfy(appointment, actor=actor)
    _waitlist_lapse_offers(appointment)
    _notify(appointment, "booked")
    return appointment


def _locked(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("appointment_type", "provider__user", "room", "patient")
        .get(pk=appointment.pk)
    )


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    starts_at: datetime,
    actor,
    provider: Provider | None = None,
    room: Room | None = None,
    duration_minutes: int | None = None,
    override_reason: str = "",
    reason: str = "",
    via: str = VIA_STAFF,
) -> Appointment:
    """Move an appointment to a new time (and provider or room). One row; the event keeps from/to."""
    starts_at = clock.utc(starts_at)
    appointment = _locked(appointment)
    if appointment.status not in RESCHEDULABLE:
        raise InvalidTransition(
            f"A {appointment.get_status_display().lower()} appointment cannot be rescheduled.",
            status=appointment.status,
        )
    appointment_type = appointment.appointment_type
    if appointment_type.duration_set_per_booking and duration_minutes is None:
        duration_minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    minutes = _booked_minutes(appointment_type, duration_minutes)
    provider = provider or appointment.provider
    ends_at = starts_at + timedelta(minutes=minutes)
    rooms = _free_rooms(
        patient=appointment.patient,
        appointment_type=appointment_type,
        provider=provider,
        room=room,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=appointment.pk,
        via=via,
        prefer_room_id=appointment.room_id,
    )
    override = _toxin_override(
        patient=appointment.patient,
        appointment_type=appointment_type,
        starts_at=starts_at,
        exclude_id=appointment.pk,
        actor=actor,
        override_reason=override_reason,
    )
    before = _slot_json(
        appointment.starts_at, appointment.ends_at, appointment.provider_id, appointment.room_id
    )
    old = (appointment.starts_at, appointment.ends_at, appointment.provider, appointment.room)
    from_status = appointment.status
    appointment.provider = provider
    appointment.room = rooms[0]
    appointment.starts_at = starts_at
    appointment.ends_at = ends_at
    appointment.blocked_until = ends_at + timedelta(minutes=appointment_type.buffer_after_minutes)
    # A confirmation was for the old time.
    appointment.status = Status.BOOKED
    if override:
        appointment.interval_override_reason = override
    _insert_or_update(appointment)
    after = _slot_json(starts_at, ends_at, provider.pk, appointment.room_id)
    _record(
        appointment,
        "rescheduled",
        from_status,
        actor=actor,
        via=via,
        reason=override or reason,
        details={"from": before, "to": after},
    )
    _audit(appointment, "rescheduled", actor=actor, changes={"from": before, "to": after})
    if override:
        _audit(appointment, "toxin_interval_overridden", actor=actor, changes={"reason": override})
    _waitlist_lapse_offers(appointment)
    if old[2] != provider or not (starts_at < old[1] and old[0] < appointment.blocked_until):
        # Only a slot the move really left empty is offered (not one it still half covers).
        _waitlist_offer_freed(appointment, starts_at=old[0], ends_at=old[1], provider=old[2], room=old[3])
    _notify(appointment, "rescheduled")
    return appointment


def _transition(appointment: Appointment, action: str, *, actor, via: str, reason: str = "", details=None):
    appointment = _locked(appointment)
    allowed_from, to_status = TRANSITIONS[action]
    if appointment.status not in allowed_from:
        raise InvalidTransition(
            f"Cannot {action.replace('_', ' ')} a {appointment.get_status_display().lower()} appointment.",
            status=appointment.status,
            action=action,
        )
    now = timezone.now()
    if action in ("no_show", "complete") and now < appointment.starts_at:
        raise TooEarly()
    if action == "check_in" and clock.local(appointment.starts_at).date() != clock.local(now).date():
        raise NotToday()
    if action == "confirm" and appointment.starts_at <= now:
        raise InvalidTransition("Only future appointments can be confirmed.", status=appointment.status)
    from_status = appointment.status
    appointment.status = to_status
    fields = ["status", "updated_at"]
    if action == "cancel":
        appointment.cancellation_reason = reason[:500]
        fields.append("cancellation_reason")
    appointment.save(update_fields=fields)
    done = PAST_TENSE[action]
    _record(appointment, done, from_status, actor=actor, via=via, reason=reason, details=details)
    changes = {"status": [from_status, to_status], **(details or {})}
    if reason:
        changes["reason"] = reason
    _audit(appointment, done, actor=actor, changes=changes)
    if to_status in (Status.CANCELLED, Status.NO_SHOW):
        _recall_reopen(appointment, actor=actor)
    if to_status == Status.CANCELLED:
        _waitlist_offer_freed(
            appointment,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            provider=appointment.provider,
            room=appointment.room,
        )
    _notify(appointment, done)
    return appointment


@transaction.atomic
def appointment_confirm(*, appointment: Appointment, actor, via: str = VIA_STAFF) -> Appointment:
    return _transition(appointment, "confirm", actor=actor, via=via)


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, actor, via: str = VIA_STAFF) -> Appointment:
    return _transition(appointment, "check_in", actor=actor, via=via)


@transaction.atomic
def appointment_no_show(
    *, appointment: Appointment, actor, via: str = VIA_STAFF, reason: str = ""
) -> Appointment:
    return _transition(appointment, "no_show", actor=actor, via=via, reason=reason)


@transaction.atomic
def appointment_complete(*, appointment: Appointment, actor, via: str = VIA_STAFF) -> Appointment:
    return _transition(appointment, "complete", actor=actor, via=via)


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, reason: str, actor, cancelled_by: str = "patient", via: str = VIA_STAFF
) -> Appointment:
    """Cancel with a reason, recording who asked for it (the patient or the clinic)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say why the appointment is cancelled.")
    if cancelled_by not in CANCELLED_BY:
        raise Invalid(fields={"cancelled_by": [f"Choose one of: {', '.join(CANCELLED_BY)}."]})
    return _transition(
        appointment, "cancel", actor=actor, via=via, reason=reason, details={"cancelled_by": cancelled_by}
    )


def corrections_for(appointment: Appointment) -> list[str]:
    return sorted(CORRECTIONS.get(appointment.status, ()))


@transaction.atomic
def appointment_correct(
    *, appointment: Appointment, to_status: str, reason: str, actor, via: str = VIA_STAFF
) -> Appointment:
    """Put a mistaken status right (a no-show who did attend, an undone check-in) as a new event."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say what the mistake was.")
    appointment = _locked(appointment)
    from_status = appointment.status
    if to_status not in CORRECTIONS.get(from_status, ()):
        raise InvalidTransition(
            f"A {appointment.get_status_display().lower()} appointment cannot be corrected to {to_status}.",
            status=from_status,
        )
    was_active = from_status in Appointment.ACTIVE_STATUSES
    becomes_active = to_status in Appointment.ACTIVE_STATUSES
    if not was_active and becomes_active:
        if to_status == Status.BOOKED and appointment.starts_at < timezone.now():
            raise InThePast("Only a future appointment can be booked again; book a new one instead.")
        # The slot may have been given to someone else meanwhile.
        _free_rooms_ignoring_hours(appointment)
    appointment.status = to_status
    fields = ["status", "updated_at"]
    if from_status == Status.CANCELLED:
        appointment.cancellation_reason = ""
        fields.append("cancellation_reason")
    _insert_or_update(appointment, update_fields=fields)
    _record(appointment, "corrected", from_status, actor=actor, via=via, reason=reason)
    _audit(
        appointment, "corrected", actor=actor, changes={"status": [from_status, to_status], "reason": reason}
    )
    if was_active and not becomes_active:
        _recall_reopen(appointment, actor=actor)
    elif becomes_active and not was_active:
        _recall_satisfy(appointment, actor=actor)
        _waitlist_lapse_offers(appointment)
    _notify(appointment, "corrected")
    return appointment


def _free_rooms_ignoring_hours(appointment: Appointment) -> None:
    """Raise SlotUnavailable if the appointment's own slot is now taken by another one."""
    _lock_resources(
        provider_id=appointment.provider_id, patient_id=appointment.patient_id, room_ids=[appointment.room_id]
    )
    clash = (
        Appointment.objects.active()
        .holding(appointment.starts_at, appointment.blocked_until)
        .filter(Q(provider_id=appointment.provider_id) | Q(room_id=appointment.room_id))
        .exclude(pk=appointment.pk)
        .values_list("provider_id", flat=True)
        .first()
    )
    if clash is not None:
        resource = "provider" if clash == appointment.provider_id else "room"
        raise SlotUnavailable(f"The {resource} has been booked for that time since.", resource=resource)
    patient_clash = (
        Appointment.objects.active()
        .holding(appointment.starts_at, appointment.ends_at)
        .filter(patient_id=appointment.patient_id, ends_at__gt=appointment.starts_at)
        .exclude(pk=appointment.pk)
        .exists()
    )
    if patient_clash:
        raise SlotUnavailable("The patient has another appointment at that time since.", resource="patient")


# ---------------------------------------------------------------------------------------------
# Waitlist
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def waitlist_add(
    *,
    patient,
    appointment_type: AppointmentType,
    actor,
    provider: Provider | None = None,
    earliest_date: date | None = None,
    latest_date: date | None = None,
    appointment: Appointment | None = None,
    notes: str = "",
) -> WaitlistEntry:
    """Put a patient on the waitlist for an earlier slot of a type."""
    if patient.status != Patient.Status.ACTIVE:
        raise PatientInactive(fields={"patient": [PatientInactive.default_detail]})
    if not appointment_type.is_active:
        raise TypeInactive(fields={"appointment_type": [TypeInactive.default_detail]})
    if provider is not None and provider.role not in appointment_type.provider_roles:
        raise ProviderNotAllowed(fields={"provider": [ProviderNotAllowed.default_detail]})
    if earliest_date and latest_date and latest_date < earliest_date:
        raise Invalid(fields={"latest_date": ["Must not be before the earliest date."]})
    if appointment is not None and (
        appointment.patient_id != patient.pk
        or appointment.appointment_type_id != appointment_type.pk
        or appointment.status not in RESCHEDULABLE
    ):
        raise Invalid(
            fields={"appointment": ["Choose one of this patient's booked appointments of this type."]}
        )
    entry = WaitlistEntry(
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        earliest_date=earliest_date,
        latest_date=latest_date,
        appointment=appointment,
        notes=notes[:500],
        created_by=acting_user(actor),
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as exc:
        raise AlreadyWaiting() from exc
    audit_record(
        actor=actor,
        action="waitlist.added",
        target=entry,
        patient_id=patient.pk,
        changes={"appointment_type": appointment_type.code, "provider": provider.pk if provider else None},
    )
    return entry


@transaction.atomic
def waitlist_cancel(*, entry: WaitlistEntry, actor, reason: str = "") -> WaitlistEntry:
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != WaitlistEntry.Status.WAITING:
        raise InvalidTransition("Only a waiting entry can be removed.", status=entry.status)
    entry.status = WaitlistEntry.Status.CANCELLED
    entry.save(update_fields=["status", "updated_at"])
    entry.offers.filter(status=WaitlistOffer.Status.OPEN).update(
        status=WaitlistOffer.Status.LAPSED, resolved_at=timezone.now()
    )
    audit_record(
        actor=actor,
        action="waitlist.cancelled",
        target=entry,
        patient_id=entry.patient_id,
        changes={"reason": reason} if reason else {},
    )
    return entry


@transaction.atomic
def waitlist_offer_accept(*, offer: WaitlistOffer, actor, via: str = VIA_STAFF) -> Appointment:
    """Book the offered slot for the waiting patient (or move their later booking into it)."""
    offer = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("entry__patient", "entry__appointment_type", "entry__appointment", "provider", "room")
        .get(pk=offer.pk)
    )
    entry = offer.entry
    if offer.status != WaitlistOffer.Status.OPEN or entry.status != WaitlistEntry.Status.WAITING:
        raise InvalidTransition("This offer is no longer open.", status=offer.status)
    duration = None
    if entry.appointment_type.duration_set_per_booking:
        duration = int((offer.ends_at - offer.starts_at).total_seconds() // 60)
    existing = entry.appointment
    if existing is not None and existing.status in RESCHEDULABLE:
        appointment = appointment_reschedule(
            appointment=existing,
            starts_at=offer.starts_at,
            provider=offer.provider,
            room=offer.room,
            duration_minutes=duration,
            actor=actor,
            via=via,
            reason="Earlier slot from the waitlist",
        )
    else:
        appointment = appointment_book(
            patient=entry.patient,
            appointment_type=entry.appointment_type,
            provider=offer.provider,
            room=offer.room,
            starts_at=offer.starts_at,
            duration_minutes=duration,
            actor=actor,
            via=via,
        )
    now = timezone.now()
    offer.status = WaitlistOffer.Status.ACCEPTED
    offer.appointment = appointment
    offer.resolved_at = now
    offer.save(update_fields=["status", "appointment", "resolved_at"])
    entry.status = WaitlistEntry.Status.BOOKED
    entry.booked_appointment = appointment
    entry.save(update_fields=["status", "booked_appointment", "updated_at"])
    entry.offers.filter(status=WaitlistOffer.Status.OPEN).update(
        status=WaitlistOffer.Status.LAPSED, resolved_at=now
    )
    audit_record(
        actor=actor,
        action="waitlist.booked",
        target=entry,
        patient_id=entry.patient_id,
        changes={"appointment": appointment.pk, "offer": offer.pk},
    )
    return appointment


def _waitlist_offer_freed(
    appointment: Appointment, *, starts_at: datetime, ends_at: datetime, provider: Provider, room: Room
) -> list[WaitlistOffer]:
    """Offer a slot that a cancellation or a move freed to the matching waitlist entries."""
    if starts_at <= timezone.now():
        return []
    day = clock.local(starts_at).date()
    entries = (
        WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.WAITING, appointment_type_id=appointment.appointment_type_id
        )
        .filter(Q(provider__isnull=True) | Q(provider=provider))
        .filter(Q(earliest_date__isnull=True) | Q(earliest_date__lte=day))
        .filter(Q(latest_date__isnull=True) | Q(latest_date__gte=day))
        .exclude(patient_id=appointment.patient_id)
        .select_related("appointment", "appointment_type")
    )
    offers = [
        WaitlistOffer(
            entry=entry,
            provider=provider,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            freed_by=appointment,
        )
        for entry in entries
        # Only an earlier slot helps a patient who already has a booking.
        if (
            entry.appointment is None
            or entry.appointment.status not in RESCHEDULABLE
            or entry.appointment.starts_at > starts_at
        )
        # A toxin slot is offered only to a patient who may have toxin that day: an offer that
        # booking would then refuse is no offer.
        and _toxin_day_allowed(entry, day)
    ]
    # Offered once per entry and slot (the unique constraint makes a repeat a no-op).
    return WaitlistOffer.objects.bulk_create(offers, ignore_conflicts=True)


def _toxin_day_allowed(entry: WaitlistEntry, day: date) -> bool:
    if not entry.appointment_type.is_toxin:
        return True
    moving = entry.appointment_id if entry.appointment is not None else None
    return toxin_schedule(patient_id=entry.patient_id, exclude_appointment_id=moving).allows(day)


def _waitlist_lapse_offers(appointment: Appointment) -> None:
    """Open offers of a slot that this appointment now occupies are gone."""
    WaitlistOffer.objects.filter(
        status=WaitlistOffer.Status.OPEN,
        provider_id=appointment.provider_id,
        starts_at__lt=appointment.blocked_until,
        ends_at__gt=appointment.starts_at,
    ).update(status=WaitlistOffer.Status.LAPSED, resolved_at=timezone.now())


# ---------------------------------------------------------------------------------------------
# Calendar set-up: locations, rooms, providers, working hours, time off, appointment types
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def schedule_record_save(*, instance, data: dict, actor):
    """Create or update one calendar set-up record from validated data, audited."""
    creating = instance._state.adding
    changes = changed_fields(instance, data)
    for field, value in data.items():
        setattr(instance, field, value)
    instance.full_clean()
    instance.save()
    audit_record(
        actor=actor,
        action=f"schedule.{instance._meta.model_name}_{'created' if creating else 'updated'}",
        target=instance,
        changes=changes,
    )
    return instance


@transaction.atomic
def schedule_record_delete(*, instance, actor) -> None:
    """Remove working hours or time off entered by mistake (set-up data, not clinical records)."""
    audit_record(
        actor=actor,
        action=f"schedule.{instance._meta.model_name}_deleted",
        target=instance,
        changes={"deleted": str(instance)},
    )
    instance.delete()
