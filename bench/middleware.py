"""Benchmark mode only (settings add it first in MIDDLEWARE when BENCHMARK_ENDPOINTS=1)."""

import time

from django.db import connection


class QueryCountMiddleware:
    """Counts the database queries each request makes and the time spent in them, and says so in
    the ``X-Query-Count`` and ``X-Query-Time-Ms`` response headers, which the benchmark samples.

    First in the stack, so that the session and authentication queries count too, as they
    would in ``assertNumQueries``. Runs only in benchmark mode: the headers would tell an
    outsider something about the server's work.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Open (or keep) the database connection before counting: a worker's first request, and
        # the first after CONN_MAX_AGE, would otherwise count the connection's set-up queries
        # (the search settings, patients.apps) as if the endpoint had made them.
        connection.ensure_connection()
        count = 0
        seconds = 0.0

        def counted(execute, sql, params, many, context):
            nonlocal count, seconds
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                count += 1
                seconds += time.perf_counter() - started

        with connection.execute_wrapper(counted):
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        response["X-Query-Time-Ms"] = f"{seconds * 1000:.2f}"
        return response
