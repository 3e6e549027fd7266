"""What every appointment change shares: who asked (``via``), saving the row under the
exclusion constraints, the event and audit rows, and the one way a change reaches the patient."""

import logging
from datetime import datetime

from django.db import IntegrityError, OperationalError, transaction

from clinic.audit import acting_user, audit_record

from ..constraints import PostgresExclusionConstraint
from ..exceptions import (
    SlotUnavailable,
)
from ..models import (
    Appointment,
    AppointmentEvent,
)
from ..reminders.services import (
    messages_plan_for_appointment,
)
from ..tasks import messages_dispatch_after_commit

logger = logging.getLogger("scheduling.events")

VIA_STAFF = "staff"
VIA_API = "api"
VIA_PATIENT_LINK = "patient_link"


Status = Appointment.Status
RESCHEDULABLE = frozenset({Status.BOOKED, Status.CONFIRMED})

# Exclusion constraint name -> which resource was busy, for the error message (Appointment.Meta).
CONSTRAINT_RESOURCES = {
    c.name: c.resource for c in Appointment._meta.constraints if isinstance(c, PostgresExclusionConstraint)
}


def _constraint_resource(exc: IntegrityError) -> str | None:
    """Which resource an exclusion-constraint violation was about, if it was one."""
    diag = getattr(exc.__cause__, "diag", None)
    return CONSTRAINT_RESOURCES.get(getattr(diag, "constraint_name", None) or "")


def record_event(
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


def audit_appointment(appointment: Appointment, action: str, *, actor, changes: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=f"appointment.{action}",
        target=appointment,
        patient_id=appointment.patient_id,
        changes=changes or {},
    )


def slot_json(starts_at: datetime, ends_at: datetime, provider_id: int, room_id: int) -> dict:
    return {
        "start": starts_at.isoformat(),
        "end": ends_at.isoformat(),
        "provider": provider_id,
        "room": room_id,
    }


# A plain exclusion constraint lets two transactions inserting conflicting rows at the same moment
# each wait for the other; PostgreSQL breaks the tie by failing one with "deadlock detected".
DEADLOCK = "40P01"
SAVE_ATTEMPTS = 5


def save_appointment(appointment: Appointment, *, update_fields: list[str] | None = None) -> None:
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


def notify(appointment: Appointment, change: str) -> None:
    """The one way a change reaches the patient: its messages are planned here, inside the
    change's transaction (a booking never commits without them, and a rolled-back one leaves
    none), and one dispatch is asked for once it has committed."""
    transaction.on_commit(
        lambda: logger.info("appointment.%s", change, extra={"appointment_id": appointment.pk})
    )
    if change in MESSAGED_CHANGES:
        messages_plan_for_appointment(appointment=appointment, event=change)
        messages_dispatch_after_commit()


def locked_appointment(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("appointment_type", "provider__user", "room", "patient")
        .get(pk=appointment.pk)
    )
