"""A small clinic with controlled time, shared by the scheduling tests.

Time is fixed at Monday 1 March 2027, 08:00 in London (GMT) unless a test travels elsewhere.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.models import AppointmentType, Provider, Recall, Room, WorkingHours
from scheduling.reminders import channels as sms_channel
from scheduling.services import recall_open
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    UserFactory,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=LONDON)


def count_queries(call) -> int:
    """Queries one call makes, after a first call has warmed per-process and per-user caches."""
    call()
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


def queries_with_1_and_30(clinic, call) -> tuple[int, int]:
    """Queries ``call`` makes with one appointment on Tuesday 2 March, then with thirty.

    The thirty are back-to-back quarter-hour visits of the surgeon from 09:00, each with its
    own patient, so any per-row query in a list or calendar shows up as a difference.
    """
    short = AppointmentTypeFactory(
        code="short",
        name="Short review",
        duration_minutes=15,
        provider_roles=["surgeon"],
        room_kind="consultation",
    )

    def add(i):
        AppointmentFactory(
            appointment_type=short,
            provider=clinic.surgeon,
            room=clinic.consultation_room,
            starts_at=local(2027, 3, 2, 9) + timedelta(minutes=15 * i),
        )

    add(0)
    one = count_queries(call)
    for i in range(1, 30):
        add(i)
    return one, count_queries(call)


def due_recall(patient):
    """A reinjection recall due on 1 March 2027, as treatments opens after a session."""
    return recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=date(2026, 11, 30),
        earliest_date=date(2027, 2, 22),
        due_date=date(2027, 3, 1),
        overdue_date=date(2027, 3, 22),
        source="toxin_session:1",
    )


def local(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Password hashing is not under test here; the default hasher costs ~0.2 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def provider_for(role: str, username: str, *, user=None, weekdays=range(5), location=None, hours=((9, 17),)):
    user = user or UserFactory(username=username, roles=[role])
    provider = ProviderFactory(user=user, role=role)
    location = location or LocationFactory()
    WorkingHours.objects.bulk_create(
        WorkingHours(
            provider=provider, location=location, weekday=weekday, start_time=time(start), end_time=time(end)
        )
        for weekday in weekdays
        for start, end in hours
    )
    return provider


@dataclass
class Clinic:
    consultation_room: Room
    procedure_room: Room
    therapy_room: Room
    theatre: Room
    surgeon: Provider
    injector: Provider
    therapist: Provider
    consultation: AppointmentType
    toxin: AppointmentType
    therapy: AppointmentType
    surgery: AppointmentType


@pytest.fixture
def clinic(db, frozen) -> Clinic:
    location = LocationFactory()
    return Clinic(
        consultation_room=RoomFactory(location=location, name="Consult 1", kind="consultation"),
        procedure_room=RoomFactory(location=location, name="Procedure 1", kind="procedure"),
        therapy_room=RoomFactory(location=location, name="Therapy 1", kind="therapy"),
        theatre=RoomFactory(location=location, name="Theatre", kind="theatre"),
        surgeon=provider_for("surgeon", "dr_hart", location=location),
        injector=provider_for("injector", "nurse_kay", location=location),
        therapist=provider_for("therapist", "theo", location=location),
        consultation=AppointmentTypeFactory(),
        toxin=AppointmentTypeFactory(
            code="toxin",
            name="Botulinum toxin session",
            duration_minutes=30,
            buffer_after_minutes=10,
            provider_roles=["surgeon", "injector"],
            room_kind="procedure",
            is_toxin=True,
        ),
        therapy=AppointmentTypeFactory(
            code="therapy",
            name="NMRT therapy visit",
            duration_minutes=45,
            provider_roles=["therapist"],
            room_kind="therapy",
        ),
        surgery=AppointmentTypeFactory(
            code="surgery",
            name="Surgery",
            duration_minutes=90,
            duration_set_per_booking=True,
            provider_roles=["surgeon"],
            room_kind="theatre",
        ),
    )


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture(autouse=True)
def _sms_outbox():
    sms_channel.outbox.clear()
    yield sms_channel.outbox
    sms_channel.outbox.clear()


@pytest.fixture
def sms_outbox():
    return sms_channel.outbox
