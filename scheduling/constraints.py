"""Exclusion constraints declared on the model, enforced where the database can.

PostgreSQL enforces "never two active appointments at once" for a provider, a room and a patient
with GiST exclusion constraints (btree_gist). SQLite, the quick start's database, has no such
constraint: there the booking service's checks, run while SQLite serialises writers, are the
rule. This subclass emits nothing on other databases, so that the model can declare the rule for
every reader of ``Appointment.Meta`` and Django's migrations still run on SQLite.
"""

from collections.abc import Sequence
from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Func, Model

__all__ = ["PostgresExclusionConstraint", "RangeBoundary", "RangeOperators", "TsTzRange"]


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class PostgresExclusionConstraint(ExclusionConstraint):
    # Which resource a violation is about, for the booking service's error message.
    def __init__(self, *args: Any, resource: str = "", **kwargs: Any) -> None:
        self.resource = resource
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs["resource"] = self.resource
        return path, args, kwargs

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and getattr(other, "resource", None) == self.resource

    @staticmethod
    def _supported(schema_editor: BaseDatabaseSchemaEditor | None) -> bool:
        return schema_editor is not None and schema_editor.connection.vendor == "postgresql"

    def constraint_sql(
        self, model: type[Model] | None, schema_editor: BaseDatabaseSchemaEditor | None
    ) -> Any:
        return super().constraint_sql(model, schema_editor) if self._supported(schema_editor) else None

    def create_sql(self, model: type[Model] | None, schema_editor: BaseDatabaseSchemaEditor | None) -> Any:
        return super().create_sql(model, schema_editor) if self._supported(schema_editor) else None

    def remove_sql(self, model: type[Model] | None, schema_editor: BaseDatabaseSchemaEditor | None) -> Any:
        return super().remove_sql(model, schema_editor) if self._supported(schema_editor) else None

    def validate(self, *args: Any, **kwargs: Any) -> None:
        # Bookings go through the booking service, which checks the same rule under locks with
        # a clear message; the constraint is the last guarantee, not a form validator.
        return None
