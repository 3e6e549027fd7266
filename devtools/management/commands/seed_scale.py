"""Load a register at scale for performance work (PostgreSQL only, never production).

    python manage.py seed_scale --size full --i-know-this-is-not-production
    python manage.py seed_scale --patients 1000000 --appointments 5000000 --encounters 2000000 \\
        --i-know-this-is-not-production --json var/seed-scale.json

Sizes: ci (2,000 patients, 10,000 appointments, 4,000 encounters), small (50,000 / 250,000 /
100,000) and full (1,000,000 / 5,000,000 / 2,000,000); explicit counts override the size.
See devtools/scale_seed.py for what is made and how the database's rules are kept.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from clinic import throwaway
from devtools.scale_seed import SIZES, ScaleSeed, SeedError, Sizes


class Command(BaseCommand):
    help = "Load a large synthetic register with COPY (PostgreSQL; refuses to run on production)."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="ci", help="Preset volume (default ci)")
        parser.add_argument("--patients", type=int, help="Patients to create (overrides --size)")
        parser.add_argument("--appointments", type=int, help="Appointments, about (overrides --size)")
        parser.add_argument("--encounters", type=int, help="Encounters, about (overrides --size)")
        parser.add_argument("--years", type=int, help="Years of history before today (default by size)")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026)")
        parser.add_argument("--chunk", type=int, default=0, help="Patients per COPY transaction")
        parser.add_argument(
            "--truncate",
            action="store_true",
            help="Empty the volume tables (patients, appointments, clinical records, recalls, messages "
            "and their history) first, demo rows included. Staff, rooms and lots are kept; the audit "
            "trail is never touched.",
        )
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="Load with every foreign key and index in place (default: plain indexes and foreign "
            "keys of the volume tables are recreated exactly, and validated, after the load)",
        )
        parser.add_argument(
            "--restore-only",
            action="store_true",
            help="Only recreate the foreign keys and indexes an interrupted load left dropped "
            "(listed in the table seed_scale_deferred), then stop",
        )
        parser.add_argument("--json", help="Also write the report to this JSON file")
        parser.add_argument("--no-progress", action="store_true", help="No progress line on stderr")
        parser.add_argument(
            "--one-thread", action="store_true", help="Generate and copy in turn (default: overlapped)"
        )
        throwaway.add_flag(parser, writes="this writes a million made-up patients")

    def handle(self, *args, **options):
        if options["restore_only"]:  # puts constraints back: safe anywhere
            restored = ScaleSeed(Sizes(1, 1, 1, 1), stdout=self.stdout, progress=False).restore_deferred()
            self.stdout.write(f"Recreated {restored} foreign keys and indexes.")
            return
        throwaway.require(options, refusing="load synthetic patients")
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale needs PostgreSQL (COPY, exclusion constraints, trigram search); "
                f"this database is {connection.vendor}."
            )
        patients, appointments, encounters, years = SIZES[options["size"]]
        sizes = Sizes(
            patients=options["patients"] or patients,
            appointments=options["appointments"] or appointments,
            encounters=options["encounters"] or encounters,
            years=options["years"] or years,
            seed=options["seed"],
            chunk=options["chunk"],
        )
        if not (1 <= sizes.patients <= 9_000_000) or sizes.appointments < sizes.patients:
            raise CommandError("Give 1 to 9,000,000 patients and at least one appointment per patient.")
        if not 1 <= sizes.years <= 40:
            raise CommandError("--years must be 1 to 40.")
        self.stdout.write(
            f"Loading {sizes.patients:,} patients, ~{sizes.appointments:,} appointments, "
            f"~{sizes.encounters:,} encounters over {sizes.years} years into "
            f"{connection.settings_dict['NAME']} (seed {sizes.seed})."
        )
        seed = ScaleSeed(
            sizes,
            stdout=self.stdout,
            stderr=sys.stderr,
            progress=not options["no_progress"],
            background=not options["one_thread"],
            defer=not options["keep_indexes"],
        )
        try:
            report = seed.run(truncate=options["truncate"])
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        summary = report.as_dict()
        self._print(summary)
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(summary, indent=2) + "\n")
            self.stdout.write(f"Report written to {options['json']}.")

    def _print(self, summary: dict) -> None:
        self.stdout.write(f"\n{'table':<40}{'rows':>12}{'copy s':>9}{'rows/s':>10}")
        for table, row in sorted(summary["tables"].items(), key=lambda kv: -kv[1]["rows"]):
            rate = f"{row['rows_per_second']:,}" if row["rows_per_second"] else "-"
            self.stdout.write(f"{table:<40}{row['rows']:>12,}{row['copy_seconds']:>9.1f}{rate:>10}")
        self.stdout.write(
            f"\nDeferred foreign-key checks {summary['deferred_foreign_key_check_seconds']:.0f} s; "
            "after the load: "
            f"indexes built {summary['indexes_built_after_load_seconds']:.0f} s, foreign keys validated "
            f"{summary['foreign_keys_validated_after_load_seconds']:.0f} s."
        )
        self.stdout.write(
            f"\n{summary['total_rows']:,} rows in {summary['total_seconds']:.0f} s "
            f"({summary['rows_per_second']:,} rows/s overall; "
            f"generating {summary['generate_seconds']:.0f} s, "
            f"VACUUM/ANALYZE {summary['analyze_seconds']:.0f} s). Database size "
            f"{summary['database_bytes'] / 2**30:.2f} GiB."
        )
