"""An appointment holds its provider and room for at most MAX_BLOCK_SPAN (28 hours).

Window searches (availability, day views) read appointments by start time from MAX_BLOCK_SPAN
before the window; this constraint guarantees none is missed. PostgreSQL only (interval
arithmetic); the booking service enforces the same bound everywhere.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE scheduling_appointment
    ADD CONSTRAINT scheduling_appointment_span_bounded
    CHECK (blocked_until <= starts_at + interval '28 hours');
"""

BACKWARD = "ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS scheduling_appointment_span_bounded;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0003_waitlist_and_cancellation_reason")]
    operations = [migrations.RunPython(forward, backward)]
