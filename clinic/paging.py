"""Pagers for pages whose lists grow with the clinic group (patients, messages, the audit log).

Django's Paginator counts every row to number the pages: a million patients cost a quarter of
a second on each request for a count nobody reads past "many". ``CappedPaginator`` counts at
most ``cap`` rows (``SELECT COUNT(*) FROM (... LIMIT cap + 1)``, which stops early) and pages
through those; beyond them, a search or a filter is the way in. The pager then reads "Page 1
of 400+".
"""

from collections.abc import Sequence

from django.core.paginator import Paginator
from django.db import connections, router
from django.db.models import QuerySet
from django.utils.functional import cached_property

# 400 pages of 25: far more than anyone pages through by hand.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = COUNT_CAP if cap is None else cap

    @cached_property
    def count(self) -> int:
        """The rows, counted up to ``cap + 1``: ``cap + 1`` means more than ``cap``."""
        return _count_up_to(self.object_list, self.cap + 1)

    @property
    def capped(self) -> bool:
        """More rows than were counted: the last page is not the end of the list."""
        return self.count > self.cap

    @cached_property
    def num_pages(self) -> int:
        if self.capped:
            return self.cap // self.per_page
        return super().num_pages


def capped_count(rows: QuerySet | Sequence, cap: int) -> int | None:
    """How many rows, or None when there are more than ``cap``; reads at most ``cap + 1``."""
    counted = _count_up_to(rows, cap + 1)
    return counted if counted <= cap else None


def _count_up_to(rows: QuerySet | Sequence, limit: int) -> int:
    """How many rows, reading at most ``limit``. A queryset is counted unordered and by its key
    only: an ORDER BY would sort every matching row before the limit, and annotations (an
    addendum count per encounter, the recall worklist's six subqueries) would be computed for
    each row counted. Unions and DISTINCT keep their own select list, which decides the rows."""
    if isinstance(rows, QuerySet):
        if not (rows.query.combinator or rows.query.distinct):
            rows = rows.order_by().values("pk")
        return rows[:limit].count()
    return len(rows[:limit])


def capped_counts(querysets: dict[str, QuerySet], *, cap: int) -> dict[str, int | None]:
    """Several counts in one query, each of at most ``cap + 1`` rows: None means more than
    ``cap``. For tab badges and the like, where "1,000+" says all there is to say and an exact
    count would read every matching row on each request."""
    if not querysets:
        return {}
    parts, params = [], []
    for queryset in querysets.values():
        # Unordered: an ORDER BY would sort every matching row before the limit.
        sql, args = queryset.order_by()[: cap + 1].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")  # noqa: S608 (the ORM's SQL, values bound)
        params.extend(args)
    model = next(iter(querysets.values())).model
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return {name: (n if n <= cap else None) for name, n in zip(querysets, row, strict=True)}
