"""Measure availability search and booking on a realistic busy calendar.

Seeds providers, rooms and months of appointments inside one transaction, measures, and rolls
everything back, so it can run against any database without leaving data behind.

    python manage.py benchmark_scheduling --providers 8 --months 6 --runs 50
"""

import itertools
import random
import statistics
import time as clock_time
from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from clinic.roles import Role, sync_roles
from patients.models import Patient
from scheduling import clock
from scheduling.availability import availability_for
from scheduling.models import Appointment, AppointmentType, Location, Provider, Room, WorkingHours
from scheduling.services import appointment_book


class Rollback(Exception):
    pass


def _pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


class Command(BaseCommand):
    help = "Benchmark availability and booking on a seeded busy calendar (rolled back afterwards)."

    def add_arguments(self, parser):
        parser.add_argument("--providers", type=int, default=8)
        parser.add_argument("--months", type=int, default=6, help="months of history before today")
        parser.add_argument("--runs", type=int, default=50)
        parser.add_argument("--profile", action="store_true", help="print where a search spends its time")

    def handle(self, *args, providers, months, runs, profile, **options):
        self.profile = profile
        try:
            with transaction.atomic():
                self._run(providers, months, runs)
                raise Rollback
        except Rollback:
            self.stdout.write("(all benchmark data rolled back)")

    def _run(self, n_providers: int, months: int, runs: int) -> None:
        rng = random.Random(7)
        sync_roles()
        started = clock_time.perf_counter()
        toxin, count = self._seed(rng, n_providers, months, fresh=2 * runs)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE scheduling_appointment") if connection.vendor == "postgresql" else None
        self.stdout.write(
            f"seeded {count} appointments, {n_providers} providers, {months} months of history "
            f"and 3 ahead in {clock_time.perf_counter() - started:.1f} s ({connection.vendor})"
        )
        today = clock.local_today()
        first, last = today + timedelta(days=1), today + timedelta(days=14)
        # The first benchmark patients have no appointments: they are the ones booked.
        patients = list(Patient.objects.filter(first_name="Bench").order_by("mrn")[: 2 * runs])
        user = get_user_model().objects.get(username="bench_desk")
        api = APIClient()
        api.force_authenticate(user)

        def search(patient=None):
            return availability_for(appointment_type=toxin, date_from=first, date_to=last, patient=patient)

        search()  # warm caches (settings row, content types)
        if self.profile:
            import cProfile
            import io
            import pstats

            params = {
                "appointment_type": "toxin",
                "date_from": first.isoformat(),
                "date_to": last.isoformat(),
            }
            for call in (search, lambda: api.get("/api/v1/availability/", params)):
                profiler = cProfile.Profile()
                profiler.runcall(call)
                report = io.StringIO()
                pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(15)
                self.stdout.write(report.getvalue())
        rows = [("two-week toxin availability, all providers", *self._time(runs, search))]
        rows.append(
            (
                "  the same with a patient (toxin interval)",
                *self._time(runs, lambda: search(rng.choice(patients))),
            )
        )
        params = {"appointment_type": "toxin", "date_from": first.isoformat(), "date_to": last.isoformat()}
        rows.append(
            (
                "  the same through GET /api/v1/availability/ (first page)",
                *self._time(runs, lambda: api.get("/api/v1/availability/", params)),
            )
        )
        rows.append(
            (
                "  the same, every slot on one page (limit=5000)",
                *self._time(runs, lambda: api.get("/api/v1/availability/", {**params, "limit": 5000})),
            )
        )

        slots = availability_for(appointment_type=toxin, date_from=first, date_to=first + timedelta(days=30))
        rng.shuffle(slots)
        # Slots that share neither provider nor room with another chosen one within the hour,
        # booked in their own room: booking one never takes what another needs.
        chosen, taken = [], set()
        for slot in slots:
            near = [slot.start + timedelta(minutes=m) for m in range(-45, 60, 15)]
            keys = {("p", slot.provider.pk, t) for t in near} | {("r", slot.room.pk, t) for t in near}
            if not keys & taken and len(chosen) < runs * 2:
                chosen.append(slot)
                taken |= keys
        book_slots = iter(chosen)
        free_patients = iter(patients)

        def book():
            slot = next(book_slots)
            appointment_book(
                patient=next(free_patients),
                appointment_type=toxin,
                provider=slot.provider,
                room=slot.room,
                starts_at=slot.start,
                actor=user,
            )

        rows.append(("appointment_book (service)", *self._time(runs, book)))

        def book_api():
            slot = next(book_slots)
            response = api.post(
                "/api/v1/appointments/",
                {
                    "patient": next(free_patients).pk,
                    "appointment_type": "toxin",
                    "provider": slot.provider.pk,
                    "room": slot.room.pk,
                    "start": slot.start.isoformat(),
                },
                format="json",
            )
            if response.status_code != 201:
                raise CommandError(f"booking through the API failed: {response.content!r}")

        rows.append(("  the same through POST /api/v1/appointments/", *self._time(runs, book_api)))
        width = max(len(r[0]) for r in rows)
        self.stdout.write(f"{'':{width}}  {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
        for name, p50, p95, queries in rows:
            self.stdout.write(f"{name:{width}}  {p50:8.1f} {p95:8.1f} {queries:8d}")

    def _time(self, runs: int, call) -> tuple[float, float, int]:
        samples = []
        queries = 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as ctx:
                begin = clock_time.perf_counter()
                call()
                samples.append(clock_time.perf_counter() - begin)
            # The last run's: the first also fills per-process caches (the user's permissions).
            queries = len(ctx.captured_queries)
        return (*_pcts(samples), queries)

    def _seed(self, rng, n_providers: int, months: int, fresh: int):
        User = get_user_model()
        location = Location.objects.create(name="Benchmark clinic")
        kinds = [("consultation", 4), ("procedure", 4), ("therapy", 3), ("theatre", 1)]
        rooms = {
            kind: Room.objects.bulk_create(
                Room(location=location, name=f"Bench {kind} {i}", kind=kind) for i in range(count)
            )
            for kind, count in kinds
        }
        types = {
            "toxin": AppointmentType.objects.create(
                code="bench_toxin_x",
                name="Bench toxin",
                duration_minutes=30,
                buffer_after_minutes=10,
                provider_roles=["surgeon", "injector"],
                room_kind="procedure",
                is_toxin=True,
            ),
            "consult": AppointmentType.objects.create(
                code="bench_consult",
                name="Bench consultation",
                duration_minutes=60,
                provider_roles=["surgeon"],
                room_kind="consultation",
            ),
            "therapy": AppointmentType.objects.create(
                code="bench_therapy",
                name="Bench therapy",
                duration_minutes=45,
                provider_roles=["therapist"],
                room_kind="therapy",
            ),
        }
        # Searches name the type by code; the benchmark's toxin type answers to "toxin" only if
        # the database has none, so the API rows use whichever "toxin" exists.
        toxin = AppointmentType.objects.filter(code="toxin").first()
        if toxin is None:
            types["toxin"].code = "toxin"
            types["toxin"].save(update_fields=["code"])
        toxin = types["toxin"] if toxin is None else toxin
        desk = User.objects.create(username="bench_desk")
        from django.contrib.auth.models import Group

        desk.groups.set(Group.objects.filter(name=Role.FRONT_DESK))
        roles = (["surgeon", "injector", "injector", "therapist"] * n_providers)[:n_providers]
        users = User.objects.bulk_create(User(username=f"bench_provider_{i}") for i in range(n_providers))
        providers = Provider.objects.bulk_create(
            Provider(user=u, role=r) for u, r in zip(users, roles, strict=True)
        )
        WorkingHours.objects.bulk_create(
            WorkingHours(provider=p, location=location, weekday=d, start_time=time(8), end_time=time(18))
            for p in providers
            for d in range(5)
        )
        patients = Patient.objects.bulk_create(
            Patient(
                mrn=f"BENCH{i:07d}", first_name="Bench", last_name=f"Patient{i}", date_of_birth="1970-01-01"
            )
            for i in range(3000 + fresh)
        )
        # Patients in turn: one comes back only after thousands of others, so never twice at once.
        patient_cycle = itertools.cycle(patients[fresh:])
        today = clock.local_today()
        rows = []
        room_free: dict[int, object] = {}
        day = today - timedelta(days=30 * months)
        while day <= today + timedelta(days=90):
            if day.weekday() < 5:
                for provider in providers:
                    kind = {"surgeon": "consult", "injector": "toxin", "therapist": "therapy"}[provider.role]
                    appointment_type = types[kind]
                    pool = rooms[appointment_type.room_kind]
                    cursor = clock.at(day, time(8))
                    end_of_day = clock.at(day, time(18))
                    while cursor < end_of_day:
                        length = timedelta(minutes=appointment_type.duration_minutes)
                        block = length + timedelta(minutes=appointment_type.buffer_after_minutes)
                        if cursor + length > end_of_day:
                            break
                        room = next((r for r in pool if room_free.get(r.pk, cursor) <= cursor), None)
                        # About a third of the diary stays free, so there is something to find.
                        if room is not None and rng.random() < 0.68:
                            rows.append(
                                Appointment(
                                    patient=next(patient_cycle),
                                    appointment_type=appointment_type,
                                    provider=provider,
                                    room=room,
                                    starts_at=cursor,
                                    ends_at=cursor + length,
                                    blocked_until=cursor + block,
                                    status="completed" if day < today else "booked",
                                )
                            )
                            room_free[room.pk] = cursor + block
                        cursor = clock.ceil_to_grid(cursor + block)
            day += timedelta(days=1)
        Appointment.objects.bulk_create(rows, batch_size=2000)
        return toxin, len(rows)
