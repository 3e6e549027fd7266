"""EXPLAIN (ANALYZE, BUFFERS) the queries behind the busiest screens, on a database at scale.

    python manage.py explain_hot_queries --json var/explain.json --plans var/explain-plans.txt

Runs each scenario once through the real code (selectors, the day view, the API list, the
recall worklist, the patient chart) while capturing its SQL, then runs every captured SELECT
under EXPLAIN (ANALYZE, BUFFERS) a few times and reports the median execution time, the rows
and any sequential scan of a large table. Read-only apart from what the screens themselves write
(the chart records that it was viewed, as always). Meant for the ``seed_scale`` database.
"""

import json
import statistics
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from clinic.roles import Role
from devtools.scale_seed import STAFF_PREFIX
from patients.models import Patient
from patients.selectors import patient_search
from scheduling import availability, calendar, clock
from scheduling.models import AppointmentType
from treatments.models import Encounter

LARGE_TABLE_ROWS = 50_000
SLOW_MS = 50.0


class Command(BaseCommand):
    help = "EXPLAIN ANALYZE the hot queries (search, day view, availability, lists, chart) at scale."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=3, help="EXPLAIN runs per query (median reported)")
        parser.add_argument("--only", help="Run only scenarios whose name contains this")
        parser.add_argument("--json", help="Write the results to this JSON file")
        parser.add_argument("--plans", help="Write the text plans to this file")

    def handle(self, *args, repeat: int, only: str | None, **options):
        if connection.vendor != "postgresql":
            raise CommandError("EXPLAIN ANALYZE here needs PostgreSQL.")
        self.large = self._large_tables()
        results = []
        plan_text = []
        for name, run in self._scenarios():
            if only and only not in name:
                continue
            with CaptureQueriesContext(connection) as captured:
                run()
            for n, query in enumerate(captured.captured_queries):
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT") or "django_session" in sql:
                    continue
                result, text = self._explain(sql, repeat)
                result.update(scenario=name, query=n + 1, sql=sql[:300])
                results.append(result)
                plan_text.append(f"== {name} #{n + 1} ({result['ms']:.2f} ms)\n{sql}\n{text}\n")
        self._print(results)
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(results, indent=2) + "\n")
        if options["plans"]:
            Path(options["plans"]).write_text("\n".join(plan_text))

    # --- scenarios --------------------------------------------------------------------------

    def _scenarios(self):
        today = clock.local_today()
        toxin = AppointmentType.objects.filter(code="toxin").first()
        User = get_user_model()
        desk = User.objects.filter(username__startswith=f"{STAFF_PREFIX}{Role.FRONT_DESK}").first()
        surgeon = User.objects.filter(username__startswith=f"{STAFF_PREFIX}{Role.SURGEON}").first()
        if desk is None or surgeon is None:
            raise CommandError("No seed_scale staff here: run seed_scale first.")
        sample = (
            Patient.objects.filter(pk__gte=Patient.objects.count() // 2)
            .exclude(mobile="")
            .order_by("pk")
            .first()
        )
        if sample is None or toxin is None:
            raise CommandError("Too few seeded patients here: run seed_scale (--size ci at least) first.")
        accented = (
            Patient.objects.filter(pk__gte=sample.pk, last_name__regex=r"[^\x00-\x7F]").order_by("pk").first()
        )
        busiest = (
            Encounter.objects.filter(patient_id__gte=sample.pk, patient_id__lt=sample.pk + 20_000)
            .values("patient_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        toxin_patient = (
            Encounter.objects.filter(kind="toxin", patient_id__gte=sample.pk)
            .values_list("patient_id", flat=True)
            .first()
        )
        if accented is None or busiest is None or toxin_patient is None:
            raise CommandError(
                "The seeded data lacks an accented surname, encounters or a toxin session past the "
                "middle of the register: run seed_scale (--size ci at least) first."
            )
        busiest = busiest["patient_id"]
        if "testserver" not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        desk_client, surgeon_client = Client(), Client()
        desk_client.force_login(desk)
        surgeon_client.force_login(surgeon)

        def search(text):
            return lambda: list(patient_search(query=text))

        def get(client, url):
            def run():
                response = client.get(url)
                if response.status_code != 200:
                    raise CommandError(f"{url} answered {response.status_code}")

            return run

        return [
            ("search: typo'd name 'jon smyth'", search("jon smyth")),
            ("search: common surname 'smith'", search("smith")),
            ("search: first + last name", search(f"{sample.first_name} {sample.last_name}")),
            ("search: accented surname", search(accented.last_name)),
            (
                "search: surname + date of birth",
                search(f"{sample.last_name} {sample.date_of_birth:%d/%m/%Y}"),
            ),
            ("search: MRN", search(sample.mrn)),
            ("search: phone", search(str(sample.mobile))),
            ("search: email", search(sample.email.upper() or "nobody@example.com")),
            ("day view, all providers (selector)", lambda: calendar.provider_day(day=today)),
            ("day view page", get(desk_client, f"/schedule/?date={today:%Y-%m-%d}")),
            (
                "availability: toxin, 2 weeks, all providers",
                lambda: availability.availability_for(
                    appointment_type=toxin, date_from=today, date_to=today + timedelta(days=13)
                ),
            ),
            (
                "availability: toxin, 2 weeks, for a patient",
                lambda: availability.availability_for(
                    appointment_type=toxin,
                    date_from=today,
                    date_to=today + timedelta(days=13),
                    patient=Patient.objects.get(pk=toxin_patient),
                ),
            ),
            ("API: appointment list, default", get(desk_client, "/api/v1/appointments/")),
            (
                "API: appointment list, one day",
                get(desk_client, f"/api/v1/appointments/?date_from={today}&date_to={today}"),
            ),
            ("recall worklist page (due)", get(desk_client, "/recalls/")),
            ("recall worklist page (overdue)", get(desk_client, "/recalls/?bucket=overdue")),
            ("recall worklist page (upcoming)", get(desk_client, "/recalls/?bucket=upcoming")),
            ("API: recall list, default", get(desk_client, "/api/v1/recalls/")),
            ("patient chart, busiest patient", get(surgeon_client, f"/patients/{busiest}/")),
            ("patient chart, toxin patient", get(surgeon_client, f"/patients/{toxin_patient}/")),
        ]

    # --- EXPLAIN ------------------------------------------------------------------------------

    def _large_tables(self) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > %s", [LARGE_TABLE_ROWS]
            )
            return {r[0] for r in cursor.fetchall()}

    def _explain(self, sql: str, repeat: int) -> tuple[dict, str]:
        times, planning, plan = [], [], None
        with connection.cursor() as cursor:
            for _ in range(repeat):
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
                raw = cursor.fetchone()[0]
                plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
                times.append(plan["Planning Time"] + plan["Execution Time"])
                planning.append(plan["Planning Time"])
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            text = "\n".join(r[0] for r in cursor.fetchall())
        seq = sorted(
            {n["Relation Name"] for n in _nodes(plan["Plan"]) if n["Node Type"] == "Seq Scan"} & self.large
        )
        return {
            "ms": round(statistics.median(times), 2),
            "planning_ms": round(statistics.median(planning), 2),
            "rows": plan["Plan"].get("Actual Rows"),
            "shared_hit": plan["Plan"].get("Shared Hit Blocks", 0),
            "shared_read": plan["Plan"].get("Shared Read Blocks", 0),
            "seq_scans_of_large_tables": seq,
        }, text

    def _print(self, results: list[dict]) -> None:
        self.stdout.write(f"{'scenario':<46}{'#':>3}{'ms':>10}{'plan ms':>9}{'rows':>8}  flags")
        for r in results:
            flags = []
            if r["seq_scans_of_large_tables"]:
                flags.append("SEQ SCAN " + ",".join(r["seq_scans_of_large_tables"]))
            if r["ms"] > SLOW_MS:
                flags.append("SLOW")
            self.stdout.write(
                f"{r['scenario'][:45]:<46}{r['query']:>3}{r['ms']:>10.2f}"
                f"{r['planning_ms']:>9.2f}{r['rows']!s:>8}  "
                f"{' '.join(flags)}"
            )
        total = {}
        for r in results:
            total[r["scenario"]] = total.get(r["scenario"], 0) + r["ms"]
        self.stdout.write("\nPer scenario (sum of its queries, database time):")
        for name, ms in total.items():
            self.stdout.write(f"  {name:<50}{ms:>10.1f} ms")


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
