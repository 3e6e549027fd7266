"""Double booking at scale: concurrent POST /api/v1/appointments/ for one slot against a real
gunicorn (DEBUG off, several workers with threads) and PostgreSQL, through
``manage.py race_booking`` in a reduced form (the full 200-attempt figures: docs/security.md).

The same race with the exclusion constraints dropped and the advisory locks off must let
duplicates through, which proves that the race really happens and that the test can see it."""

import json

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import connection

from scheduling.models import Appointment
from tests.factories import AppointmentFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 60
# Two workers with eight threads each: sixteen bookings in flight at once, on a small machine.
SERVER = {"workers": 2, "threads": 8}


def race(tmp_path, **options) -> dict:
    report = tmp_path / "race.json"
    call_command("race_booking", attempts=ATTEMPTS, report=str(report), **SERVER, **options)
    return json.loads(report.read_text())


def constraints() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conname LIKE 'scheduling_appointment_%%_no_overlap'"
        )
        return {row[0] for row in cursor.fetchall()}


def test_concurrent_bookings_of_one_slot_give_one_201_and_only_409s(tmp_path):
    summary = race(tmp_path)

    (only,) = summary["rounds"]
    assert only["statuses"] == {"201": 1, "409": ATTEMPTS - 1}
    assert only["server_errors"] == 0
    assert only["appointments"] == 1
    assert Appointment.objects.filter(provider__user__username="race-surgeon").count() == 1


def test_without_the_constraints_and_locks_the_same_race_double_books(tmp_path):
    summary = race(tmp_path, without_constraint=True, rounds=5)

    assert summary["max_appointments_for_one_slot"] > 1
    assert summary["server_errors"] == 0
    # The constraints are back afterwards, and the race's duplicates cancelled.
    assert constraints() == {
        "scheduling_appointment_provider_no_overlap",
        "scheduling_appointment_room_no_overlap",
        "scheduling_appointment_patient_no_overlap",
    }
    assert (
        Appointment.objects.active().filter(provider__user__username="race-surgeon").count()
        == summary["rounds_run"]
    )


def test_it_will_not_drop_the_constraints_where_real_appointments_live(tmp_path):
    AppointmentFactory()

    with pytest.raises(CommandError, match="throwaway database"):
        race(tmp_path, without_constraint=True)

    assert len(constraints()) == 3


def test_the_deploy_check_warns_when_the_booking_locks_are_off(settings):
    settings.SCHEDULING_BOOKING_LOCKS = False

    assert "scheduling.W001" in [message.id for message in run_checks(include_deployment_checks=True)]
