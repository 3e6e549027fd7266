"""The no-overlap rules declared on Appointment.Meta are the very constraints the database holds."""

import pytest
from django.db import connection, transaction

from scheduling.constraints import PostgresExclusionConstraint
from scheduling.models import Appointment
from scheduling.services import CONSTRAINT_RESOURCES

pytestmark = pytest.mark.django_db(transaction=True)

DECLARED = [c for c in Appointment._meta.constraints if isinstance(c, PostgresExclusionConstraint)]


def _definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'scheduling_appointment'::regclass AND contype = 'x'"
        )
        return dict(cursor.fetchall())


def test_each_declared_constraint_is_the_one_the_database_holds():
    held = _definitions()
    assert {c.name for c in DECLARED} == set(held) and len(held) == 3
    rebuilt = {}
    # Drop the migration-made constraint and let Django create the declared one in its place,
    # then compare PostgreSQL's own rendering of both; nothing is kept.
    with transaction.atomic():
        with connection.schema_editor(atomic=False) as editor:
            for constraint in DECLARED:
                editor.remove_constraint(Appointment, constraint)
                editor.add_constraint(Appointment, constraint)
        rebuilt = _definitions()
        transaction.set_rollback(True)
    assert rebuilt == held
    assert _definitions() == held


def test_the_booking_service_names_the_busy_resource_from_the_model():
    assert CONSTRAINT_RESOURCES == {
        "scheduling_appointment_provider_no_overlap": "provider",
        "scheduling_appointment_room_no_overlap": "room",
        "scheduling_appointment_patient_no_overlap": "patient",
    }


def test_nothing_is_emitted_where_the_database_has_no_exclusion_constraints():
    class SqliteEditor:
        class connection:
            vendor = "sqlite"

    for constraint in DECLARED:
        assert constraint.constraint_sql(Appointment, SqliteEditor) is None
        assert constraint.create_sql(Appointment, SqliteEditor) is None
        assert constraint.remove_sql(Appointment, SqliteEditor) is None
