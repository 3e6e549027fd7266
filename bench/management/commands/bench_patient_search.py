"""Measure patient search on a large register.

    python manage.py bench_patient_search --patients 100000

Creates a scratch database next to the configured one (``<name>_bench``, migrated like the
real one), loads synthetic patients with COPY, vacuums and analyzes, then runs realistic
searches (typo'd names, surnames, MRNs, dates of birth, phone numbers, email addresses) several
times each. Reports the database's planning + execution time (EXPLAIN ANALYZE) and the time
through the ORM, as p50/p95, and the plans. The scratch database is dropped at the end unless
--keep is given. The real database is never written to; the role needs CREATEDB.
"""

import json
import random
import statistics
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patients.models import Patient
from patients.names import STREETS, TOWNS, random_person, uk_mobile
from patients.selectors import patient_search
from patients.services import mrn_for

# Synthetic MRNs are numbered from here, far above any real register's ids.
MRN_BASE = 5_000_000


class Command(BaseCommand):
    help = "Load synthetic patients into a scratch database and report search latency and plans."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=100_000, help="How many to load (default 100000)")
        parser.add_argument("--repeat", type=int, default=20, help="Runs per query (default 20)")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026)")
        parser.add_argument("--keep", action="store_true", help="Keep (and reuse) the scratch database")

    def handle(self, *args, patients: int, repeat: int, seed: int, keep: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (the trigram search is PostgreSQL only).")
        if not 1 <= patients <= 800_000 or not 1 <= repeat <= 1000:
            raise CommandError("--patients must be 1 to 800000 and --repeat 1 to 1000.")
        real_name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{real_name}_bench"
        scratch = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False, keepdb=keep
        )
        self.stdout.write(f"Scratch database {scratch}.")
        try:
            rng = random.Random(seed)
            today, now = timezone.localdate(), timezone.now()
            rows = [self._row(rng, i, today, now) for i in range(patients)]
            if Patient.objects.filter(mrn__in=[rows[0]["mrn"], rows[-1]["mrn"]]).count() < 2:
                started = time.perf_counter()
                self._load(rows)
                self.stdout.write(f"Loaded {patients} patients in {time.perf_counter() - started:.1f} s.")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE patients_patient")
            self.stdout.write(f"{Patient.objects.count()} patients in the table.")
            self._measure(self._queries(rng, rows), repeat)
        finally:
            if not keep:
                connection.creation.destroy_test_db(real_name, verbosity=0)
                self.stdout.write(f"Dropped {scratch}.")

    def _load(self, rows: list[dict]) -> None:
        fields = [f for f in Patient._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        defaults = {f.attname: f.get_default() for f in fields}
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY patients_patient ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                values = {**defaults, **row}
                copy.write_row([values[f.attname] for f in fields])

    def _row(self, rng: random.Random, i: int, today: date, now) -> dict:
        if i == 0:
            first, last, sex = "John", "Smith", "male"  # the typo demo: "jon smyth"
        else:
            first, last, sex = random_person(rng)
        born = today - timedelta(days=rng.randint(18 * 365, 90 * 365))
        slug = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        return {
            "mrn": mrn_for(MRN_BASE + i),
            "first_name": first,
            "last_name": last,
            "preferred_name": "",
            "date_of_birth": born,
            "sex": sex,
            "email": f"{slug}{i}@example.com",
            "mobile": uk_mobile(i),
            "address_line1": f"{rng.randint(1, 200)} {rng.choice(STREETS)}",
            "city": rng.choice(TOWNS),
            "affected_side": rng.choice(["left", "right", "bilateral"]),
            "palsy_cause": rng.choice(["bells_palsy", "ramsay_hunt", "surgery", "trauma", "congenital"]),
            "created_at": now,
            "updated_at": now,
        }

    def _queries(self, rng: random.Random, rows: list[dict]) -> list[tuple[str, str]]:
        sample = rng.sample(rows, min(len(rows), 6))
        queries = [("typo'd name", "jon smyth")]
        for row in sample[:3]:
            queries.append(("typo'd name", f"{_typo(rng, row['first_name'])} {_typo(rng, row['last_name'])}"))
        queries += [
            ("common surname", "smith"),
            ("partial names", f"{sample[0]['first_name'][:3]} {sample[0]['last_name'][:4]}"),
            ("MRN", sample[1]["mrn"]),
            ("date of birth", sample[2]["date_of_birth"].strftime("%d/%m/%Y")),
            ("name + date of birth", f"{sample[3]['last_name']} {sample[3]['date_of_birth']:%Y-%m-%d}"),
            ("phone", _national(sample[4]["mobile"])),
            ("email", sample[5]["email"].upper()),
        ]
        return queries

    def _measure(self, queries: list[tuple[str, str]], repeat: int) -> None:
        db_all, orm_all, seq_scans = [], [], []
        self.stdout.write(f"\n{'kind':<22}{'query':<28}{'rows':>5}{'db p50':>9}{'db p95':>9}{'orm p50':>9}")
        plans = {}
        for kind, text in queries:
            # A name search reads its tiers while the queryset is built (patients.search): those
            # queries count too, and the page's own.
            with CaptureQueriesContext(connection) as built:
                qs = patient_search(query=text)
            statements = [(q["sql"], None) for q in built.captured_queries]
            statements.append(qs.query.get_compiler(connection=connection).as_sql())
            db_times, orm_times = [], []
            for _ in range(repeat):
                total = 0.0
                for one_sql, one_params in statements:
                    with connection.cursor() as cursor:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + one_sql, one_params)
                        plan = cursor.fetchone()[0]
                    plan = json.loads(plan) if isinstance(plan, str) else plan
                    total += plan[0]["Execution Time"] + plan[0]["Planning Time"]
                db_times.append(total)
                started = time.perf_counter()
                found = list(patient_search(query=text))
                orm_times.append((time.perf_counter() - started) * 1000)
            shown = []
            for one_sql, one_params in statements:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + one_sql, one_params)
                    shown.append("\n".join(r[0] for r in cursor.fetchall()))
            plans[(kind, text)] = "\n\n".join(shown)
            if "Seq Scan on patients_patient" in plans[(kind, text)]:
                seq_scans.append(text)
            db_all += db_times
            orm_all += orm_times
            self.stdout.write(
                f"{kind:<22}{text[:27]:<28}{len(found):>5}"
                f"{_pct(db_times, 50):>8.2f}ms{_pct(db_times, 95):>7.2f}ms{_pct(orm_times, 50):>7.2f}ms"
            )
            if text == "jon smyth":
                names = [f"{p.first_name} {p.last_name}" for p in found]
                where = names.index("John Smith") + 1 if "John Smith" in names else "not in the results"
                self.stdout.write(f"{'':<22}top: {', '.join(names[:3])}; John Smith: {where}")
        self.stdout.write(
            f"\nAll queries x{repeat}: database (planning + execution) p50 {_pct(db_all, 50):.2f} ms, "
            f"p95 {_pct(db_all, 95):.2f} ms, max {max(db_all):.2f} ms; through the ORM p50 "
            f"{_pct(orm_all, 50):.2f} ms, p95 {_pct(orm_all, 95):.2f} ms."
        )
        self.stdout.write(f"Sequential scans on patients_patient: {', '.join(seq_scans) or 'none'}.")
        shown = {"jon smyth", "smith"}
        for (kind, text), plan in plans.items():
            if text in shown or kind in ("date of birth", "phone"):
                self.stdout.write(f"\nEXPLAIN ANALYZE for {kind} {text!r}:\n{plan}")


def _pct(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _typo(rng: random.Random, word: str) -> str:
    """One realistic slip: a dropped, doubled or swapped letter, or a wrong vowel."""
    word = word.lower()
    if len(word) < 4:
        return word
    i = rng.randint(1, len(word) - 2)
    kind = rng.choice(["drop", "double", "swap", "vowel"])
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    vowels = [j for j, ch in enumerate(word) if ch in "aeiou"] or [i]
    j = rng.choice(vowels)
    return word[:j] + rng.choice([v for v in "aeiouy" if v != word[j]]) + word[j + 1 :]


def _national(e164: str) -> str:
    """+447700123456 -> '07700 123 456', as people type it."""
    digits = "0" + e164[3:]
    return f"{digits[:5]} {digits[5:8]} {digits[8:]}"
