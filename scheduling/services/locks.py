"""Advisory locks that serialize bookings touching the same provider, room or patient."""

from django.conf import settings
from django.db import connection

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


def lock_resources(*, provider_id: int, patient_id: int, room_ids) -> None:
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
