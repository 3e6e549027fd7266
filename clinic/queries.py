"""Query expressions shared by the apps."""

from django.core.exceptions import EmptyResultSet
from django.db.models import (
    Count,
    Field,
    ForeignObject,
    IntegerField,
    Lookup,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce


def related_count(rows: QuerySet, *, to: str) -> Coalesce:
    """How many of ``rows`` point at the outer row through ``to`` (a lookup ending at its
    primary key, e.g. ``"encounter"`` or ``"device__user"``), 0 for none.

    A correlated subquery is computed for the rows a page returns; ``Count("addenda")`` joins
    and groups every row of the table before the page is cut (5 s for the list of two million
    encounters) and makes the page count group them again.
    """
    counted = rows.filter(**{to: OuterRef("pk")}).order_by().values(to).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class AnyOf(Lookup):
    """``field__any=[ids]``: the same rows as ``field__in=[ids]`` for a list of integers, sent
    to PostgreSQL as one array parameter (``field = ANY(%s)``) instead of one parameter each.

    A two-week availability search for a clinic group filters on its 334 providers and their
    rooms in several queries: about 2,400 parameters a request, each prepared by Django and
    bound into the text by psycopg, which cost a third of the request (docs/performance.md,
    "Long id lists"). The planner sees the same constant list either way, so its plans (and the
    indexes they use) do not change. Other databases get ``IN (...)``.
    """

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        values = list(self.rhs)
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in values):
            raise TypeError(f"{self.lhs} __any takes a list of integers")
        return values

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, self.rhs]
        marks = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({marks})", [*lhs_params, *self.rhs]


def register_lookups() -> None:
    """Called by ClinicConfig.ready(). Related fields read only the lookups registered from
    ForeignObject down, so it is registered there too."""
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
