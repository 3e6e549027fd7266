"""A realistic register at scale, loaded with COPY: the data behind the performance work.

``python manage.py seed_scale`` (see the command for its options) calls ``ScaleSeed.run``.

What it makes, per patient, in patient order: demographics and messaging consent, a care
pathway (consultation only, therapy series, toxin every 12-16 weeks, or surgery with its
post-operative visits) laid on the providers' working hours, the clinical records of the
visits since the clinic went electronic (signed encounters with injection maps, therapy
programmes, operations, gradings), the recalls those records open and the messages sent about
them. Everything is decided by one seeded random generator, so the same seed and sizes on the
same day give the same rows.

How it keeps the database's rules (nothing is disabled):

- Appointments are laid on a per-provider-day cursor, so a provider never holds two slots at
  once; every provider has rooms of their own (surgeons share a theatre on different weekdays),
  so a room is never double-booked either; a patient's visits fall on different days. The
  exclusion constraints check all three as the rows arrive.
- A toxin session's lot is a lot of its product, in date on the day of the session.
- Signed encounters: within one transaction per batch the detail and child rows are copied
  before their encounter (foreign keys are deferred and checked at the end of the batch, with
  ``SET CONSTRAINTS ALL IMMEDIATE``). That reaches the state the sign flow leaves (draft, rows,
  then signed) without rewriting millions of rows; the read-only triggers stay on.
- MRNs come from the row id (``patients.services.mrn_for``), ids are reserved from the tables'
  sequences before the load. The plain indexes of the volume tables, the trigram and phonetic
  search indexes among them, are dropped for the load and rebuilt from their catalogue
  definitions afterwards (``--keep-indexes`` keeps them in place); unique and partial ones stay.
- Simple-history tables are not filled: they would double the volume without changing any
  query the clinic runs against current records. The audit trail gets one event for the load.
"""

import json
import math
import queue
import random
import sys
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import ClinicSettings
from clinic.roles import Role, sync_roles
from devtools.demo.scheduling import ensure_appointment_types
from patients.models import MessagingConsent, Patient
from patients.names import STREETS, TOWNS, random_person
from patients.services import mrn_for
from scheduling import clock
from scheduling.models import (
    Appointment,
    AppointmentEvent,
    Location,
    Message,
    Provider,
    Recall,
    RecallContact,
    Room,
    TimeOff,
    WorkingHours,
)
from scheduling.reminders.services import PURPOSE_FOR_KIND
from treatments import instruments
from treatments.common import format_units
from treatments.models import (
    Addendum,
    Assessment,
    Complication,
    Consultation,
    Encounter,
    FollowUp,
    FollowUpPlanItem,
    HomeExercise,
    Injection,
    InjectorRecommendation,
    Muscle,
    PlanStage,
    Procedure,
    Product,
    Surgery,
    SynkinesisPattern,
    Technique,
    TherapyVisit,
    ToxinLot,
    ToxinSession,
    TreatmentPlan,
)

# patients, appointments, encounters, years of history
SIZES = {
    "ci": (2_000, 10_000, 4_000, 2),
    "small": (50_000, 250_000, 100_000, 6),
    "full": (1_000_000, 5_000_000, 2_000_000, 10),
}

# Staff rows made by the seed are found again by these username prefixes.
STAFF_PREFIX = "scale."

# The tables the seed fills in bulk, in load order. --truncate empties exactly these (and their
# simple-history tables); set-up rows (staff, providers, rooms, lots) are kept and reused.
VOLUME_MODELS = [
    Patient,
    MessagingConsent,
    Appointment,
    AppointmentEvent,
    TreatmentPlan,
    PlanStage,
    Injection,
    HomeExercise,
    SynkinesisPattern,
    InjectorRecommendation,
    Procedure,
    Complication,
    FollowUpPlanItem,
    ToxinSession,
    TherapyVisit,
    Surgery,
    Consultation,
    FollowUp,
    Encounter,
    Addendum,
    Assessment,
    Recall,
    RecallContact,
    Message,
]


def _cols(text: str) -> list[str]:
    return text.split()


# --- Name lists: the register's usual spread plus accented and non-English names ---------------

EXTRA_FEMALE = _cols(
    "Zoë Chloé Amélie Hélène Élodie Léa Maëlle Océane Anaïs Gaëlle Inès Noémie Cécile Françoise "
    "Marie-Claire Sinéad Aoibhínn Siân Ffion Mòrag Beatriz Lucía María José Inês Conceição "
    "Małgorzata Agnieszka Zuzanna Ayşe Elif Gülşen Björk Ingrid Åsa Søs Dagný Mei-Ling Thảo "
    "Nguyệt Ngozi Adaeze Fatoumata Aminata Nadège Renée Agnès Zsófia Kateřina"
)
EXTRA_MALE = _cols(
    "Jérôme François Théo Raphaël Noël Loïc Gaël Mathéo Hervé Benoît Éric Andrés José Sebastián "
    "Iñaki João Gonçalo Łukasz Paweł Wojciech Jürgen Jörg Søren Bjørn Ólafur Þór Çağan Oğuz "
    "Tomás Seán Eóin Dáithí Rhodri Ioan Emeka Chidi Kofi Oumar Mamadou Dũng Minh Hiếu Jiří "
    "Mikuláš Ştefan Radu"
)
EXTRA_LAST = _cols(
    "Müller Schäfer Kößler Núñez Pérez García Gómez Martínez Rodríguez López Hernández Fernández "
    "Conceição Gonçalves Simões Magalhães Lefèvre Lefèbvre Dubois Durand Moreau Girard Bérard "
    "Mercier Gauthier Ó'Súilleabháin Ó'Brien Mac'Giolla Nguyễn Trần Lê Phạm Hoàng Võ Đặng "
    "Wiśniewska Wójcik Kamiński Lewandowski Zieliński Dvořák Novotný Procházka Kovačević "
    "Öztürk Yıldız Çelik Şahin Aydın Østergaard Sørensen Åberg Lindqvist Jónsdóttir "  # noqa: RUF001 (a Turkish letter)
    "Okonkwo-Adébáyọ̀ Adéyẹmí Diallo N'Diaye Traoré Mbappé Kouassi D'Souza D'Costa Fitz-Gerald"
)

FR_CITIES = [
    ("Paris", "750"),
    ("Lyon", "690"),
    ("Marseille", "130"),
    ("Lille", "590"),
    ("Nantes", "440"),
    ("Bordeaux", "330"),
]
FR_STREETS = ["rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Gambetta"]
US_CITIES = [
    ("Boston", "MA"),
    ("New York", "NY"),
    ("Chicago", "IL"),
    ("San Francisco", "CA"),
    ("Houston", "TX"),
]
US_STREETS = ["Main Street", "Oak Avenue", "Maple Drive", "Washington Street", "Park Place"]
UK_POSTAREAS = ["SW1A", "N1", "E8", "M14", "B15", "LS6", "L17", "BS8", "S10", "NG7", "CF10", "EH3", "G12"]

# Mobile number ranges libphonenumber takes as valid mobiles (checked by the test on a sample).
UK_MOBILE_PREFIXES = _cols(
    "7400 7401 7403 7415 7426 7437 7448 7459 7500 7507 7518 7529 7530 7541 7552 7563 7574 7585 "
    "7596 7712 7723 7734 7745 7756 7767 7788 7799 7800 7810 7821 7832 7854 7865 7876 7887 7898 "
    "7900 7958 7969 7970 7981 7992"
)
FR_MOBILE_PREFIXES = _cols("60 61 62 64 65 66 67 68 73 74 75 76 77 78 79")
US_AREA_CODES = _cols("201 212 213 303 305 312 347 404 415 469 512 617 646 702 713 718 773 786 917")

GP_PRACTICES = ["Riverside Surgery", "Park Lane Medical Centre", "The Health Centre", "Abbey Road Practice"]
REFERRERS = ["ENT department", "Neurology clinic", "GP", "Ophthalmology", "Self-referral", "Physiotherapy"]

# --- Clinical catalogues -------------------------------------------------------------------------

# (product, lot prefix, vial units, share of patients, dose factor vs onabotulinumtoxinA)
PRODUCTS = [
    (Product.ONABOTULINUMTOXIN_A, "SC", 100, 0.66, 1.0),
    (Product.INCOBOTULINUMTOXIN_A, "SX", 100, 0.16, 1.0),
    (Product.ABOBOTULINUMTOXIN_A, "SD", 300, 0.14, 2.5),
    (Product.PRABOTULINUMTOXIN_A, "SJ", 100, 0.04, 1.0),
]
LOT_EVERY_DAYS = 45
LOT_SHELF_DAYS = 540

# Muscles by how often they are injected for synkinesis (weights), affected side first.
MUSCLE_WEIGHTS = {
    Muscle.ORBICULARIS_OCULI_ORBITAL: 10,
    Muscle.ORBICULARIS_OCULI_PRETARSAL: 8,
    Muscle.MENTALIS: 9,
    Muscle.PLATYSMA: 9,
    Muscle.DEPRESSOR_ANGULI_ORIS: 8,
    Muscle.BUCCINATOR: 6,
    Muscle.DEPRESSOR_LABII_INFERIORIS: 6,
    Muscle.FRONTALIS: 5,
    Muscle.CORRUGATOR: 4,
    Muscle.PROCERUS: 2,
    Muscle.NASALIS: 2,
    Muscle.ORBICULARIS_ORIS: 2,
    Muscle.LEVATOR_LABII_SUPERIORIS: 2,
    Muscle.RISORIUS: 2,
    Muscle.ZYGOMATICUS_MAJOR: 1,
    Muscle.ZYGOMATICUS_MINOR: 1,
}
MUSCLE_LABELS = dict(Muscle.choices)
TECHNIQUES = Technique.values
EXERCISES = [
    ("Small smile in the mirror, keeping the eye open", 10, 5, 3),
    ("Gentle eye closure without the mouth moving", 10, 5, 3),
    ("Lip pucker with the eye relaxed", 8, 3, 2),
    ("Cheek and chin massage", 1, 120, 2),
    ("Neck stretch, chin up and away", 5, 20, 2),
    ("Slow open-mouth smile, watching the neck", 8, 3, 2),
    ("Brow lift against light resistance", 10, 3, 2),
]
PATTERNS = [
    ("smiling", "eye"),
    ("smiling", "neck"),
    ("lip_pucker", "eye"),
    ("eye_closure", "mouth_corner"),
    ("speaking", "chin"),
    ("eating", "tearing"),
    ("blinking", "mouth_corner"),
]
# (procedure kind, weight, anaesthesia, minutes)
PROCEDURES = [
    ("dao_excision", 30, "local", 60),
    ("selective_neurolysis", 25, "general", 180),
    ("selective_myectomy", 15, "local_sedation", 90),
    ("upper_eyelid", 10, "local", 60),
    ("brow_lift", 10, "local_sedation", 90),
    ("symmetry", 5, "general", 150),
    ("muscle_transfer", 5, "general", 240),
]
PROCEDURE_LABELS = dict(Procedure.Kind.choices)
ANAESTHESIA_LABELS = dict(Surgery.Anaesthesia.choices)
POST_OP_PLAN = [("1 week", 7), ("6 weeks", 42), ("3 months", 91)]
PRODUCT_LABELS = dict(Product.choices)

# Appointment statuses: past rows end completed, cancelled or not attended; future rows are
# booked or confirmed, a few already cancelled.
PAST_STATUS = (("completed", 0.88), ("cancelled", 0.07), ("no_show", 0.05))
FUTURE_STATUS = (("booked", 0.55), ("confirmed", 0.40), ("cancelled", 0.05))
CANCEL_REASONS = ["Patient unwell", "Clash with work", "Transport problem", "Clinic rescheduled"]

HORIZON_DAYS = 180
MESSAGES_FOR_DAYS = 365  # messaging went live a year ago: older visits have no message rows
GRID = 15


def _esc(text: str) -> str:
    """COPY text-format escaping for free text (names, notes, JSON)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _ascii(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if c.isascii() and (c.isalnum() or c == "-")
    )


def _jsonv(value) -> str:
    return _esc(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


N = "\\N"


def _pick(rng: random.Random, weighted) -> str:
    r = rng.random()
    for value, share in weighted:
        r -= share
        if r < 0:
            return value
    return weighted[-1][0]


# --- Set-up rows -----------------------------------------------------------------------------


@dataclass
class ProviderInfo:
    index: int
    id: int
    user_id: int
    role: str
    location_id: int
    rooms: dict  # room kind -> room id
    blocks: dict  # weekday -> [(start minute, end minute), ...]
    theatre_weekday: int = -1


@dataclass
class Sizes:
    patients: int
    appointments: int
    encounters: int
    years: int
    seed: int = 2026
    chunk: int = 0

    def __post_init__(self):
        if not self.chunk:
            self.chunk = max(500, min(10_000, self.patients // 20 or 500))


@dataclass
class Report:
    rows: Counter = field(default_factory=Counter)
    seconds: Counter = field(default_factory=Counter)
    generate_seconds: float = 0.0
    analyze_seconds: float = 0.0
    total_seconds: float = 0.0
    database_bytes: int = 0

    def as_dict(self) -> dict:
        tables = {
            table: {
                "rows": self.rows[table],
                "copy_seconds": round(self.seconds[table], 2),
                "rows_per_second": round(self.rows[table] / self.seconds[table])
                if self.seconds[table]
                else None,
            }
            for table in self.rows
        }
        deferred = self.seconds["(deferred foreign-key checks)"]
        after = {
            "indexes_built_after_load_seconds": round(self.seconds["(indexes built after the load)"], 1),
            "foreign_keys_validated_after_load_seconds": round(
                self.seconds["(foreign keys validated after the load)"], 1
            ),
        }
        total_rows = sum(self.rows.values())
        return {
            "tables": tables,
            "total_rows": total_rows,
            "generate_seconds": round(self.generate_seconds, 1),
            "deferred_foreign_key_check_seconds": round(deferred, 1),
            **after,
            "analyze_seconds": round(self.analyze_seconds, 1),
            "total_seconds": round(self.total_seconds, 1),
            "rows_per_second": round(total_rows / self.total_seconds) if self.total_seconds else None,
            "database_bytes": self.database_bytes,
        }


class Chunk:
    """Rows of one batch, as COPY text lines per table."""

    def __init__(self):
        self.lines: dict[str, list[str]] = defaultdict(list)

    def add(self, table: str, line: str) -> None:
        self.lines[table].append(line)


class IdBlock:
    """Ids reserved from a table's sequence before the load."""

    def __init__(self, table: str, sequence: str, start: int, size: int):
        self.table, self.sequence, self.start, self.size, self.next = table, sequence, start, size, start

    def take(self) -> int:
        value = self.next
        self.next += 1
        return value

    @property
    def used(self) -> int:
        return self.next - self.start


class ScaleSeed:
    def __init__(
        self,
        sizes: Sizes,
        *,
        stdout=None,
        stderr=None,
        progress: bool = True,
        background: bool = False,
        defer: bool = False,
    ):
        self.sizes = sizes
        # COPY from a second thread and connection while the next batch is generated: the
        # server's work and Python's overlap (one core each). Needs committed set-up rows, so
        # not inside a test's transaction.
        self.background = background
        # Foreign keys and plain indexes dropped for the load and recreated exactly after it
        # (see _defer_secondary); off inside a transaction, where everything stays on.
        self.defer = defer
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.progress = progress
        self.report = Report()
        self.rng = random.Random(sizes.seed)

    # --- clock: every instant is an integer minute since 00:00 UTC of day 0 -------------------

    def _setup_clock(self) -> None:
        now = timezone.now().replace(second=0, microsecond=0)
        self.today = clock.local(now).date()
        self.day0 = date(self.today.year - self.sizes.years, self.today.month, 1)
        self.ndays = (self.today - self.day0).days + HORIZON_DAYS + 1
        self.today_d = (self.today - self.day0).days
        self.last_d = self.ndays - 1
        self.pre = 800  # days before day 0 that instants (bookings, registrations) may fall on
        self.daystr = [
            (self.day0 + timedelta(days=i - self.pre)).isoformat() for i in range(self.ndays + self.pre + 800)
        ]
        zone = clock.clinic_tz()
        # The UTC offset at noon: clinic hours never straddle a daylight-saving change (at night).
        self.offset = [
            int(
                datetime.combine(self.day0 + timedelta(days=i), wall_time(12), tzinfo=zone)
                .utcoffset()
                .total_seconds()
            )
            // 60
            for i in range(self.ndays)
        ]
        midnight = datetime.combine(self.day0, wall_time(0), tzinfo=UTC)
        self.now_m = int((now - midnight).total_seconds() // 60)
        self.weekday0 = self.day0.weekday()
        self.go_live_d = 0
        self.messages_d = self.today_d - MESSAGES_FOR_DAYS

    def ts(self, minutes: int) -> str:
        day, m = divmod(minutes, 1440)
        return f"{self.daystr[day + self.pre]} {m // 60:02d}:{m % 60:02d}:00+00"

    def ds(self, day: int) -> str:
        return self.daystr[day + self.pre]

    def utc(self, day: int, local_minute: int) -> int:
        return day * 1440 + local_minute - self.offset[day]

    # --- entry point --------------------------------------------------------------------------

    def run(self, *, truncate: bool = False) -> Report:
        started = time.perf_counter()
        self._setup_clock()
        with connection.cursor() as cursor:
            # This session only: the load's commits need not wait for the disk (a crash mid-load
            # loses the last batches of a re-creatable seed, never consistency).
            cursor.execute("SET synchronous_commit TO off")
            cursor.execute("SET maintenance_work_mem TO '512MB'")
        self.restore_deferred()  # left behind by an interrupted load, if any
        if truncate:
            self._truncate()
        self._refuse_second_load()
        with transaction.atomic():
            self._setup()
        self._calibrate()
        self._reserve_ids()
        if self.defer:
            self._defer_secondary()
        try:
            self._load()
        finally:
            if self.defer:
                self.restore_deferred()
        self._release_ids()
        # VACUUM as well when it can run (not inside a transaction): it sets the visibility map,
        # so that counts and index-only scans behave as on a table that has lived a while.
        self._analyze(vacuum=not connection.in_atomic_block)
        # The set-up tables grew too (hundreds of staff, providers, rooms): without fresh
        # statistics the planner takes them for the handful they were and picks nested loops.
        with connection.cursor() as cursor:
            for model in (get_user_model(), Provider, Room, Location, WorkingHours, TimeOff, ToxinLot):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
        self.report.total_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            self.report.database_bytes = cursor.fetchone()[0]
        audit_record(
            actor=None,
            action="scale_seed.loaded",
            changes={
                "seed": self.sizes.seed,
                "rows": dict(self.report.rows),
                "total_seconds": round(self.report.total_seconds, 1),
            },
        )
        return self.report

    # --- foreign keys and secondary indexes, checked and built once after the load ----------

    def _defer_secondary(self) -> None:
        """Drop the volume tables' foreign keys and plain secondary indexes for the load, keeping
        their exact definitions (from the catalogue) in a table, so that they are recreated as
        they were even if the load is interrupted (the next run restores them first).

        Checking a foreign key row by row costs a query per row; adding it back validates every
        row with one join. Building an index sorts once instead of updating it per row. Primary
        keys, unique constraints, the exclusion constraints and the triggers stay on throughout.
        """
        tables = [m._meta.db_table for m in VOLUME_MODELS]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS seed_scale_deferred "
                "(position serial, kind text, name text, tablename text, definition text)"
            )
            cursor.execute(
                """
                INSERT INTO seed_scale_deferred (kind, name, tablename, definition)
                SELECT 'index', c.relname, t.relname, pg_get_indexdef(i.indexrelid)
                  FROM pg_index i
                  JOIN pg_class c ON c.oid = i.indexrelid
                  JOIN pg_class t ON t.oid = i.indrelid
                 WHERE t.relname = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary
                   -- partial indexes stay: their predicate would not read back word for word
                   AND i.indpred IS NULL
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                 ORDER BY t.relname, c.relname
                """,
                [tables],
            )
            cursor.execute(
                """
                INSERT INTO seed_scale_deferred (kind, name, tablename, definition)
                SELECT 'foreign_key', k.conname, t.relname, pg_get_constraintdef(k.oid)
                  FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
                 WHERE k.contype = 'f' AND t.relname = ANY(%s)
                 ORDER BY t.relname, k.conname
                """,
                [tables],
            )
            cursor.execute("SELECT kind, name, tablename FROM seed_scale_deferred ORDER BY position")
            for kind, name, table in cursor.fetchall():
                if kind == "index":
                    cursor.execute(f'DROP INDEX "{name}"')
                else:
                    cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')

    def restore_deferred(self) -> int:
        """Recreate what _defer_secondary dropped (also after an interrupted load). Returns how
        many foreign keys and indexes were listed."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('seed_scale_deferred') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return 0
            cursor.execute(
                "SELECT kind, name, tablename, definition FROM seed_scale_deferred ORDER BY position"
            )
            rows = cursor.fetchall()
        # Indexes first (the foreign-key checks and everything after use them), then the keys,
        # each validated against every row as it is added.
        for kind, name, table, definition in sorted(rows, key=lambda r: r[0] != "index"):
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                if kind == "index":
                    cursor.execute("SELECT to_regclass(%s) IS NULL", [f'"{name}"'])
                    if cursor.fetchone()[0]:
                        cursor.execute(definition)
                else:
                    cursor.execute(
                        "SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = %s)", [name]
                    )
                    if cursor.fetchone()[0]:
                        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
                cursor.execute(
                    "DELETE FROM seed_scale_deferred WHERE name = %s AND tablename = %s", [name, table]
                )
            label = (
                "(indexes built after the load)"
                if kind == "index"
                else "(foreign keys validated after the load)"
            )
            self.report.seconds[label] += time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE seed_scale_deferred")
        return len(rows)

    def _analyze(self, vacuum: bool = False) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for model in VOLUME_MODELS:
                cursor.execute(f"{'VACUUM (ANALYZE)' if vacuum else 'ANALYZE'} {model._meta.db_table}")
        self.report.analyze_seconds += time.perf_counter() - started

    def _truncate(self) -> None:
        tables = []
        for model in VOLUME_MODELS:
            tables.append(model._meta.db_table)
            history = getattr(model, "history", None)
            if history is not None:
                tables.append(history.model._meta.db_table)
        # TRUNCATE fires no row triggers: the signed-record triggers guard rows, not tables. The
        # audit trail (clinic_auditevent) is not in the list and is never touched.
        with connection.cursor() as cursor:
            # CASCADE reaches the few tables that point at these (waitlist rows, offers); the
            # audit trail points at none of them.
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

    def _refuse_second_load(self) -> None:
        taken = Appointment.objects.filter(provider__user__username__startswith=STAFF_PREFIX).exists()
        if taken:
            raise SeedError(
                "This database already holds a scale seed (its providers have appointments); "
                "run with --truncate to replace it."
            )

    # --- staff, calendars, lots ---------------------------------------------------------------

    def _setup(self) -> None:
        sync_roles()
        self._appointment_types()
        self.settings = ClinicSettings.load()
        self.lots = self._lot_register()

    def _appointment_types(self) -> None:
        self.types = ensure_appointment_types()

    def _lot_register(self) -> dict:
        """Per product, a lot received every LOT_EVERY_DAYS days over the whole history."""
        lots = {}
        first = self.day0 - timedelta(days=LOT_EVERY_DAYS)
        count = self.ndays // LOT_EVERY_DAYS + 2
        for product, prefix, vial_units, _share, _factor in PRODUCTS:
            rows = []
            for n in range(count):
                received = first + timedelta(days=LOT_EVERY_DAYS * n)
                rows.append(
                    ToxinLot(
                        product=product,
                        lot_number=f"{prefix}{received:%y%m%d}{n:03d}",
                        expiry_date=received + timedelta(days=LOT_SHELF_DAYS),
                        vial_units=vial_units,
                        supplier="Scale Pharma Ltd",
                        received_on=received,
                        is_active=received + timedelta(days=LOT_SHELF_DAYS) >= self.today,
                    )
                )
            ToxinLot.objects.bulk_create(rows, ignore_conflicts=True)
            found = {
                lot.lot_number: lot
                for lot in ToxinLot.objects.filter(
                    product=product, lot_number__in=[r.lot_number for r in rows]
                )
            }
            lots[product] = [found[r.lot_number] for r in rows]
        return lots

    def lot_for(self, product: str, day: int) -> ToxinLot:
        # The newest lot received on or before the day: in date, since shelf life > interval.
        index = (day + LOT_EVERY_DAYS) // LOT_EVERY_DAYS
        return self.lots[product][min(index, len(self.lots[product]) - 1)]

    def _staff(self, counts: dict[str, int]) -> None:
        """Providers by role with locations, rooms and weekly hours; front desk users."""
        User = get_user_model()
        rng = random.Random(self.sizes.seed + 1)
        groups = {g.name: g for g in Group.objects.all()}
        total = sum(counts.values())
        per_location = 12
        locations = []
        for n in range(max(1, math.ceil(total / per_location))):
            location, _ = Location.objects.get_or_create(
                name=f"Facial Nerve Centre {n + 1:02d}", defaults={"address": f"{n + 1} Clinic Way"}
            )
            locations.append(location)
        wanted = []
        for role in (Role.SURGEON, Role.INJECTOR, Role.THERAPIST):
            wanted += [(role, i) for i in range(counts[role])]
        wanted += [(Role.FRONT_DESK, i) for i in range(max(2, len(locations)))]
        existing = {u.username: u for u in User.objects.filter(username__startswith=STAFF_PREFIX)}
        new_users = []
        for role, i in wanted:
            username = f"{STAFF_PREFIX}{role}.{i + 1:03d}"
            if username in existing:
                continue
            female = rng.random() < 0.55
            first = rng.choice(EXTRA_FEMALE if female else EXTRA_MALE)
            last = rng.choice(EXTRA_LAST)
            title = ("Ms" if female else "Mr") if role == Role.SURGEON else ""
            user = User(
                username=username,
                first_name=first,
                last_name=last.replace("'", ""),
                title=title,
                email=f"{username}@clinic.test",
            )
            user.set_unusable_password()
            new_users.append(user)
        User.objects.bulk_create(new_users)
        users = {u.username: u for u in User.objects.filter(username__startswith=STAFF_PREFIX)}
        for role, i in wanted:
            users[f"{STAFF_PREFIX}{role}.{i + 1:03d}"].groups.add(groups[role])
        self.front_desk_ids = [
            users[f"{STAFF_PREFIX}{role}.{i + 1:03d}"].pk for role, i in wanted if role == Role.FRONT_DESK
        ]

        self.providers: list[ProviderInfo] = []
        colours = ["#1f5fa8", "#0f766e", "#8a3ffc", "#1e7a4c", "#a16207", "#b42318", "#c2410c", "#5b6577"]
        surgeons_at: Counter = Counter()
        for n, (role, i) in enumerate(w for w in wanted if w[0] != Role.FRONT_DESK):
            user = users[f"{STAFF_PREFIX}{role}.{i + 1:03d}"]
            location = locations[n % len(locations)]
            provider, _ = Provider.objects.get_or_create(
                user=user, defaults={"role": role, "colour": colours[n % len(colours)]}
            )
            main_kind = {Role.SURGEON: "consultation", Role.INJECTOR: "procedure", Role.THERAPIST: "therapy"}[
                role
            ]
            kinds = (
                [main_kind, "consultation"] if main_kind != "consultation" else ["consultation", "procedure"]
            )
            rooms = {}
            for kind in kinds:
                room, _ = Room.objects.get_or_create(
                    location=location,
                    name=f"{Room.Kind(kind).label} {user.last_name} {user.pk}"[:100],
                    defaults={"kind": kind},
                )
                rooms[kind] = room.pk
            theatre_weekday = -1
            if role == Role.SURGEON:
                k = surgeons_at[location.pk]
                surgeons_at[location.pk] += 1
                theatre_weekday = k % 5
                theatre, _ = Room.objects.get_or_create(
                    location=location, name=f"Theatre {k // 5 + 1}", defaults={"kind": "theatre"}
                )
                rooms["theatre"] = theatre.pk
            # Four or five days a week, a morning and an afternoon block around lunch.
            days = [0, 1, 2, 3, 4]
            if rng.random() < 0.4:
                days.remove(rng.choice([d for d in days if d != theatre_weekday]))
            start = rng.choice([480, 510, 540])
            lunch = rng.choice([720, 750, 780])
            end = rng.choice([1020, 1050, 1080])
            blocks = {d: [(start, lunch), (lunch + 60, end)] for d in days}
            if theatre_weekday >= 0:
                blocks[theatre_weekday] = [(start, end)]  # a theatre day is one long list
            if not WorkingHours.objects.filter(provider=provider).exists():
                WorkingHours.objects.bulk_create(
                    WorkingHours(
                        provider=provider,
                        location=location,
                        weekday=d,
                        start_time=wall_time(a // 60, a % 60),
                        end_time=wall_time(b // 60, b % 60),
                    )
                    for d, day_blocks in blocks.items()
                    for a, b in day_blocks
                )
            else:
                blocks = defaultdict(list)
                for wh in WorkingHours.objects.filter(provider=provider).order_by("weekday", "start_time"):
                    blocks[wh.weekday].append(
                        (
                            wh.start_time.hour * 60 + wh.start_time.minute,
                            wh.end_time.hour * 60 + wh.end_time.minute,
                        )
                    )
                blocks = dict(blocks)
            self.providers.append(
                ProviderInfo(
                    index=len(self.providers),
                    id=provider.pk,
                    user_id=user.pk,
                    role=role,
                    location_id=location.pk,
                    rooms=rooms,
                    blocks=blocks,
                    theatre_weekday=theatre_weekday,
                )
            )
        self.by_role = defaultdict(list)
        for p in self.providers:
            self.by_role[p.role].append(p)

    # --- calibration: how long pathways must be to reach the requested volume -----------------

    def _calibrate(self) -> None:
        """Dry-run pathways (no calendar) on a sample to set the pathway scale, the number of
        providers by role and the date the clinic went electronic."""
        sample = min(self.sizes.patients, 4000)
        target = self.sizes.appointments / self.sizes.patients
        means = {}
        for scale in (1.0, 3.0):
            rng = random.Random(self.sizes.seed + 2)
            visits = sum(len(self._pathway_dry(rng, scale)) for _ in range(sample))
            means[scale] = visits / sample
        slope = (means[3.0] - means[1.0]) / 2.0
        self.slope = max(slope, 0.1)
        self.scale = max(0.05, 1.0 + (target - means[1.0]) / self.slope)
        rng = random.Random(self.sizes.seed + 3)
        days = []
        demand = Counter()
        for _ in range(sample):
            for code, day in self._pathway_dry(rng, self.scale):
                days.append((day, code))
                demand[code] += 1
        ratio = self.sizes.appointments / max(1, len(days))
        # Provider days needed per role at ~70% of a day's capacity (capacity in visits/day).
        capacity = {
            "consultation": 7,
            "follow_up": 13,
            "toxin": 10,
            "therapy": 9,
            "surgery": 3,
            "post_op": 13,
        }
        role_of = {
            "consultation": {Role.SURGEON: 1.0},
            "post_op": {Role.SURGEON: 1.0},
            "surgery": {Role.SURGEON: 1.0},
            "toxin": {Role.INJECTOR: 0.85, Role.SURGEON: 0.15},
            "therapy": {Role.THERAPIST: 1.0},
            "follow_up": {Role.SURGEON: 0.4, Role.INJECTOR: 0.35, Role.THERAPIST: 0.25},
        }
        provider_days = Counter()
        for code, n in demand.items():
            for role, share in role_of[code].items():
                provider_days[role] += n * ratio * share / capacity[code]
        working_days = self.ndays * 4.4 / 7 * 0.92
        counts = {
            role: max(2, math.ceil(provider_days[role] / working_days / 0.68))
            for role in role_of["follow_up"]
        }
        self.role_of = role_of
        with transaction.atomic():
            self._staff(counts)
        # Electronic records since the day that leaves the requested number of encounters: the
        # completed visits after it (about 88% of past visits are completed).
        past = sorted(d for d, _code in days if d < self.today_d)
        wanted = self.sizes.encounters / ratio / 0.88
        if wanted >= len(past):
            self.go_live_d = 0
        else:
            self.go_live_d = past[max(0, int(len(past) - wanted))]
        self.stdout.write(
            f"Calibrated: pathway scale {self.scale:.2f}; providers {dict(counts)}; "
            f"records electronic since {self.ds(self.go_live_d)}; history from {self.day0}."
        )

    # --- pathways -----------------------------------------------------------------------------

    def _pathway_kind(self, rng: random.Random) -> str:
        return _pick(rng, (("consult", 0.30), ("therapy", 0.22), ("toxin", 0.38), ("surgery", 0.10)))

    def _steps(self, rng: random.Random, kind: str, scale: float) -> list[tuple[str, int]]:
        """(type code, days after the previous visit) for one patient's pathway."""
        steps = [("consultation", 0)]
        if kind == "consult":
            for _ in range(_pick(rng, ((0, 0.5), (1, 0.35), (2, 0.15)))):
                steps.append(("follow_up", rng.randint(42, 120)))
            return steps
        if kind == "therapy":
            visits = max(3, round(scale * rng.uniform(4, 18)))
            for n in range(visits):
                steps.append(("therapy", rng.randint(10, 24) if n else rng.randint(14, 35)))
                if n % 6 == 5:
                    steps.append(("follow_up", rng.randint(5, 10)))
            return steps
        if kind == "surgery":
            for n in range(rng.randint(0, 3)):
                steps.append(("toxin", rng.randint(84, 120) if n else rng.randint(14, 40)))
            steps.append(("surgery", rng.randint(30, 120)))
            steps += [("post_op", 7), ("post_op", 35), ("post_op", 49)]
            for n in range(round(scale * rng.uniform(0, 5))):
                steps.append(("toxin", rng.randint(84, 120) if n else rng.randint(30, 60)))
            return steps
        # toxin pathway: sometimes a therapy block first, then sessions every 12-17 weeks, with a
        # follow-up or a therapy visit in the "window of opportunity" now and then.
        if rng.random() < 0.3:
            for n in range(rng.randint(3, 6)):
                steps.append(("therapy", rng.randint(10, 21) if n else rng.randint(14, 30)))
        sessions = max(1, round(scale * rng.lognormvariate(math.log(7), 0.75)))
        for n in range(sessions):
            gap = rng.randint(84, 120) if n else rng.randint(14, 45)
            between = None
            if n and rng.random() < 0.18:
                between = ("follow_up", rng.randint(14, 28))
            elif n and rng.random() < 0.08:
                between = ("therapy", rng.randint(14, 42))
            if between:
                steps.append(between)
                gap -= between[1]
            steps.append(("toxin", gap))
        return steps

    def _pathway_dry(self, rng: random.Random, scale: float) -> list[tuple[str, int]]:
        steps = self._steps(rng, self._pathway_kind(rng), scale)
        span = sum(gap for _code, gap in steps)
        day = rng.randint(0, max(0, self.ndays - 1 - span))
        out = []
        for code, gap in steps:
            day += gap
            if day > self.last_d:
                break
            out.append((code, day))
        return out

    # --- the calendar -------------------------------------------------------------------------

    def _setup_calendar(self) -> None:
        nprov = len(self.providers)
        # Minute of the day from which each provider-day is free (0: not started; -1: away).
        self.cursor = [0] * (nprov * self.ndays)
        self.time_off_rows = []
        rng = random.Random(self.sizes.seed + 4)
        for p in self.providers:
            # Two weeks of leave twice a year, plus a few single days (conferences).
            for year_start in range(0, self.ndays, 365):
                for _ in range(2):
                    first = year_start + rng.randint(0, 350)
                    self._away(p, first, 14)
                for _ in range(3):
                    self._away(p, year_start + rng.randint(0, 360), 1)

    def _away(self, p: ProviderInfo, first: int, days: int) -> None:
        last = min(first + days, self.ndays) - 1
        if first > last:
            return
        for d in range(first, last + 1):
            self.cursor[p.index * self.ndays + d] = -1
        reason = "Annual leave" if days > 1 else "Conference"
        self.time_off_rows.append((p.id, self.utc(first, 0), self.utc(last, 0) + 1440, reason))

    def _place(self, p: ProviderInfo, day: int, minutes: int, hold: int, rng: random.Random) -> int | None:
        """The local start minute of a visit of ``minutes`` (holding ``hold``) on the provider's
        day, or None if the day is full, away or not worked."""
        weekday = (self.weekday0 + day) % 7
        blocks = p.blocks.get(weekday)
        if not blocks:
            return None
        key = p.index * self.ndays + day
        at = self.cursor[key]
        if at < 0:
            return None
        for start, end in blocks:
            begin = max(at, start)
            if rng.random() < 0.22:
                begin += GRID  # a free quarter hour here and there
            if begin + minutes <= end:
                self.cursor[key] = begin + -(-hold // GRID) * GRID
                return begin
        return None

    def _book(self, pat, code: str, day: int, rng: random.Random):
        """Find a provider and a start for a visit from ``day`` on (up to two weeks later)."""
        t = self.types[code]
        minutes = t.duration_minutes
        if code == "surgery":
            minutes = pat.procedure[3]
        hold = minutes + t.buffer_after_minutes
        role = pat.role_for(code, rng, self.role_of)
        usual = pat.usual.get(role)
        if usual is None:
            usual = pat.usual[role] = rng.choice(self.by_role[role])
        candidates = [usual]
        for shift in range(0, 15):
            d = day + shift
            if d > self.last_d:
                return None
            if shift == 6:
                candidates = [usual, *rng.sample(self.by_role[role], min(4, len(self.by_role[role])))]
            for p in candidates:
                weekday = (self.weekday0 + d) % 7
                if code == "surgery" and weekday != p.theatre_weekday:
                    continue
                if p.role == Role.SURGEON and code != "surgery" and weekday == p.theatre_weekday:
                    continue
                start = self._place(p, d, minutes, hold, rng)
                if start is not None:
                    return p, d, start, minutes, hold
        return None

    # --- the load ----------------------------------------------------------------------------

    def _reserve_ids(self) -> None:
        per_patient = self.sizes.appointments / self.sizes.patients
        estimates = {
            Patient: 1.0,
            MessagingConsent: 4.0,
            Appointment: per_patient * 1.05,
            AppointmentEvent: per_patient * 2.1,
            TreatmentPlan: 1.0,
            PlanStage: 3.0,
            Encounter: per_patient * 1.05,
            Addendum: per_patient * 0.05,
            Assessment: per_patient * 1.5,
            Injection: per_patient * 10.0,
            HomeExercise: per_patient * 3.0,
            SynkinesisPattern: per_patient * 2.5,
            InjectorRecommendation: per_patient * 1.5,
            Procedure: 1.5,
            Complication: 0.5,
            FollowUpPlanItem: 3.0,
            Recall: per_patient * 1.1,
            RecallContact: per_patient * 0.3,
            Message: per_patient * 1.6,
        }
        self.ids: dict = {}
        with connection.cursor() as cursor:
            for model, share in estimates.items():
                table = model._meta.db_table
                size = int(self.sizes.patients * share * 1.3) + 10_000
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = cursor.fetchone()[0]
                cursor.execute("SELECT nextval(%s)", [sequence])
                start = cursor.fetchone()[0]
                cursor.execute("SELECT setval(%s, %s)", [sequence, start + size - 1])
                self.ids[model] = IdBlock(table, sequence, start, size)

    def _release_ids(self) -> None:
        """Give back what the load did not use, if nobody else took ids meanwhile."""
        with connection.cursor() as cursor:
            for block in self.ids.values():
                if block.used > block.size:
                    # More rows than reserved: move the sequence past them whatever happened.
                    sql = "SELECT setval(%s, GREATEST(last_value, %s)) FROM " + block.sequence  # noqa: S608
                    cursor.execute(sql, [block.sequence, block.next - 1])
                    continue
                # The name comes from pg_get_serial_sequence, already quoted as needed.
                cursor.execute("SELECT last_value FROM " + block.sequence)  # noqa: S608
                if cursor.fetchone()[0] == block.start + block.size - 1:
                    cursor.execute("SELECT setval(%s, %s)", [block.sequence, max(block.next - 1, 1)])

    def _load(self) -> None:
        self._setup_calendar()
        self._columns = {model: COLUMNS[model] for model in COPY_ORDER}
        check_columns()
        self.remaining_patients = self.sizes.patients
        self.remaining_appointments = self.sizes.appointments
        done = batches = 0
        started = time.perf_counter()
        writer = Writer(self) if self.background else None
        try:
            while done < self.sizes.patients:
                # A small first batch: the steering below learns from it early.
                n = min(
                    self.sizes.chunk if batches else max(1, self.sizes.chunk // 5), self.sizes.patients - done
                )
                t0 = time.perf_counter()
                chunk = Chunk()
                before = self.remaining_appointments
                for _ in range(n):
                    self._patient(chunk)
                    self.remaining_patients -= 1
                self._steer(made=before - self.remaining_appointments, patients=n)
                self.report.generate_seconds += time.perf_counter() - t0
                batches += 1
                # Plans cached by the triggers and foreign-key checks were made when the tables
                # were empty (a sequential scan); fresh statistics make them use the indexes.
                analyze = batches & (batches - 1) == 0
                if writer:
                    writer.put(chunk, analyze)
                else:
                    self._copy(chunk)
                    if analyze:
                        self._analyze()
                done += n
                self._progress(done, started)
        finally:
            if writer:
                writer.close()
        # Time off, after the calendar has been laid.
        chunk = Chunk()
        for provider_id, start, end, reason in self.time_off_rows:
            chunk.add(TimeOff, f"{provider_id}\t{N}\t{self.ts(start)}\t{self.ts(end)}\t{reason}")
        self._copy(chunk, order=[TimeOff])
        if self.progress:
            self.stderr.write("\n")

    def _steer(self, *, made: int, patients: int) -> None:
        """Adjust the pathway scale so that the remaining patients make up the remaining
        appointments: the calendar drops or delays some visits, which the dry run cannot see."""
        if not self.remaining_patients or not patients:
            return
        wanted = self.remaining_appointments / self.remaining_patients
        got = made / patients
        self.scale = min(8.0, max(0.05, self.scale + (wanted - got) / self.slope))

    def _progress(self, done: int, started: float) -> None:
        if not self.progress:
            return
        elapsed = time.perf_counter() - started
        rows = sum(self.report.rows.values())
        share = done / self.sizes.patients
        eta = elapsed / share - elapsed if share else 0
        bar = "#" * int(share * 30)
        self.stderr.write(
            f"\r[{bar:<30}] {share:6.1%} {done:,}/{self.sizes.patients:,} patients, "
            f"{rows:,} rows, {rows / elapsed:,.0f} rows/s, {elapsed:,.0f} s, ~{eta:,.0f} s left  "
        )
        self.stderr.flush()

    def _copy(self, chunk: Chunk, order=None) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for model in order or COPY_ORDER:
                lines = chunk.lines.get(model)
                if not lines:
                    continue
                table = model._meta.db_table
                columns = ", ".join(COLUMNS[model])
                t0 = time.perf_counter()
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    buffer = []
                    size = 0
                    for line in lines:
                        buffer.append(line)
                        size += len(line)
                        if size > 1 << 20:
                            buffer.append("")
                            copy.write("\n".join(buffer))
                            buffer, size = [], 0
                    if buffer:
                        copy.write("\n".join(buffer) + "\n")
                self.report.seconds[table] += time.perf_counter() - t0
                self.report.rows[table] += len(lines)
            # Deferred foreign keys are checked here, batch by batch (also inside a test's
            # transaction, which never commits).
            t0 = time.perf_counter()
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Back to the default for the next batch when this transaction is an outer one's
            # savepoint (a test's): the foreign keys are declared INITIALLY DEFERRED.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            self.report.seconds["(deferred foreign-key checks)"] += time.perf_counter() - t0

    # --- one patient --------------------------------------------------------------------------

    def _patient(self, chunk: Chunk) -> None:
        rng = self.rng
        pid = self.ids[Patient].take()
        pat = PatientState(pid, rng)
        country = _pick(rng, (("GB", 0.72), ("FR", 0.16), ("US", 0.12)))
        female = rng.random() < 0.56
        if rng.random() < 0.82:
            first, last, sex = random_person(rng)
            if country != "GB" and rng.random() < 0.6:
                first = rng.choice(EXTRA_FEMALE if sex == "female" else EXTRA_MALE)
                last = rng.choice(EXTRA_LAST)
        else:
            sex = "female" if female else "male"
            first = rng.choice(EXTRA_FEMALE if female else EXTRA_MALE)
            last = rng.choice(EXTRA_LAST)
        if rng.random() < 0.01:
            sex = rng.choice(["other", "unknown"])
        preferred = ""
        if rng.random() < 0.04:
            preferred = first[:3] if len(first) > 4 else ""
        # Adults mostly, from children with congenital palsy to the very old.
        age_days = int(365.25 * min(99, max(2, rng.gauss(52, 17))))
        born = self.today - timedelta(days=age_days + rng.randint(0, 364))
        pat.born = born
        # The pathway first: registration happens a little before the first visit.
        kind = self._pathway_kind(rng)
        pat.kind = kind
        pat.procedure = PROCEDURES[_weighted_index(rng, [p[1] for p in PROCEDURES])]
        steps = self._steps(rng, kind, self.scale)
        span = sum(gap for _c, gap in steps)
        day = rng.randint(0, max(0, self.ndays - 1 - span))
        registered = self.utc(max(day - rng.randint(3, 40), -self.pre + 1), rng.randint(480, 1020))
        registered = min(registered, self.now_m - 60)
        pat.registered = registered

        slug = f"{_ascii(first)}.{_ascii(last)}".lower()
        email = "" if rng.random() < 0.12 else f"{slug}.{pid % 9973}@{rng.choice(EMAIL_DOMAINS)}"
        mobile = "" if rng.random() < 0.09 else _mobile(country, pid)
        pat.email, pat.mobile = email, mobile
        affected = _pick(rng, (("left", 0.48), ("right", 0.48), ("bilateral", 0.04)))
        pat.affected = affected if affected != "bilateral" else rng.choice(["left", "right"])
        pat.other = "right" if pat.affected == "left" else "left"
        cause = _pick(
            rng,
            (
                ("bells_palsy", 0.55),
                ("ramsay_hunt", 0.12),
                ("surgery", 0.15),
                ("trauma", 0.06),
                ("congenital", 0.05),
                ("other", 0.07),
            ),
        )
        if cause == "congenital":
            onset = born
        else:
            onset = born + timedelta(days=rng.randint(0, max(0, (self.today - born).days - 200)))
            first_visit = self.day0 + timedelta(days=day)
            if onset > first_visit:
                onset = max(born, first_visit - timedelta(days=rng.randint(60, 700)))
        address1, city, postcode, language = _address(rng, country)
        pat.language = language
        chunk.add(
            Patient,
            "\t".join(
                (
                    str(pid),
                    mrn_for(pid),
                    _esc(first),
                    _esc(last),
                    _esc(preferred),
                    born.isoformat(),
                    sex,
                    email,
                    mobile,
                    _esc(address1),
                    "",
                    _esc(city),
                    postcode,
                    country,
                    "",
                    "",
                    language,
                    rng.choice(REFERRERS),
                    "" if rng.random() < 0.3 else f"Dr {rng.choice(EXTRA_LAST).replace(chr(39), '')}",
                    rng.choice(GP_PRACTICES),
                    "",
                    "",
                    affected,
                    cause,
                    "",
                    onset.isoformat(),
                    "",
                    "t" if kind in ("toxin", "surgery") and rng.random() < 0.3 else "f",
                    "t" if rng.random() < 0.2 else "f",
                    "f",
                    "" if rng.random() < 0.85 else rng.choice(["Penicillin", "Latex", "Albumin"]),
                    "",
                    "t" if rng.random() < 0.06 else "f",
                    "active",
                    "",
                    N,
                    "",
                    N,
                    self.ts(registered),
                    self.ts(registered),
                    str(rng.choice(self.front_desk_ids)),
                )
            ),
        )
        self._consents(chunk, pat, rng)
        self.remaining_appointments -= self._visits(chunk, pat, steps, day, rng)

    def _consents(self, chunk: Chunk, pat, rng: random.Random) -> None:
        at = self.ts(pat.registered)
        grants = []
        if pat.email:
            grants.append(("email", "appointment_reminders", pat.email))
            if rng.random() < 0.8:
                grants.append(("email", "recalls", pat.email))
            if rng.random() < 0.6:
                grants.append(("email", "questionnaires", pat.email))
        if pat.mobile:
            if rng.random() < 0.85:
                grants.append(("sms", "appointment_reminders", pat.mobile))
            if rng.random() < 0.7:
                grants.append(("sms", "recalls", pat.mobile))
        method = rng.choice(["written", "online", "verbal"])
        ids = self.ids[MessagingConsent]
        for channel, purpose, address in grants:
            chunk.add(
                MessagingConsent,
                f"{ids.take()}\t{pat.id}\t{channel}\t{purpose}\tt\t{address}\t{method}\t{at}\t{N}\t",
            )
            pat.consent.add((channel, purpose))
        if pat.mobile and ("sms", "recalls") in pat.consent and rng.random() < 0.03:
            later = self.ts(min(pat.registered + rng.randint(30, 900) * 1440, self.now_m - 1))
            chunk.add(
                MessagingConsent,
                f"{ids.take()}\t{pat.id}\tsms\trecalls\tf\t{pat.mobile}\tsms_reply\t{later}\t{N}\t"
                "Replied STOP",
            )
            pat.consent.discard(("sms", "recalls"))

    def _visits(self, chunk: Chunk, pat, steps, day: int, rng: random.Random) -> int:
        """Book the pathway's visits, then write what each visit left behind. Returns how many
        appointments were made."""
        booked = []
        for code, gap in steps:
            day += gap
            if day > self.last_d:
                break
            found = self._book(pat, code, day, rng)
            if found is None:
                continue
            p, day, start, minutes, hold = found
            booked.append((code, p, day, start, minutes, hold))
            day += 1  # the next visit is on another day
        appointments = []
        for code, p, d, start_local, minutes, hold in booked:
            starts = self.utc(d, start_local)
            aid = self.ids[Appointment].take()
            if starts + minutes <= self.now_m:
                status = _pick(rng, PAST_STATUS)
            elif starts <= self.now_m:
                status = "checked_in"
            else:
                status = _pick(rng, FUTURE_STATUS)
            lead = rng.choice((1, 2, 3, 7, 10, 14, 21, 28, 35, 42, 56, 70)) * 1440 + rng.randint(-300, 300)
            created = min(starts - lead, self.now_m - rng.randint(5, 600))
            via = _pick(rng, (("staff", 0.86), ("patient_link", 0.10), ("api", 0.04)))
            booked_by = str(rng.choice(self.front_desk_ids)) if via == "staff" else N
            reason = rng.choice(CANCEL_REASONS) if status == "cancelled" else ""
            t = self.types[code]
            chunk.add(
                Appointment,
                "\t".join(
                    (
                        str(aid),
                        str(pat.id),
                        str(t.pk),
                        str(p.id),
                        str(p.rooms["theatre" if code == "surgery" else t.room_kind]),
                        self.ts(starts),
                        self.ts(starts + minutes),
                        self.ts(starts + hold),
                        status,
                        "",
                        "",
                        reason,
                        booked_by,
                        via,
                        self.ts(created),
                        self.ts(max(created, min(starts + minutes, self.now_m))),
                        # The calendar SEQUENCE: one more for each change after the booking.
                        "0" if status in ("booked", "confirmed") else "1",
                    )
                ),
            )
            events = self.ids[AppointmentEvent]
            chunk.add(
                AppointmentEvent,
                f"{events.take()}\t{aid}\tbooked\t\tbooked\t{self.ts(created)}\t{booked_by}\t{via}\t\t{{}}",
            )
            if status != "booked":
                action = {"checked_in": "checked_in", "no_show": "no_show"}.get(status, status)
                at = starts + minutes + 5 if status in ("completed", "no_show") else created + 1440
                if status == "checked_in":
                    at = starts - 10
                if status == "cancelled":
                    at = min(starts - rng.randint(60, 4000), self.now_m - 1)
                at = max(at, created + 1)
                chunk.add(
                    AppointmentEvent,
                    f"{events.take()}\t{aid}\t{action}\tbooked\t{status}\t{self.ts(at)}\t"
                    f"{rng.choice(self.front_desk_ids)}\tstaff\t{reason}\t{{}}",
                )
            appointments.append(Visit(aid, code, p, d, starts, minutes, status, created))
        self._records(chunk, pat, appointments, rng)
        return len(appointments)

    # --- clinical records, recalls and messages -------------------------------------------------

    def _records(self, chunk: Chunk, pat, visits: list, rng: random.Random) -> None:
        product, _prefix, _units, _share, factor = PRODUCTS[_weighted_index(rng, [p[3] for p in PRODUCTS])]
        pat.product, pat.factor = product, factor
        severity = rng.uniform(0.35, 0.9)
        last_treatment_enc = None
        previous_toxin_day = None
        plan_written = False
        recorded = 0
        for n, v in enumerate(visits):
            if v.code == "toxin" and v.status == "completed":
                days_since = (v.day - previous_toxin_day) if previous_toxin_day is not None else None
                previous_toxin_day = v.day
            else:
                days_since = None
            if v.status != "completed" or v.day < self.go_live_d:
                continue
            progress = n / max(1, len(visits) - 1)
            sev = severity * (1 - 0.35 * progress)
            eid = self.ids[Encounter].take()
            recorded += 1
            kind = ENCOUNTER_KIND[v.code]
            summary = ""
            if kind == "toxin":
                summary = self._toxin(chunk, pat, v, eid, days_since, rng)
                last_treatment_enc = eid
                self._reinjection_recall(chunk, pat, v, eid, visits, rng)
            elif kind == "therapy":
                summary = self._therapy(chunk, pat, eid, rng)
            elif kind == "surgery":
                summary = self._surgery(chunk, pat, v, eid, visits, rng)
                last_treatment_enc = eid
            elif kind == "consultation":
                summary = self._consultation(chunk, pat, v, eid, sev, rng)
                if not plan_written and pat.kind != "consult":
                    self._plan(chunk, pat, v, visits, sev, rng)
                    plan_written = True
            else:
                summary = self._follow_up(chunk, pat, v, eid, last_treatment_enc, sev, rng)
            # Signed within two days; the last fortnight's notes may still be drafts.
            signed = v.day < self.today_d - 14 or rng.random() < 0.7
            occurred = self.ts(v.starts)
            created = self.ts(v.starts + v.minutes + rng.randint(1, 90))
            if signed:
                signed_at = min(v.starts + v.minutes + rng.randint(10, 2880), self.now_m - 1)
                sign = f"signed\t{self.ts(signed_at)}\t{v.provider.user_id}"
                updated = self.ts(signed_at)
            else:
                sign = f"draft\t{N}\t{N}"
                updated = created
            note = rng.choice(NOTES[kind])
            chunk.add(
                Encounter,
                f"{eid}\t{pat.id}\t{kind}\t{v.provider.user_id}\t{v.id}\t{N}\t{occurred}\t{_esc(note)}\t"
                f"{_esc(summary[:300])}\t{sign}\t{created}\t{v.provider.user_id}\t{updated}",
            )
            if signed and rng.random() < 0.004:
                chunk.add(
                    Addendum,
                    f"{self.ids[Addendum].take()}\t{eid}\t{v.provider.user_id}\t{updated}\t"
                    "Correction: side confirmed with the patient at the next visit.",
                )
            if kind == "toxin" and rng.random() < 0.4:
                self._assessment(chunk, pat, "saq", v.starts - rng.randint(60, 2880), None, None, sev, rng)
        self._messages(chunk, pat, visits, rng)

    def _toxin(self, chunk: Chunk, pat, v, eid: int, days_since, rng: random.Random) -> str:
        lot = self.lot_for(pat.product, v.day)
        count = rng.randint(6, 15)
        pairs = _muscle_pairs(rng, count, pat.affected, pat.other)
        total = Decimal(0)
        points_total = 0
        ids = self.ids[Injection]
        for position, (muscle, side) in enumerate(pairs):
            points = _pick(rng, ((1, 0.45), (2, 0.35), (3, 0.15), (4, 0.05)))
            per_point = (
                rng.choice((1.5, 2.0, 2.5)) if side == pat.affected else rng.choice((2.5, 3.0, 4.0, 5.0))
            )
            units = Decimal(str(round(per_point * points * pat.factor * 2) / 2)).quantize(Decimal("0.01"))
            total += units
            points_total += points
            # Not marked on the face diagram (the point is optional).
            chunk.add(
                Injection, f"{ids.take()}\t{eid}\t{position}\t{muscle}\t{side}\t{units}\t{points}\t{N}\t{N}"
            )
        dilution = rng.choice(("1.00", "2.00", "2.50")) if pat.factor == 1.0 else "2.50"
        onset = duration = N
        ptosis = oral = smile = "f"
        if days_since is not None:
            onset = str(rng.randint(2, 10))
            duration = str(rng.randint(8, 16))
            effect = rng.random()
            ptosis = "t" if effect < 0.02 else "f"
            oral = "t" if 0.02 <= effect < 0.05 else "f"
            smile = "t" if 0.05 <= effect < 0.09 else "f"
        chunk.add(
            ToxinSession,
            f"{eid}\t{pat.product}\t{lot.pk}\t{dilution}\t{N if days_since is None else days_since}\t\t{N}\t"
            f"{onset}\t{duration}\t{ptosis}\t{oral}\t{smile}\t",
        )
        return (
            f"{PRODUCT_LABELS[pat.product]} {format_units(total)} U in {points_total} points"
            f" · lot {lot.lot_number}"
        )

    def _therapy(self, chunk: Chunk, pat, eid: int, rng: random.Random) -> str:
        techniques = rng.sample(TECHNIQUES, rng.randint(2, 4))
        exercises = rng.sample(EXERCISES, rng.randint(2, 4))
        for position, (text, reps, hold, times) in enumerate(exercises):
            chunk.add(
                HomeExercise,
                f"{self.ids[HomeExercise].take()}\t{eid}\t{position}\t{text}\t{reps}\t{hold}\t{times}\t"
                "Slowly, in front of a mirror, keeping the eye relaxed.\t",
            )
        for position, (trigger, region) in enumerate(rng.sample(PATTERNS, rng.randint(1, 3))):
            severity = rng.choice(("mild", "moderate", "severe", ""))
            chunk.add(
                SynkinesisPattern,
                f"{self.ids[SynkinesisPattern].take()}\t{eid}\t{position}\t{trigger}\t{region}\t{severity}",
            )
        recommendations = []
        for position in range(_pick(rng, ((0, 0.5), (1, 0.3), (2, 0.2)))):
            muscle = rng.choice(
                (Muscle.ORBICULARIS_OCULI_ORBITAL, Muscle.PLATYSMA, Muscle.MENTALIS, Muscle.BUCCINATOR)
            )
            recommendations.append((muscle, pat.affected))
            chunk.add(
                InjectorRecommendation,
                f"{self.ids[InjectorRecommendation].take()}\t{eid}\t{position}\t{muscle}\t{pat.affected}\t"
                "Tight on smiling; consider a little more here.",
            )
        adherence = _pick(
            rng, (("daily", 0.35), ("most_days", 0.35), ("occasional", 0.2), ("none", 0.05), ("", 0.05))
        )
        chunk.add(
            TherapyVisit,
            f"{eid}\t{_jsonv(techniques)}\t{rng.choice((45, 45, 60))}\t{adherence}\t\t"
            f"Smile without the eye closing\tSteady progress; less tightness on smiling.\t{N}\t{N}\tf",
        )
        labels = dict(Technique.choices)
        parts = [", ".join(labels[t] for t in techniques)]
        parts.append(f"{len(exercises)} home exercise{'s' if len(exercises) != 1 else ''}")
        if recommendations:
            parts.append(
                "to injector: " + ", ".join(f"{MUSCLE_LABELS[m]} ({s})" for m, s in recommendations[:3])
            )
        return " · ".join(parts)

    def _surgery(self, chunk: Chunk, pat, v, eid: int, visits: list, rng: random.Random) -> str:
        kind, _w, anaesthesia, _minutes = pat.procedure
        muscle = ""
        weight = lot = N
        implant = ""
        if kind == "selective_myectomy":
            muscle = rng.choice((Muscle.ORBICULARIS_OCULI_ORBITAL, Muscle.PLATYSMA, Muscle.MENTALIS))
        if kind == "upper_eyelid":
            weight = rng.choice(("0.8", "1.0", "1.2", "1.4", "1.6"))
            implant = f"GW{rng.randint(10000, 99999)}"
        _ = lot
        divided = "Two buccal branches to the orbicularis oculi" if kind == "selective_neurolysis" else ""
        preserved = "Zygomatic branches to the smile" if kind == "selective_neurolysis" else ""
        # The structured details of the procedures that have them.
        approach = rng.choice(("intraoral", "external")) if kind == "dao_excision" else ""
        tested = "preserved" if kind == "selective_neurolysis" else ""
        donor = ("gracilis", "masseteric") if kind == "muscle_transfer" else ("", "")
        chunk.add(
            Procedure,
            f"{self.ids[Procedure].take()}\t{eid}\t0\t{kind}\t{muscle}\t{divided}\t{preserved}\t{weight}\t{implant}\t"
            f"\t{approach}\t{tested}\t{tested}\t{donor[0]}\t{donor[1]}",
        )
        if rng.random() < 0.04:
            chunk.add(
                Complication,
                f"{self.ids[Complication].take()}\t{eid}\t0\tWound haematoma, managed conservatively\tI",
            )
        for position, (label, days) in enumerate(POST_OP_PLAN):
            chunk.add(
                FollowUpPlanItem, f"{self.ids[FollowUpPlanItem].take()}\t{eid}\t{position}\t{label}\t{days}"
            )
        chunk.add(
            Surgery,
            f"{eid}\t{pat.affected}\t{anaesthesia}\t\t{self.ts(v.starts)}\t{self.ts(v.starts + v.minutes)}\t"
            "As expected.\tProcedure performed as planned; haemostasis; layered closure.",
        )
        # Post-operative recalls, each satisfied by the post-op visit booked for it if there is one.
        post_ops = [w for w in visits if w.code == "post_op" and w.day > v.day][:3]
        for position, (label, days) in enumerate(POST_OP_PLAN):
            due = v.day + days
            earliest = max(v.day, due - min(7, max(1, days // 10)))
            overdue = due + (7 if days <= 14 else 14)
            visit = post_ops[position] if position < len(post_ops) else None
            status, booked = _recall_outcome(visit, overdue, self.today_d, rng)
            self._recall(
                chunk,
                pat,
                "post_op",
                "post_op",
                v,
                v.day,
                earliest,
                due,
                overdue,
                f"surgery:{eid}:{position + 1}",
                f"Post-op {label}",
                status,
                booked,
                rng,
            )
        return (
            f"{PROCEDURE_LABELS[kind]}{f' ({MUSCLE_LABELS[muscle]})' if muscle else ''} · {pat.affected} · "
            f"{ANAESTHESIA_LABELS[anaesthesia].lower()}"
        )

    def _consultation(self, chunk: Chunk, pat, v, eid: int, sev: float, rng: random.Random) -> str:
        severity = "severe" if sev > 0.7 else "moderate" if sev > 0.45 else "mild"
        plan = PLAN_TEXT[pat.kind]
        chunk.add(
            Consultation,
            f"{eid}\tFacial palsy on the {pat.affected}, onset some years ago; synkinesis since recovery.\t"
            f"Synkinesis on smiling and eye closure, {pat.affected} side.\t"
            "Eye narrows when smiling; tightness in the neck.\t"
            f"{severity}\tA more natural smile; less eye closure when eating.\t{plan}",
        )
        self._assessment(chunk, pat, "sunnybrook", v.starts + 20, eid, v.provider.user_id, sev, rng)
        self._assessment(chunk, pat, "house_brackmann", v.starts + 25, eid, v.provider.user_id, sev, rng)
        self._assessment(chunk, pat, "saq", v.starts - 30, None, None, sev, rng)
        return f"Severity: {severity} · {plan}"

    def _follow_up(self, chunk: Chunk, pat, v, eid: int, treatment, sev: float, rng: random.Random) -> str:
        response = _pick(rng, (("much_better", 0.25), ("better", 0.45), ("unchanged", 0.25), ("worse", 0.05)))
        labels = dict(FollowUp.Response.choices)
        chunk.add(
            FollowUp,
            f"{eid}\t{treatment if treatment else N}\t{response}\tReviewed; plan continues.",
        )
        if rng.random() < 0.6:
            self._assessment(chunk, pat, "sunnybrook", v.starts + 10, eid, v.provider.user_id, sev, rng)
        return f"Response: {labels[response].lower()} · Reviewed; plan continues."

    def _assessment(self, chunk: Chunk, pat, code: str, at: int, eid, rater, sev: float, rng) -> None:
        instrument = instruments.get(code)
        if code == "sunnybrook":
            items = {
                "rest_eye": "narrow" if rng.random() < sev else "normal",
                "rest_cheek": rng.choice(("less_pronounced", "absent")) if rng.random() < sev else "normal",
                "rest_mouth": "corner_drooped" if rng.random() < sev * 0.8 else "normal",
            }
            for key, _label in instruments.EXPRESSIONS:
                items[f"voluntary_{key}"] = max(1, min(5, round(5 - sev * 3 + rng.uniform(-0.8, 0.8))))
            for key, _label in instruments.EXPRESSIONS:
                items[f"synkinesis_{key}"] = max(0, min(3, round(sev * 3 * rng.random())))
        elif code == "house_brackmann":
            items = {"grade": max(2, min(6, round(1 + sev * 5 + rng.uniform(-0.7, 0.7))))}
        else:
            items = {
                f"saq_{n}": max(1, min(5, round(1 + sev * 4 * rng.random() + 0.5))) for n in range(1, 10)
            }
        scores = instrument.scorer(items)
        rater_kind = "patient" if instrument.reported_by == "patient" else "clinician"
        side = pat.affected if rater_kind == "clinician" else ""
        chunk.add(
            Assessment,
            f"{self.ids[Assessment].take()}\t{pat.id}\t{code}\t{_jsonv(items)}\t{_jsonv(scores)}\t"
            f"{instrument.formula_version}\t{self.ts(at)}\t{side}\t{rater_kind}\t"
            f"{rater if rater else N}\t{eid if eid else N}\t\trecorded\t\t{self.ts(at + 5)}",
        )

    def _plan(self, chunk: Chunk, pat, v, visits: list, sev: float, rng: random.Random) -> None:
        plan_id = self.ids[TreatmentPlan].take()
        last_day = visits[-1].day
        ongoing = last_day >= self.today_d - 200
        status = "active" if ongoing else "completed"
        modalities = {
            "therapy": ["therapy"],
            "toxin": ["toxin", "therapy"] if rng.random() < 0.4 else ["toxin"],
            "surgery": ["toxin", "surgery"],
        }[pat.kind]
        severity = "severe" if sev > 0.7 else "moderate" if sev > 0.45 else "mild"
        comfort = (
            "comfortable" if pat.kind == "surgery" else rng.choice(("comfortable", "hesitant", "declines"))
        )
        created = self.ts(v.starts + v.minutes + 15)
        chunk.add(
            TreatmentPlan,
            f"{plan_id}\t{pat.id}\t{v.provider.user_id}\t{status}\t"
            f"A more natural smile and less eye closure when eating.\t{_jsonv(modalities)}\t{severity}\t"
            f"{rng.choice(('quick_results', 'can_invest_time'))}\t"
            f"{comfort}\t"
            f"\t\t{created}\t{created}\t1",
        )
        for position, modality in enumerate(modalities):
            stage_status = (
                "done" if not ongoing else ("in_progress" if position == len(modalities) - 1 else "done")
            )
            start = self.ds(v.day + 14 * position)
            chunk.add(
                PlanStage,
                f"{self.ids[PlanStage].take()}\t{plan_id}\t{position}\t{modality}\t{STAGE_TEXT[modality]}\t"
                f"{start}\t{N}\t{stage_status}",
            )

    def _reinjection_recall(self, chunk: Chunk, pat, v, eid: int, visits: list, rng: random.Random) -> None:
        anchor = v.day
        earliest = anchor + self.settings.min_reinjection_interval_days
        due = max(earliest, anchor + rng.randint(84, 105))
        overdue = due + 7 * self.settings.recall_overdue_weeks_after_due
        following = next(
            (w for w in visits if w.code == "toxin" and w.day > v.day and w.status != "cancelled"), None
        )
        status, booked = _recall_outcome(following, overdue, self.today_d, rng)
        self._recall(
            chunk,
            pat,
            "reinjection",
            "toxin",
            v,
            anchor,
            earliest,
            due,
            overdue,
            f"toxin_session:{eid}",
            "Toxin reinjection",
            status,
            booked,
            rng,
        )

    def _recall(
        self,
        chunk,
        pat,
        kind,
        type_code,
        v,
        anchor,
        earliest,
        due,
        overdue,
        source,
        label,
        status,
        booked,
        rng,
    ) -> None:
        rid = self.ids[Recall].take()
        created = self.ts(v.starts + v.minutes + 30)
        updated = (
            created
            if status == "open"
            else self.ts(min(self.utc(min(due, self.last_d), 600), self.now_m - 1))
        )
        chunk.add(
            Recall,
            f"{rid}\t{pat.id}\t{kind}\t{self.types[type_code].pk}\t{v.provider.id}\t{self.ds(anchor)}\t"
            f"{self.ds(earliest)}\t{self.ds(due)}\t{self.ds(overdue)}\t{status}\t{source}\t{label}\t"
            f"{booked.id if booked else N}\t{created}\t{updated}",
        )
        if status == "open" and overdue <= self.today_d and rng.random() < 0.35:
            at = min(self.utc(overdue, 600), self.now_m - 1)
            chunk.add(
                RecallContact,
                f"{self.ids[RecallContact].take()}\t{rid}\t{rng.choice(('phone', 'voicemail', 'letter'))}\t"
                f"No answer; will try again.\t{self.ts(at)}\t{rng.choice(self.front_desk_ids)}",
            )
        # The recall's first reminder, for recalls of the messaging era.
        if anchor >= self.messages_d:
            first = (
                max(due - 7 * self.settings.recall_first_reminder_weeks_before_due, earliest, anchor + 1)
                if kind == "reinjection"
                else max(earliest - 7, anchor + 1)
            )
            if first <= self.last_d:
                self._message(
                    chunk,
                    pat,
                    "recall_due",
                    self.utc(first, 540),
                    f"recall:{rid}",
                    None,
                    rid,
                    rng,
                    closed=status != "open",
                )

    def _messages(self, chunk: Chunk, pat, visits: list, rng: random.Random) -> None:
        for v in visits:
            if v.day < self.messages_d:
                continue
            stamp = self._stamp(v.starts)
            self._message(
                chunk,
                pat,
                "appointment_confirmation",
                v.created + 1,
                f"appointment:{v.id}@{stamp}",
                v.id,
                None,
                rng,
            )
            if v.status == "cancelled":
                continue
            remind = v.starts - 48 * 60
            if remind > v.created:
                self._message(
                    chunk, pat, "appointment_reminder", remind, f"appointment:{v.id}", v.id, None, rng
                )
                if v.code == "toxin":
                    self._message(
                        chunk, pat, "questionnaire", remind, f"appointment:{v.id}", v.id, None, rng, saq=True
                    )

    def _stamp(self, minutes: int) -> str:
        text = self.ts(minutes)
        return f"{text[0:4]}{text[5:7]}{text[8:10]}T{text[11:13]}{text[14:16]}"

    def _message(
        self, chunk, pat, kind, due, target, appointment_id, recall_id, rng, saq=False, closed=False
    ):
        purpose = PURPOSE_FOR_KIND[kind]
        if ("sms", purpose) in pat.consent:
            channel, address = "sms", pat.mobile
        elif ("email", purpose) in pat.consent:
            channel, address = "email", pat.email
        else:
            channel, address = ("email", pat.email) if pat.email else ("sms", pat.mobile)
        consented = (channel, purpose) in pat.consent and address
        due_day = self.ts(due)[:10]  # the UTC day is the clinic's day in working hours
        key = f"{target}:{kind}:{channel}:{due_day}"
        context = '{"instrument":"saq","when":"before"}' if saq else "{}"
        if due > self.now_m and closed:
            # What it was waiting for happened: the planned reminder was cancelled.
            status, reason_code, reason, sent, to, claimed = (
                "cancelled",
                "superseded",
                "recall closed",
                N,
                "",
                N,
            )
            subject = body = ""
        elif due > self.now_m:
            status, reason_code, reason, sent, to, claimed = "scheduled", "", "", N, "", N
            subject = body = ""
        elif not consented:
            status, reason_code, reason, sent, to, claimed = (
                "skipped",
                "no_consent",
                f"No consent for {purpose.replace('_', ' ')} by {channel}.",
                N,
                "",
                self.ts(due),
            )
            subject = body = ""
        else:
            failed = rng.random() < 0.015
            status = "failed" if failed else "sent"
            reason_code, reason = ("provider_rejected", "Number unreachable") if failed else ("", "")
            sent = N if failed else self.ts(due + 1)
            to, claimed = address, self.ts(due)
            subject = MESSAGE_SUBJECT[kind] if channel == "email" else ""
            body = MESSAGE_BODY[kind]
        chunk.add(
            Message,
            f"{self.ids[Message].take()}\t{pat.id}\t{kind}\t{channel}\t{purpose}\t{self.ts(due)}\t{status}\t"
            f"{appointment_id if appointment_id else N}\t{recall_id if recall_id else N}\t{key}\t{context}\t"
            f"{to}\t{subject}\t{body}\t{0 if status in ('scheduled', 'cancelled') else 1}\t"
            f"{reason_code}\t{reason}\t{claimed}\t"
            f"{sent}\t\t{self.ts(min(due, self.now_m) - 1)}\t{self.ts(min(due + 1, self.now_m))}",
        )


class SeedError(Exception):
    pass


class Writer:
    """Copies batches on its own thread (and so its own database connection), one at a time."""

    def __init__(self, seed: "ScaleSeed"):
        self.seed = seed
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="seed-scale-copy", daemon=True)
        self.thread.start()

    def put(self, chunk: Chunk, analyze: bool) -> None:
        if self.error:
            raise self.error
        self.queue.put((chunk, analyze))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error:
            raise self.error

    def _run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
            while (item := self.queue.get()) is not None:
                if self.error is None:
                    chunk, analyze = item
                    self.seed._copy(chunk)
                    if analyze:
                        self.seed._analyze()
        except BaseException as exc:  # handed to the main thread, which raises it
            self.error = exc
            while self.queue.get() is not None:
                pass
        finally:
            connection.close()


@dataclass(slots=True)
class Visit:
    id: int
    code: str
    provider: ProviderInfo
    day: int
    starts: int
    minutes: int
    status: str
    created: int


class PatientState:
    __slots__ = (
        "affected",
        "born",
        "consent",
        "email",
        "factor",
        "id",
        "kind",
        "language",
        "mobile",
        "other",
        "procedure",
        "product",
        "registered",
        "usual",
    )

    def __init__(self, pid: int, rng: random.Random):
        self.id = pid
        self.usual: dict = {}
        self.consent: set = set()

    def role_for(self, code: str, rng: random.Random, role_of: dict) -> str:
        roles = role_of[code]
        if len(roles) == 1:
            return next(iter(roles))
        if code == "follow_up":
            # Seen by whoever treats them.
            return {"toxin": Role.INJECTOR, "therapy": Role.THERAPIST}.get(self.kind, Role.SURGEON)
        if code == "toxin" and self.kind == "surgery":
            return Role.SURGEON
        return Role.INJECTOR if code == "toxin" else next(iter(roles))


def _recall_outcome(visit, overdue: int, today: int, rng: random.Random):
    """(status, booked appointment) of a recall given the visit that answered it, if any."""
    if visit is not None:
        if visit.status in ("completed", "checked_in", "no_show"):
            return "completed", visit
        return "booked", visit
    if overdue < today - 180:
        return "cancelled", None  # the patient moved on; the front desk closed it
    return "open", None


def _weighted_index(rng: random.Random, weights: list) -> int:
    r = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        r -= w
        if r < 0:
            return i
    return len(weights) - 1


def _muscle_pairs(rng: random.Random, count: int, affected: str, other: str) -> list:
    """``count`` distinct (muscle, side) rows, mostly the affected side's usual targets, in map order."""
    chosen = {}
    muscles = list(MUSCLE_WEIGHTS)
    weights = list(MUSCLE_WEIGHTS.values())
    while len(chosen) < count:
        muscle = muscles[_weighted_index(rng, weights)]
        side = affected if rng.random() < 0.7 else other
        chosen[(muscle, side)] = None
    order = {m: i for i, m in enumerate(Muscle.values)}
    return sorted(chosen, key=lambda ms: (order[ms[0]], ms[1]))


def _mobile(country: str, pid: int) -> str:
    """A valid mobile number, unique per patient id, in the patient's country's format."""
    if country == "FR":
        prefixes = FR_MOBILE_PREFIXES
        return f"+33{prefixes[pid % len(prefixes)]}{(pid // len(prefixes) * 7919) % 10_000_000:07d}"
    if country == "US":
        area = US_AREA_CODES[pid % len(US_AREA_CODES)]
        n = (pid // len(US_AREA_CODES) * 7919) % 8_000_000
        exchange = 200 + n // 10_000
        if exchange % 100 == 11 or exchange == 555:
            exchange += 1
        return f"+1{area}{exchange}{n % 10_000:04d}"
    prefix = UK_MOBILE_PREFIXES[pid % len(UK_MOBILE_PREFIXES)]
    return f"+44{prefix}{(pid // len(UK_MOBILE_PREFIXES) * 7919) % 1_000_000:06d}"


def _address(rng: random.Random, country: str) -> tuple[str, str, str, str]:
    if country == "FR":
        city, code = rng.choice(FR_CITIES)
        return (
            f"{rng.randint(1, 120)} {rng.choice(FR_STREETS)}",
            city,
            f"{code}{rng.randint(1, 20):02d}",
            "fr",
        )
    if country == "US":
        city, state = rng.choice(US_CITIES)
        return (
            f"{rng.randint(10, 9999)} {rng.choice(US_STREETS)}",
            city,
            f"{state} {rng.randint(1000, 99999):05d}",
            "en" if rng.random() < 0.85 else "es",
        )
    area = rng.choice(UK_POSTAREAS)
    return (
        f"{rng.randint(1, 200)} {rng.choice(STREETS)}",
        rng.choice(TOWNS),
        f"{area} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
        "en",
    )


EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "post.example"]
ENCOUNTER_KIND = {
    "consultation": "consultation",
    "follow_up": "follow_up",
    "post_op": "follow_up",
    "toxin": "toxin",
    "therapy": "therapy",
    "surgery": "surgery",
}
NOTES = {
    "consultation": ["Seen with partner. Goals discussed.", "Referred by ENT. Photographs taken.", ""],
    "toxin": ["Tolerated well.", "Map as last time, a little less on the pretarsal.", "", ""],
    "therapy": ["Good engagement.", "Struggling to find time for the exercises.", ""],
    "surgery": ["Uneventful.", ""],
    "follow_up": ["Happy with the result.", "Some tightness returning.", ""],
}
PLAN_TEXT = {
    "consult": "Reassured; review if symptoms change.",
    "therapy": "A course of neuromuscular retraining therapy.",
    "toxin": "Botulinum toxin every 12-16 weeks with home exercises.",
    "surgery": "Toxin first, then surgery for what it cannot fix.",
}
STAGE_TEXT = {
    "therapy": "Three months of NMRT with a home programme",
    "toxin": "Toxin every 12-16 weeks, map adjusted to response",
    "surgery": "Surgery, then the post-operative plan",
}
MESSAGE_SUBJECT = {
    "appointment_confirmation": "Your appointment is booked",
    "appointment_reminder": "Reminder: your appointment",
    "appointment_cancelled": "Your appointment is cancelled",
    "questionnaire": "A short questionnaire before your visit",
    "recall_due": "Time to book your next appointment",
}
MESSAGE_BODY = {
    "appointment_confirmation": "Your appointment at the Facial Nerve Clinic is booked.",
    "appointment_reminder": "A reminder of your appointment at the Facial Nerve Clinic.",
    "appointment_cancelled": "Your appointment at the Facial Nerve Clinic has been cancelled.",
    "questionnaire": "Please answer a short questionnaire before your visit.",
    "recall_due": "You are due for your next appointment. Please book a time.",
}

# Columns written for each table, in the order of the COPY lines above. check_columns() makes
# sure every column without a default is covered, so a new NOT NULL field fails loudly here.
COLUMNS = {
    Patient: _cols(
        "id mrn first_name last_name preferred_name date_of_birth sex email mobile address_line1 "
        "address_line2 city postcode country emergency_contact_name emergency_contact_phone "
        "language referring_clinician gp_name gp_practice referrer_email gp_email affected_side palsy_cause "
        "palsy_cause_detail palsy_onset_date previous_treatments prior_toxin prior_therapy "
        "prior_surgery allergies medications on_anticoagulants status inactive_reason "
        "inactive_since inactive_note merged_into_id created_at updated_at created_by_id"
    ),
    MessagingConsent: _cols(
        "id patient_id channel purpose granted address method recorded_at recorded_by_id note"
    ),
    Appointment: _cols(
        "id patient_id appointment_type_id provider_id room_id starts_at ends_at blocked_until "
        "status notes interval_override_reason cancellation_reason booked_by_id booked_via "
        "created_at updated_at sequence"
    ),
    AppointmentEvent: _cols("id appointment_id action from_status to_status at by_id via reason details"),
    TreatmentPlan: _cols(
        "id patient_id author_id status goals modalities severity lifestyle surgery_comfort "
        "previous_experience notes created_at updated_at version"
    ),
    PlanStage: _cols("id plan_id position modality description target_start target_end status"),
    Injection: _cols("id session_id position muscle side units points diagram_x diagram_y"),
    HomeExercise: _cols(
        "id visit_id position exercise repetitions hold_seconds times_per_day instructions notes"
    ),
    SynkinesisPattern: _cols("id visit_id position trigger region severity"),
    InjectorRecommendation: _cols("id visit_id position muscle side note"),
    Procedure: _cols(
        "id surgery_id position kind muscle branches_divided branches_preserved gold_weight_grams "
        "implant_lot detail approach function_test_smile function_test_eye_closure donor_muscle donor_nerve"
    ),
    Complication: _cols("id surgery_id position description grade"),
    FollowUpPlanItem: _cols("id surgery_id position label after_days"),
    ToxinSession: _cols(
        "encounter_id product lot_id dilution_ml days_since_previous interval_override_reason "
        "interval_overridden_by_id response_onset_days response_duration_weeks response_ptosis "
        "response_oral_incompetence response_smile_weakness response_other"
    ),
    TherapyVisit: _cols(
        "encounter_id techniques duration_minutes adherence adherence_note goals progress "
        "course_visits course_every_weeks weekly_checkins"
    ),
    Surgery: _cols("encounter_id side anaesthesia assistants started_at ended_at findings operative_note"),
    Consultation: _cols("encounter_id history_of_palsy examination symptoms severity goals plan_summary"),
    FollowUp: _cols("encounter_id treatment_id response response_note"),
    Encounter: _cols(
        "id patient_id kind clinician_id appointment_id plan_stage_id occurred_at note summary "
        "status signed_at signed_by_id created_at created_by_id updated_at"
    ),
    Addendum: _cols("id encounter_id author_id at text"),
    Assessment: _cols(
        "id patient_id instrument items scores formula_version assessed_at side rater_kind "
        "rater_id encounter_id note status status_reason created_at"
    ),
    Recall: _cols(
        "id patient_id kind appointment_type_id preferred_provider_id anchor_date earliest_date "
        "due_date overdue_date status source label booked_appointment_id created_at updated_at"
    ),
    RecallContact: _cols("id recall_id method outcome at by_id"),
    Message: _cols(
        "id patient_id kind channel purpose due_at status appointment_id recall_id dedupe_key "
        "context to_address subject body attempts reason_code reason claimed_at sent_at "
        "provider_id created_at updated_at"
    ),
    TimeOff: _cols("provider_id room_id starts_at ends_at reason"),
}

# Children before their detail rows, details before their encounter (see the module docstring):
# the load order of VOLUME_MODELS.
COPY_ORDER = VOLUME_MODELS


def check_columns() -> None:
    """Every concrete column of each table is written (so nothing relies on a DB default)."""
    for model, columns in COLUMNS.items():
        expected = {f.column for f in model._meta.concrete_fields}
        if model is TimeOff:
            expected.discard("id")
        if set(columns) != expected:
            raise SeedError(
                f"{model._meta.db_table}: columns differ from the model: "
                f"missing {sorted(expected - set(columns))}, unknown {sorted(set(columns) - expected)}"
            )
