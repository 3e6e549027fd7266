"""Exclusion constraints declared on the model, enforced where the database can.

PostgreSQL enforces "never two active appointments at once" for a provider, a room and a patient
with GiST exclusion constraints (btree_gist). SQLite, the quick start's database, has no such
constraint: there the booking service's checks, run while SQLite serialises writers, are the
rule. This subclass emits nothing on other databases, so that the model can declare the rule for
every reader of ``Appointment.Meta`` and Django's migrations still run on SQLite.
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db.models import Func

__all__ = ["PostgresExclusionConstraint", "RangeBoundary", "RangeOperators", "TsTzRange"]


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class PostgresExclusionConstraint(ExclusionConstraint):
    # Which resource a violation is about, for the booking service's error message.
    def __init__(self, *args, resource: str = "", **kwargs):
        self.resource = resource
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        kwargs["resource"] = self.resource
        return path, args, kwargs

    def __eq__(self, other):
        return super().__eq__(other) and getattr(other, "resource", None) == self.resource

    @staticmethod
    def _supported(schema_editor) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def constraint_sql(self, model, schema_editor):
        return super().constraint_sql(model, schema_editor) if self._supported(schema_editor) else None

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if self._supported(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if self._supported(schema_editor) else None

    def validate(self, *args, **kwargs):
        # Bookings go through the booking service, which checks the same rule under locks with
        # a clear message; the constraint is the last guarantee, not a form validator.
        return None
