"""Double booking under real concurrency: parallel PostgreSQL connections racing for one slot.

Each thread has its own database connection and its own transaction; a barrier releases them
together. Through the booking service the advisory locks line them up and the checks answer;
straight inserts leave only the exclusion constraints to decide.
"""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from scheduling.exceptions import ReinjectionTooSoon, SlotUnavailable
from scheduling.models import Appointment, Provider, Recall, Room
from scheduling.services import appointment_book, recall_open
from scheduling.services.common import save_appointment as _insert_or_update
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

    assert Counter(outcomes) == {"booked": 1, "slot_unavailable": THREADS - 1}
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

    assert Counter(outcomes) == {"booked": 1, "slot_unavailable": THREADS - 1}
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

    assert Counter(outcomes) == {"booked": 1, "reinjection_too_soon": days - 1}


def test_the_exclusion_constraint_alone_settles_fifty_simultaneous_inserts(clinic):
    # Bypasses the service's checks and locks: each thread inserts straight away, so only the
    # database constraint stands between them. One patient with fifty different providers and
    # rooms is the pattern in which concurrent inserts deadlock on the constraint; those must
    # end as SlotUnavailable too.
    location = clinic.consultation_room.location
    patient = PatientFactory()
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"raw{i}", password="!") for i in range(THREADS)
    )
    providers = Provider.objects.bulk_create(Provider(user=u, role="surgeon") for u in users)
    rooms = Room.objects.bulk_create(
        Room(location=location, name=f"Raw room {i}", kind="consultation") for i in range(THREADS)
    )
    rows = [
        Appointment(
            patient=patient,
            appointment_type=clinic.consultation,
            provider=provider,
            room=room,
            starts_at=local(2027, 3, 2, 10),
            ends_at=local(2027, 3, 2, 11),
            blocked_until=local(2027, 3, 2, 11),
        )
        for provider, room in zip(providers, rooms, strict=True)
    ]

    outcomes = race([lambda row=row: transaction.atomic(_insert_or_update)(row) for row in rows])

    assert Counter(outcomes) == {"booked": 1, "slot_unavailable": THREADS - 1}
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_a_deadlock_between_two_bookings_ends_as_slot_unavailable(clinic):
    # Two transactions each hold a booking the other's next insert conflicts with: A waits for
    # B on one patient, B waits for A on another. PostgreSQL fails A (its deadlock timeout is
    # the shorter); the service retries, meets the same deadlock, and gives up with a 409.
    location = clinic.consultation_room.location
    patients = PatientFactory.create_batch(3)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"dl{i}", password="!") for i in range(4)
    )
    providers = Provider.objects.bulk_create(Provider(user=u, role="surgeon") for u in users)
    rooms = Room.objects.bulk_create(
        Room(location=location, name=f"DL room {i}", kind="consultation") for i in range(4)
    )

    def row(patient, i):
        return Appointment(
            patient=patient,
            appointment_type=clinic.consultation,
            provider=providers[i],
            room=rooms[i],
            starts_at=local(2027, 3, 2, 10),
            ends_at=local(2027, 3, 2, 11),
            blocked_until=local(2027, 3, 2, 11),
        )

    b_holds = threading.Event()
    a_holds = threading.Event()
    outcome = {}

    def a():
        try:
            with transaction.atomic():
                connection.cursor().execute("SET LOCAL deadlock_timeout = '50ms'")
                b_holds.wait(timeout=10)
                row(patients[2], 0).save()
                a_holds.set()
                _insert_or_update(row(patients[0], 1))  # waits for B's row of patient 0
            outcome["a"] = "booked"
        except SlotUnavailable as exc:
            outcome["a"] = exc.detail
        except Exception as exc:
            outcome["a"] = repr(exc)
        finally:
            connection.close()

    def b():
        try:
            with transaction.atomic():
                row(patients[0], 2).save()
                b_holds.set()
                a_holds.wait(timeout=10)
                row(patients[2], 3).save()  # waits for A's row of patient 2
            outcome["b"] = "booked"
        except Exception as exc:
            outcome["b"] = type(exc).__name__
        finally:
            connection.close()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert outcome["a"] == "Several bookings for this time arrived at once; try again."
    assert outcome["b"] == "booked"


def test_a_recall_opened_while_a_booking_is_committing_still_finds_it(clinic):
    """The desk books the next toxin session while the injector records today's session (which
    opens the reinjection recall). The booking is still uncommitted when the recall opens: the
    recall waits on the patient's lock, then sees the booking and is booked, never due."""
    patient = PatientFactory()
    booking_in_flight = threading.Event()
    outcomes = {}

    def book():
        try:
            with transaction.atomic():
                appointment_book(
                    patient=patient,
                    appointment_type=clinic.toxin,
                    provider=clinic.injector,
                    starts_at=local(2027, 5, 31, 10),
                    actor=None,
                )
                booking_in_flight.set()
                time.sleep(1.0)  # still uncommitted while the recall opens
            outcomes["book"] = "booked"
        except Exception as exc:
            outcomes["book"] = repr(exc)
        finally:
            connection.close()

    def open_recall():
        try:
            booking_in_flight.wait(timeout=30)
            with transaction.atomic():
                recall_open(
                    patient=patient,
                    kind=Recall.Kind.REINJECTION,
                    appointment_type_code="toxin",
                    anchor_date=local(2027, 2, 26).date(),
                    earliest_date=local(2027, 5, 21).date(),
                    due_date=local(2027, 5, 21).date(),
                    overdue_date=local(2027, 6, 18).date(),
                    source="toxin_session:race",
                )
            outcomes["recall"] = "opened"
        except Exception as exc:
            outcomes["recall"] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=book), threading.Thread(target=open_recall)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert outcomes == {"book": "booked", "recall": "opened"}
    recall = Recall.objects.get(patient=patient)
    assert recall.status == Recall.Status.BOOKED
    assert recall.booked_appointment == Appointment.objects.get(patient=patient)


def test_a_session_recorded_while_another_is_committing_waits_and_is_refused(clinic, injector_user):
    """Two toxin sessions for one patient, five days apart, recorded at the same moment: the first
    is still uncommitted when the second is checked. The second waits for the patient's lock,
    then sees the first and is refused. With the lock removed both are recorded."""
    from clinic.models import ClinicSettings
    from tests.treatments.factories import ToxinLotFactory, toxin_data
    from treatments import services

    # The settings row exists in a running clinic; created inside the first transaction, its
    # insert would make the second wait on it and hide the race.
    ClinicSettings.load()
    patient = PatientFactory()
    # Two vials of one product: nothing but the patient is shared between the two sessions.
    lots = {name: ToxinLotFactory(expiry_date=local(2029, 1, 1).date()) for name in ("first", "second")}
    first_in_flight = threading.Event()
    outcomes = {}

    def record(name, when, hold):
        try:
            with transaction.atomic():
                services.encounter_record(
                    services.TOXIN,
                    patient=patient,
                    actor=injector_user,
                    data=toxin_data(lot=lots[name], occurred_at=when),
                )
                if hold:
                    first_in_flight.set()
                    time.sleep(1.0)  # still uncommitted while the other is checked
            outcomes[name] = "recorded"
        except ReinjectionTooSoon as exc:
            outcomes[name] = exc.code
        except Exception as exc:
            outcomes[name] = repr(exc)
        finally:
            connection.close()

    def second():
        first_in_flight.wait(timeout=30)
        record("second", local(2027, 2, 25, 10), hold=False)

    threads = [
        threading.Thread(target=record, args=("first", local(2027, 2, 20, 10), True)),
        threading.Thread(target=second),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert outcomes == {"first": "recorded", "second": "reinjection_too_soon"}
