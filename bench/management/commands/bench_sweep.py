"""Time every page and API list that takes no argument, in-process, on the database given.

    python manage.py bench_sweep --i-know-this-is-not-production [--repeat 5] [--json out.json]
    python manage.py bench_sweep --i-know-this-is-not-production "/schedule/?date=2026-12-09" ...
    python manage.py bench_sweep --search-sample 300

The HTTP benchmark (bench_http) measures the endpoints the front desk and clinicians lean on,
through gunicorn under load. This is the sweep beside it: one signed-in member of staff asks
for each page and each API list once to warm up, then ``--repeat`` times, and the table gives
the median time, the size of the answer and the queries it made, slowest first. Run on a
scale database (``seed_scale``), it finds the list that sorts a whole table or the page that
grows with the clinic group before a clinic does (docs/performance.md, "Found and fixed").

Given paths (with their query strings, API ones too), it times only those: the quick
before-and-after figure while working on a hot path, without starting servers (``bin/bench``
stays the measure of record: it has the server, the concurrency and the bare-app baseline).

It signs in as its own account (``bench-sweep``, every role, made or reset on each run), and
every read of patient data it makes is audited as that account: hence the flag.

``--search-sample N`` takes N patients spread over the register, makes the HTTP benchmark's term
mix from them (``bench.workloads.search_terms``: misspelt names, surnames, part names, MRNs,
names with a date of birth) and runs each term's SQL under EXPLAIN ANALYZE three times, as the
benchmark's "search at the database" does: p50, p95 and the slowest terms. It only reads.
"""

import json
import random
import statistics
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from bench.workloads import search_at_database, search_terms
from clinic import throwaway
from clinic.roles import Role
from patients.models import Patient

USERNAME = "bench-sweep"
# Not pages of the staff application, or not safe to GET in a loop.
SKIPPED_PREFIXES = ("/admin/", "/static/", "/bench/", "/p/", "/logout/", "/login/", "/api/")


class Command(BaseCommand):
    help = "Time every argument-free page and API list in-process; slowest first."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="time only these (e.g. /recalls/?bucket=overdue)")
        parser.add_argument("--repeat", type=int, default=5, help="timed requests per route (default 5)")
        parser.add_argument("--json", help="also write the results here")
        parser.add_argument("--search-sample", type=int, default=0, help="search at the database instead")
        parser.add_argument("--seed", type=int, default=7, help="random seed of the search term mix")
        throwaway.add_flag(parser, writes="it signs in as its own account, made for the run")

    def handle(self, *args, **options):
        if options["search_sample"]:
            if not 1 <= options["search_sample"] <= 10_000:
                raise CommandError("--search-sample takes 1 to 10000.")
            self._search(options["search_sample"], options["seed"])
            return
        throwaway.require(options, refusing="sweep this database")
        if not 1 <= options["repeat"] <= 1000:
            raise CommandError("--repeat takes 1 to 1000.")
        if any(not path.startswith("/") for path in options["paths"]):
            raise CommandError("Paths begin with a slash: /recalls/?bucket=due")
        client = Client(SERVER_NAME=_host(), HTTP_X_FORWARDED_PROTO="https")
        client.force_login(_account())
        # Its account has no authenticator app: as in bench_http's server, the second factor is
        # not asked for, or every page would measure the redirect to setting one up.
        with override_settings(REQUIRE_MFA=False):
            paths = options["paths"] or _paths(client)
            results = [_measure(client, path, options["repeat"]) for path in paths]
        results.sort(key=lambda r: -r["median_ms"])
        self.stdout.write(f"{'median ms':>10} {'status':>6} {'KB':>7} {'queries':>7}  path")
        for r in results:
            ms, status, size, queries = r["median_ms"], r["status"], r["bytes"] / 1024, r["queries"]
            self.stdout.write(f"{ms:>10.1f} {status:>6} {size:>7.0f} {queries:>7}  {r['path']}")
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(results, indent=2) + "\n")
        failed = [r["path"] for r in results if r["status"] >= 500]
        if failed:
            raise CommandError(f"Server errors: {', '.join(failed)}")

    def _search(self, sample: int, seed: int) -> None:
        total = Patient.objects.count()
        if not total:
            raise CommandError("No patients to make search terms from.")
        ids = Patient.objects.order_by("pk").values_list("pk", flat=True)[:: max(1, total // sample)]
        patients = list(Patient.objects.filter(pk__in=list(ids[:sample])).order_by("pk"))
        rows = []
        for term in search_terms(random.Random(seed), patients):
            result = search_at_database([term], repeat=3)
            rows.append((statistics.median(result["times_ms"]), term, bool(result["seq_scan_terms"])))
        times = sorted(ms for ms, _, _ in rows)
        scans = sum(1 for *_, scanned in rows if scanned)
        self.stdout.write(
            f"search at the database: {len(times)} terms, p50 {times[len(times) // 2]:.1f} ms, "
            f"p95 {times[int(len(times) * 0.95)]:.1f} ms, max {times[-1]:.1f} ms, "
            f"{scans} with a sequential scan"
        )
        for ms, term, scanned in sorted(rows, reverse=True)[:10]:
            self.stdout.write(f"  {ms:6.1f} ms  {term!r}{'  SEQUENTIAL SCAN' if scanned else ''}")


def _host() -> str:
    hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
    return hosts[0] if hosts else "testserver"


def _account():
    user, _ = get_user_model().objects.get_or_create(
        username=USERNAME, defaults={"first_name": "Sweep", "last_name": "Benchmark"}
    )
    user.set_unusable_password()  # signed in with force_login only
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    user.groups.set(Group.objects.filter(name__in=Role.values))
    return user


def _paths(client: Client) -> list[str]:
    """Every page route without parameters, and every list the API root names."""
    pages = sorted(
        {
            path
            for path in _patterns(get_resolver().url_patterns)
            if "<" not in path and "(" not in path and not path.startswith(SKIPPED_PREFIXES)
        }
    )
    root = client.get("/api/v1/")
    if root.status_code != 200:
        raise CommandError(f"The API root answered {root.status_code}.")
    return pages + [urlsplit(url).path for url in root.json().values()]


def _patterns(patterns, prefix: str = "/"):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _measure(client: Client, path: str, repeat: int) -> dict:
    client.get(path)  # warm-up: caches, the first compile of each template
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
    return {
        "path": path,
        "status": response.status_code,
        "median_ms": round(statistics.median(times), 1),
        "bytes": len(response.content) if not response.streaming else 0,
        "queries": len(queries.captured_queries),
    }
