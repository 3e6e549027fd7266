"""The no-overlap exclusion constraints, created in SQL by 0002, are now declared on the model
(Appointment.Meta). This records them in Django's migration state only: the database already
has them, under the same names, so nothing is rebuilt on a large appointment table."""

import django.contrib.postgres.fields.ranges
import scheduling.constraints
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_mrn_part_search_index"),
        ("scheduling", "0012_appointment_calendar_sequence"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AddConstraint(
                    model_name="appointment",
                    constraint=scheduling.constraints.PostgresExclusionConstraint(
                        condition=models.Q(
                            ("status__in", ("booked", "confirmed", "checked_in", "completed"))
                        ),
                        expressions=[
                            ("provider", "="),
                            (
                                scheduling.constraints.TsTzRange(
                                    "starts_at",
                                    "blocked_until",
                                    django.contrib.postgres.fields.ranges.RangeBoundary(),
                                ),
                                "&&",
                            ),
                        ],
                        name="scheduling_appointment_provider_no_overlap",
                        resource="provider",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="appointment",
                    constraint=scheduling.constraints.PostgresExclusionConstraint(
                        condition=models.Q(
                            ("status__in", ("booked", "confirmed", "checked_in", "completed"))
                        ),
                        expressions=[
                            ("room", "="),
                            (
                                scheduling.constraints.TsTzRange(
                                    "starts_at",
                                    "blocked_until",
                                    django.contrib.postgres.fields.ranges.RangeBoundary(),
                                ),
                                "&&",
                            ),
                        ],
                        name="scheduling_appointment_room_no_overlap",
                        resource="room",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="appointment",
                    constraint=scheduling.constraints.PostgresExclusionConstraint(
                        condition=models.Q(
                            ("status__in", ("booked", "confirmed", "checked_in", "completed"))
                        ),
                        expressions=[
                            ("patient", "="),
                            (
                                scheduling.constraints.TsTzRange(
                                    "starts_at",
                                    "ends_at",
                                    django.contrib.postgres.fields.ranges.RangeBoundary(),
                                ),
                                "&&",
                            ),
                        ],
                        name="scheduling_appointment_patient_no_overlap",
                        resource="patient",
                    ),
                ),
            ],
        ),
    ]
