"""Query expressions shared by the apps."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
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
