"""Availability and booking cannot disagree: every slot the search offers is one booking accepts,
and every time booking accepts is one the search offers.

The diary is random (seeded) but busy: bookings of several types, time off of providers and
rooms, a provider with a split day, a room that closes, and a patient with bookings of their own
and a toxin session 83 days before the second day (so the reinjection rule refuses toxin on the
first day and allows it on the second). For each appointment type, every provider and every
quarter hour of two days is tried both ways: the search for the patient, and a booking for the
patient inside a savepoint that is rolled back. Time is Monday 1 March 2027, 08:00 in London.
"""

import random
from datetime import date, time, timedelta

import pytest
from django.db import transaction

from clinic.errors import DomainError
from scheduling import clock
from scheduling.availability import availability_for
from scheduling.models import Appointment, Provider
from scheduling.services import appointment_book
from tests.factories import AppointmentFactory, PatientFactory, RoomFactory
from tests.scheduling.conftest import local, provider_for
from tests.scheduling.factories import TimeOffFactory
from tests.treatments.factories import ToxinLotFactory, toxin_data
from treatments import services as treatments_services

pytestmark = pytest.mark.django_db

DAYS = (date(2027, 3, 1), date(2027, 3, 2))


class _RolledBack(Exception):
    pass


def bookable(*, patient, appointment_type, provider, starts_at, actor) -> bool:
    """Whether booking this slot succeeds, leaving nothing behind."""
    try:
        with transaction.atomic():
            appointment_book(
                patient=patient,
                appointment_type=appointment_type,
                provider=provider,
                starts_at=starts_at,
                actor=actor,
            )
            raise _RolledBack
    except _RolledBack:
        return True
    except DomainError:
        return False


@pytest.fixture
def busy_diary(clinic, injector_user):
    rng = random.Random(20270301)
    location = clinic.consultation_room.location
    RoomFactory(location=location, name="Consult 2", kind="consultation")
    closing = RoomFactory(location=location, name="Procedure 2", kind="procedure")
    split = provider_for("surgeon", "dr_split", location=location, hours=((9, 12), (13, 17)))
    TimeOffFactory(room=closing, starts_at=local(2027, 3, 1, 12), ends_at=local(2027, 3, 2, 10))
    TimeOffFactory(
        provider=clinic.injector, starts_at=local(2027, 3, 2, 14), ends_at=local(2027, 3, 2, 15, 30)
    )
    TimeOffFactory(provider=split, starts_at=local(2027, 3, 1, 9), ends_at=local(2027, 3, 1, 10, 15))

    patient = PatientFactory()
    # A toxin session 83 days before 2 March: no toxin on 1 March, toxin again on 2 March.
    lot = ToxinLotFactory(expiry_date=date(2029, 1, 1))
    treatments_services.encounter_record(
        treatments_services.TOXIN,
        patient=patient,
        actor=injector_user,
        data=toxin_data(lot=lot, occurred_at=local(2026, 12, 8, 10)),
    )
    # The patient's own bookings, which the search must keep them out of.
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.therapy,
        provider=clinic.therapist,
        room=clinic.therapy_room,
        starts_at=local(2027, 3, 1, 11),
    )
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        room=clinic.consultation_room,
        starts_at=local(2027, 3, 2, 15),
    )
    # Other patients' bookings, random but never overlapping (booked through the service).
    types = [clinic.consultation, clinic.toxin, clinic.therapy]
    made = 0
    for _ in range(30):
        appointment_type = rng.choice(types)
        providers = list(Provider.objects.filter(role__in=appointment_type.provider_roles))
        day = rng.choice(DAYS)
        start = clock.at(day, time(9)) + timedelta(minutes=15 * rng.randrange(0, 32))
        try:
            appointment_book(
                patient=PatientFactory(),
                appointment_type=appointment_type,
                provider=rng.choice(providers),
                starts_at=start,
                actor=None,
            )
            made += 1
        except DomainError:
            pass
    assert made > 15
    return patient


def test_every_slot_offered_is_bookable_and_every_bookable_time_is_offered(clinic, busy_diary, injector_user):
    patient = busy_diary
    checked = offered_total = 0
    for appointment_type in (clinic.consultation, clinic.toxin, clinic.therapy):
        offered = {
            (slot.provider.pk, slot.start)
            for slot in availability_for(
                appointment_type=appointment_type, date_from=DAYS[0], date_to=DAYS[-1], patient=patient
            )
        }
        offered_total += len(offered)
        providers = Provider.objects.filter(role__in=appointment_type.provider_roles)
        disagreements = []
        for day in DAYS:
            for quarter in range(4 * 7, 4 * 19):  # 07:00 to 18:45
                starts_at = clock.at(day, time(quarter // 4, 15 * (quarter % 4)))
                for provider in providers:
                    books = bookable(
                        patient=patient,
                        appointment_type=appointment_type,
                        provider=provider,
                        starts_at=starts_at,
                        actor=injector_user,
                    )
                    checked += 1
                    if books != ((provider.pk, starts_at) in offered):
                        disagreements.append((appointment_type.code, str(provider), starts_at, books))
        assert not disagreements, disagreements[:10]
    # The diary is a real test: many slots are offered, many times are refused.
    assert offered_total > 60
    assert checked - offered_total > 300
    # Nothing tried was kept.
    assert (
        not Appointment.objects.filter(patient=patient)
        .exclude(appointment_type__code__in=["therapy"])
        .exclude(starts_at=local(2027, 3, 2, 15))
        .exists()
    )
