"""The demo data touches only its own records, is idempotent, and obeys the clinic's rules."""

import io

import pytest
import time_machine
from django.core.management import call_command

from clinic.models import DemoRecord
from patients.models import Patient
from scheduling.models import Appointment, Message, Recall
from tests.factories import PatientFactory
from tests.scheduling.conftest import local
from treatments.models import Assessment, Encounter, TreatmentPlan

pytestmark = pytest.mark.django_db


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Patient, Appointment, Encounter, Assessment, TreatmentPlan, Recall, Message, DemoRecord)
    }


@pytest.fixture
def seeded_twice(settings):
    """A real patient registered before the demo loads, then the demo loaded twice (bin/run twice)."""
    settings.DEBUG = True  # the quick start's demo (without DEBUG it needs --allow-without-debug)
    with time_machine.travel(local(2027, 3, 3, 11, 20), tick=False):
        real = PatientFactory(first_name="Margaret", last_name="Reynolds")
        # Same name and date of birth as a demo patient: still not the demo's.
        twin = PatientFactory(first_name="John", last_name="Smith", date_of_birth="1968-04-12")
        call_command("seed_demo", stdout=io.StringIO())
        first = _counts()
        call_command("seed_demo", stdout=io.StringIO())
        second = _counts()
    return real, twin, first, second


def test_the_demo_loaded_twice_changes_nothing_spares_real_patients_and_keeps_its_own_rules(seeded_twice):
    """One test for both checks of a seeded database: loading the demo twice takes a minute."""
    real, twin, first, second = seeded_twice
    assert first == second
    assert first["Encounter"] > 100 and first["Appointment"] > 100
    for patient in (real, twin):
        assert not Encounter.objects.filter(patient=patient).exists()
        assert not Assessment.objects.filter(patient=patient).exists()
        assert not TreatmentPlan.objects.filter(patient=patient).exists()
        assert not Recall.objects.filter(patient=patient).exists()
        assert not Appointment.objects.filter(patient=patient).exists()
        assert not Message.objects.filter(patient=patient).exists()
        assert not patient.waitlist_entries.exists()
        assert not DemoRecord.objects.filter(object_id=patient.pk, key__startswith="patient:").exists()
    # The twin's namesake was created as the demo's own patient beside her.
    assert Patient.objects.filter(first_name="John", last_name="Smith").count() == 2

    # Its bookings have consent and planned reminders, and its recalls follow them.
    with time_machine.travel(local(2027, 3, 3, 11, 20), tick=False):
        from django.utils import timezone

        now = timezone.now()
        future = Appointment.objects.filter(
            starts_at__gt=now + timezone.timedelta(days=2),
            status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
        )
        assert future.exists()
        for appointment in future:
            kinds = set(appointment.messages.values_list("kind", flat=True))
            assert {Message.Kind.APPOINTMENT_CONFIRMATION, Message.Kind.APPOINTMENT_REMINDER} <= kinds, (
                appointment.pk
            )
            assert appointment.patient.consents.filter(purpose="appointment_reminders", granted=True).exists()
        # No open recall is left that a booking in the diary already answers.
        from scheduling.services import recall_upcoming_booking

        booked = Recall.objects.filter(status=Recall.Status.BOOKED)
        assert booked.exists()
        for recall in Recall.objects.filter(status=Recall.Status.OPEN):
            assert recall_upcoming_booking(recall) is None, recall.pk


def test_a_database_seeded_before_the_registry_gets_no_second_demo():
    """Its demo patients carry no key, so nothing tells them from real ones: the demo adds
    nothing and says how to start afresh."""
    from devtools.demo import patients as patients_demo

    PatientFactory(
        first_name="John", last_name="Smith", date_of_birth="1968-04-12", email="john.smith@example.com"
    )
    out = io.StringIO()
    patients_demo.seed(staff={}, stdout=out)
    assert Patient.objects.count() == 1
    assert "Delete var/" in out.getvalue()
