"""Double booking under real concurrency: parallel PostgreSQL connections racing for one slot.

Each thread has its own database connection and its own transaction; a barrier releases them
together, so most pass the service's own check before any commits, and only the exclusion
constraints (or the patient row lock, for the toxin interval) can decide.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from scheduling.exceptions import ReinjectionTooSoon, SlotUnavailable
from scheduling.models import Appointment
from scheduling.services import appointment_book
from tests.factories import PatientFactory, RoomFactory
from tests.scheduling.conftest import local, provider_for

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 50


def race(attempts):
    """Run each attempt in its own thread and connection, all released at once."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        try:
            barrier.wait(timeout=30)
            attempt()
            outcomes[index] = "booked"
        except (SlotUnavailable, ReinjectionTooSoon) as exc:
            outcomes[index] = exc.code
        except Exception as exc:  # anything else is a failure the test must show
            outcomes[index] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_fifty_bookings_of_one_provider_slot_give_exactly_one_appointment(clinic):
    patients = PatientFactory.create_batch(THREADS)
    start = local(2027, 3, 2, 10)

    def attempt(patient):
        return lambda: appointment_book(
            patient=patient,
            appointment_type=clinic.consultation,
            provider=clinic.surgeon,
            starts_at=start,
            actor=None,
        )

    outcomes = race([attempt(p) for p in patients])

    assert outcomes.count("booked") == 1
    assert outcomes.count("slot_unavailable") == THREADS - 1, outcomes
    assert Appointment.objects.filter(starts_at=start).count() == 1


def test_fifty_bookings_of_one_patient_with_different_providers_give_exactly_one(clinic):
    patient = PatientFactory()
    location = clinic.consultation_room.location
    pairs = [
        (
            provider_for("surgeon", f"racer{i}", location=location, weekdays=[1]),
            RoomFactory(location=location, name=f"Race room {i}", kind="consultation"),
        )
        for i in range(THREADS)
    ]
    start = local(2027, 3, 2, 10)

    def attempt(provider, room):
        return lambda: appointment_book(
            patient=patient,
            appointment_type=clinic.consultation,
            provider=provider,
            room=room,
            starts_at=start,
            actor=None,
        )

    outcomes = race([attempt(p, r) for p, r in pairs])

    assert outcomes.count("booked") == 1
    assert outcomes.count("slot_unavailable") == THREADS - 1, outcomes
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_toxin_bookings_on_different_days_keep_the_interval_under_a_race(clinic):
    patient = PatientFactory()
    days = 20

    def attempt(offset):
        return lambda: appointment_book(
            patient=patient,
            appointment_type=clinic.toxin,
            provider=clinic.injector,
            starts_at=local(2027, 3, 8, 10) + timedelta(days=7 * (offset // 5) + offset % 5),
            actor=None,
        )

    outcomes = race([attempt(i) for i in range(days)])

    assert outcomes.count("booked") == 1
    assert outcomes.count("reinjection_too_soon") == days - 1, outcomes
