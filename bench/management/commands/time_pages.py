"""Time pages and API calls in process, and patient search at the database, on a seeded database.

    python manage.py time_pages --role front_desk --repeat 7 /recalls/ "/schedule/?date=2026-12-09" \
        --i-know-this-is-not-production
    python manage.py time_pages --search-sample 200

For quick before-and-after figures while working on a hot path, without starting servers: each
URL is requested through Django's test client (the whole middleware stack, signed in as the
first ``seed_scale`` staff member of the role, as from the TLS proxy), ``--repeat`` times after
two warm-up requests; it prints the median and fastest time and the number of queries. The HTTP
benchmark (``bin/bench``) stays the measure of record: this one has no server, no concurrency
and no bare-app baseline.

``--search-sample N`` takes every k-th patient for N patients, makes the benchmark's term mix
from them (``bench.workloads.search_terms``: misspelt names, surnames, part names, MRNs, names
with a date of birth) and runs each term's SQL under EXPLAIN ANALYZE three times, as the HTTP
benchmark's "search at the database" does; it prints p50, p95 and the slowest terms.

Reads only, apart from what the pages themselves write (an audit row per chart or record read).
"""

import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.workloads import search_at_database, search_terms
from clinic import throwaway
from devtools.scale_seed import STAFF_PREFIX
from patients.models import Patient


class Command(BaseCommand):
    help = "Time URLs in process (test client) and patient search at the database."

    def add_arguments(self, parser):
        parser.add_argument("urls", nargs="*", help="Paths to GET, e.g. /recalls/")
        parser.add_argument("--role", default="front_desk", help="seed_scale staff role (default front_desk)")
        parser.add_argument("--repeat", type=int, default=7, help="Timed requests per URL (default 7)")
        parser.add_argument("--search-sample", type=int, default=0, help="Patients to make search terms from")
        parser.add_argument("--seed", type=int, default=7, help="Random seed of the term mix")
        throwaway.add_flag(parser, writes="it signs in as a seed account, and the pages it reads are audited")

    def handle(self, *args, urls, role, repeat, search_sample, seed, **options):
        if not urls and not search_sample:
            raise CommandError("Give URLs to time, or --search-sample N.")
        if not 1 <= repeat <= 1000 or not 0 <= search_sample <= 10_000:
            raise CommandError("--repeat must be 1 to 1000 and --search-sample 0 to 10000.")
        if urls:
            throwaway.require(options, refusing="sign in as a seed account and read pages")
            self._time_urls(urls, role, repeat)
        if search_sample:
            self._time_search(search_sample, seed)

    def _time_urls(self, urls, role, repeat):
        user = (
            get_user_model()
            .objects.filter(username__startswith=f"{STAFF_PREFIX}{role}.", is_active=True)
            .order_by("username")
            .first()
        )
        if user is None:
            raise CommandError(f"No {STAFF_PREFIX}{role}.* user: run seed_scale first.")
        client = Client(HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="localhost")
        client.force_login(user)
        for url in urls:
            for _ in range(2):
                client.get(url)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            with CaptureQueriesContext(connection) as run:
                client.get(url)
            self.stdout.write(
                f"{url}  {response.status_code}  median {statistics.median(times):.1f} ms  "
                f"fastest {min(times):.1f} ms  {len(run.captured_queries)} queries"
            )

    def _time_search(self, sample, seed):
        import random

        total = Patient.objects.count()
        step = max(1, total // sample)
        ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True)[::step][:sample])
        terms = search_terms(random.Random(seed), list(Patient.objects.filter(pk__in=ids).order_by("pk")))
        rows = []
        for term in terms:
            result = search_at_database([term], repeat=3)
            rows.append((statistics.median(result["times_ms"]), term, bool(result["seq_scan_terms"])))
        times = sorted(ms for ms, _, _ in rows)
        self.stdout.write(
            f"search at the database: {len(times)} terms, p50 {times[len(times) // 2]:.1f} ms, "
            f"p95 {times[int(len(times) * 0.95)]:.1f} ms, max {times[-1]:.1f} ms, "
            f"{sum(1 for *_, seq in rows if seq)} with a sequential scan"
        )
        for ms, term, seq in sorted(rows, reverse=True)[:10]:
            self.stdout.write(f"  {ms:6.1f} ms  {term!r}{'  SEQUENTIAL SCAN' if seq else ''}")
