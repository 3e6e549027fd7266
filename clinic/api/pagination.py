"""The API's pager: pages by number, with a count that never reads more than COUNT_CAP rows.

DRF's PageNumberPagination counts every row of the list on every request to number the pages.
At a million patients that count was most of the cost of the patient list (172 ms of 187 ms),
and a client asking for the first twenty rows pays it each time. Here a page is read with one
row more than it shows (that row says whether there is a next page), and the count is

- taken from the page itself when the page is the last one (nothing left to count);
- otherwise counted up to ``COUNT_CAP + 1`` rows (``SELECT COUNT(*) FROM (... LIMIT 1001)``,
  which stops early) and given exactly when the list has at most ``COUNT_CAP`` rows;
- ``null`` beyond that: "more than 1,000". A filter narrows the list; ``next`` pages on.

So no request's cost grows with the table: a page reads ``page_size + 1`` rows after its
offset, and a count at most ``COUNT_CAP + 1``. Deep pages pay for their offset, as any offset
pager does; they are what a client walking a whole list asks for, not what screens ask for.
``tests/perf/test_query_counts.py`` fails when an API list counts without a limit.
"""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from clinic.paging import capped_count

COUNT_CAP = 1_000
PAGE_MESSAGE = "A page number: a whole number from 1."


class Pagination(BasePagination):
    page_size = 25
    page_query_param = "page"
    page_size_query_param = "page_size"
    max_page_size = 100
    count_cap = COUNT_CAP
    template = "rest_framework/pagination/previous_and_next.html"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size_now = self.get_page_size(request)
        self.number = self.get_page_number(request)
        offset = (self.number - 1) * self.page_size_now
        rows = list(queryset[offset : offset + self.page_size_now + 1])
        self.has_next = len(rows) > self.page_size_now
        rows = rows[: self.page_size_now]
        if self.number > 1 and not rows:
            # Past the end: not found, as DRF answers (the error format gives it its code).
            raise NotFound(f"Invalid page: page {self.number} is past the end of the list.")
        if not self.has_next:
            self.count = offset + len(rows)  # the last page: nothing left to count
        else:
            self.count = capped_count(queryset, self.count_cap)
        self.display_page_controls = self.has_next or self.number > 1
        return rows

    def get_page_number(self, request) -> int:
        # A page that is not a whole number from 1 is bad input (400); a page past the end is
        # not found (404). Sent empty (``?page=``) it is no number either: the schema says
        # integer, and a client that sends nothing should send no parameter.
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        text = raw.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 9 and int(text) >= 1):
            raise ValidationError({self.page_query_param: [PAGE_MESSAGE]})
        return int(text)

    def get_page_size(self, request) -> int:
        # A page size that is not a whole number from 1 is bad input (400), not the default in
        # silence; a larger one than max_page_size is capped.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        text = raw.strip()
        if not (text.isascii() and text.isdigit() and int(text[:12]) >= 1):
            raise ValidationError({self.page_size_query_param: ["A page size: a whole number from 1."]})
        return min(int(text[:12]), self.max_page_size)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number == 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "nullable": True,
                    "description": f"How many results in all; null when more than {self.count_cap:,}.",
                },
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_html_context(self):
        return {"previous_url": self.get_previous_link(), "next_url": self.get_next_link()}

    def to_html(self):
        from django.template import loader

        return loader.get_template(self.template).render(self.get_html_context())

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "A page number within the paginated result set.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Number of results per page (capped at {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
