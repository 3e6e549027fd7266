"""The scheduling demo: a realistic clinic and a busy week, laid out the same way every run."""

import io
from datetime import timedelta

import pytest
import time_machine

from clinic.demo import demo_mark
from clinic.roles import Role
from devtools.demo import scheduling as demo
from scheduling.models import Appointment, AppointmentType, Provider, Room, WaitlistOffer, WorkingHours
from tests.factories import PatientFactory, UserFactory
from tests.scheduling.conftest import local
from tests.scheduling.messaging_helpers import grant_all

pytestmark = pytest.mark.django_db


def demo_patient(**fields):
    """A patient the demo owns (registered under a demo key), who agreed to appointment messages:
    the demo's diary books only those."""
    patient = PatientFactory(**fields)
    demo_mark(patient, f"patient:test:{patient.pk}")
    grant_all(patient)
    return patient


STAFF = {
    "frontdesk": Role.FRONT_DESK,
    "surgeon": Role.SURGEON,
    "surgeon2": Role.SURGEON,
    "injector": Role.INJECTOR,
    "therapist": Role.THERAPIST,
    "therapist2": Role.THERAPIST,
    "manager": Role.MANAGER,
}


@pytest.fixture
def staff():
    return {name: UserFactory(username=name, roles=[role]) for name, role in STAFF.items()}


@pytest.fixture
def wednesday():
    with time_machine.travel(local(2027, 3, 3, 11, 20), tick=False):
        yield


def run(staff) -> str:
    out = io.StringIO()
    demo.seed(staff=staff, stdout=out)
    return out.getvalue()


def counts():
    return (
        Appointment.objects.count(),
        Provider.objects.count(),
        WorkingHours.objects.count(),
        Room.objects.count(),
        AppointmentType.objects.count(),
    )


def test_demo_sets_up_the_clinic(staff, wednesday):
    run(staff)
    assert set(AppointmentType.objects.values_list("code", flat=True)) == {
        "consultation",
        "follow_up",
        "toxin",
        "therapy",
        "surgery",
        "post_op",
    }
    toxin = AppointmentType.objects.get(code="toxin")
    assert (toxin.duration_minutes, toxin.is_toxin, toxin.buffer_after_minutes, toxin.room_kind) == (
        30,
        True,
        10,
        "procedure",
    )
    surgery = AppointmentType.objects.get(code="surgery")
    assert surgery.duration_set_per_booking and [s["label"] for s in surgery.follow_up_plan] == [
        "1 week",
        "6 weeks",
        "3 months",
    ]
    assert sorted(Room.objects.values_list("kind", flat=True)) == sorted(
        ["consultation"] * 2 + ["procedure"] * 2 + ["theatre"] + ["therapy"] * 2
    )
    assert {p.user.username for p in Provider.objects.all()} == {
        "surgeon",
        "surgeon2",
        "injector",
        "therapist",
        "therapist2",
    }


def test_demo_fills_a_busy_week_that_reads_true(staff, wednesday):
    [demo_patient() for _ in range(25)]
    run(staff)
    appointments = list(Appointment.objects.select_related("appointment_type"))
    assert len(appointments) > 60
    now = local(2027, 3, 3, 11, 20)
    past = {a.status for a in appointments if a.ends_at <= now}
    future = {a.status for a in appointments if a.starts_at > now + timedelta(minutes=30)}
    assert past <= {"completed", "no_show", "cancelled"} and "completed" in past
    assert future <= {"booked", "confirmed", "cancelled"}
    assert any(a.status == "checked_in" for a in appointments)
    # A theatre day for the surgeon, on Wednesdays.
    assert any(a.appointment_type.code == "surgery" and a.room.kind == "theatre" for a in appointments)
    # Every appointment has its history.
    assert all(a.events.exists() for a in appointments[:20])
    assert WaitlistOffer.objects.exists()


def test_demo_runs_twice_without_creating_anything_new(staff, wednesday):
    [demo_patient() for _ in range(10)]
    run(staff)
    before = counts()
    run(staff)
    assert counts() == before


def test_demo_without_patients_books_nothing(staff, wednesday):
    run(staff)
    assert Appointment.objects.count() == 0
    assert Provider.objects.count() == 5


def test_demo_gives_the_clinic_a_phone_and_address_without_overwriting_real_ones(staff, wednesday):
    from clinic.models import ClinicSettings

    run(staff)
    current = ClinicSettings.load()
    assert current.clinic_phone == "+44 20 7946 0000"
    assert current.clinic_address == "1 Facial Nerve Way, London"

    ClinicSettings.objects.filter(pk=1).update(clinic_phone="+44 161 496 0000", clinic_address="")
    run(staff)
    assert ClinicSettings.load().clinic_phone == "+44 161 496 0000"
