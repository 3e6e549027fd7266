"""Exclusion constraints: a provider, a room and a patient are never in two active appointments
at once. PostgreSQL only (btree_gist, enabled by clinic.0003); the booking service checks the same
rules on every database, and these settle races between concurrent bookings."""

from django.db import migrations

ACTIVE = "status IN ('booked', 'confirmed', 'checked_in', 'completed')"

FORWARD = f"""
ALTER TABLE scheduling_appointment
    ADD CONSTRAINT scheduling_appointment_provider_no_overlap
    EXCLUDE USING gist (provider_id WITH =, tstzrange(starts_at, blocked_until, '[)') WITH &&)
    WHERE ({ACTIVE});
ALTER TABLE scheduling_appointment
    ADD CONSTRAINT scheduling_appointment_room_no_overlap
    EXCLUDE USING gist (room_id WITH =, tstzrange(starts_at, blocked_until, '[)') WITH &&)
    WHERE ({ACTIVE});
ALTER TABLE scheduling_appointment
    ADD CONSTRAINT scheduling_appointment_patient_no_overlap
    EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
    WHERE ({ACTIVE});
"""

BACKWARD = """
ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS scheduling_appointment_provider_no_overlap;
ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS scheduling_appointment_room_no_overlap;
ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS scheduling_appointment_patient_no_overlap;
"""

# Constraint name -> which resource was busy, for the service's error message.
CONSTRAINT_RESOURCES = {
    "scheduling_appointment_provider_no_overlap": "provider",
    "scheduling_appointment_room_no_overlap": "room",
    "scheduling_appointment_patient_no_overlap": "patient",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_initial"),
        ("clinic", "0003_postgres_extensions"),
    ]
    operations = [migrations.RunPython(forward, backward)]
