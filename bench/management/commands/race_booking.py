"""Race N bookings for one slot through a real gunicorn and PostgreSQL, and count what came out.

    createdb clinic_race
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_race python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_race python manage.py race_booking --attempts 200
    DATABASE_URL=... python manage.py race_booking --attempts 200 --without-constraint --rounds 5

It seeds one provider, one room, one appointment type and N patients, starts gunicorn on a free
local port with production settings (DEBUG off, several workers with threads), and from this
process fires N ``POST /api/v1/appointments/`` for the same provider and start, from N threads
released together by a barrier. It tallies the status codes, counts in the database how many
active appointments hold the slot, and prints a JSON summary (``--report`` writes it to a file).

Distinct patients on purpose: the provider's exclusion constraint is the one under test (one
room is used, so the room's constraint would stop the same race too; the patient's would not).

Modes:

- default: advisory locks and exclusion constraints, as in production. Expected: exactly one
  201, every other answer 409, no 5xx, one appointment for the slot, in every round.
- ``--without-locks``: the exclusion constraints alone settle the race (the service's checks
  race freely). Expected: the same.
- ``--without-constraint``: the constraints are dropped and the locks switched off
  (``SCHEDULING_BOOKING_LOCKS=0`` in gunicorn's environment): the service's check-then-insert
  is all that is left, and it must let duplicates through. Rounds repeat on fresh slots until a
  round shows more than one appointment for its slot (at most ``--rounds``). Afterwards the
  race's duplicates are cancelled and the constraints put back.

It refuses to drop the constraints on a database that holds appointments other than its own:
use a throwaway database. The command exits non-zero when the expectation of its mode fails.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from clinic.roles import Role, sync_roles
from clinic.tokens.services import api_token_issue
from patients.models import Patient
from scheduling import clock
from scheduling.constraints import PostgresExclusionConstraint
from scheduling.models import Appointment, AppointmentType, Location, Provider, Room, WorkingHours

# The no-overlap exclusion constraints the "without constraint" run drops and puts back.
NO_OVERLAP = [c for c in Appointment._meta.constraints if isinstance(c, PostgresExclusionConstraint)]

DESK = "race-desk"
SURGEON = "race-surgeon"
TYPE_CODE = "race_consult"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    """The database this command is connected to, as a URL for gunicorn's environment."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Command(BaseCommand):
    help = "Race N concurrent bookings of one slot through gunicorn; report what the clinic let through."

    def add_arguments(self, parser):
        parser.add_argument("--attempts", type=int, default=200, help="concurrent booking requests")
        parser.add_argument(
            "--rounds",
            type=int,
            default=1,
            help="rounds on fresh slots: all must pass (--without-constraint: stop at the first duplicate)",
        )
        parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
        parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--without-constraint",
            action="store_true",
            help="drop the exclusion constraints and switch off the advisory locks (shows the race)",
        )
        mode.add_argument(
            "--without-locks",
            action="store_true",
            help="keep the constraints, switch off the advisory locks (the constraints alone decide)",
        )
        parser.add_argument("--report", default="", help="also write the JSON summary to this file")

    def handle(
        self, *args, attempts, rounds, workers, threads, without_constraint, without_locks, report, **_
    ):
        if connection.vendor != "postgresql":
            raise CommandError("The race needs PostgreSQL (the exclusion constraints live there).")
        if attempts < 2 or rounds < 1:
            raise CommandError("Give --attempts 2 or more and --rounds 1 or more.")
        mode = "without_constraint" if without_constraint else "without_locks" if without_locks else "guarded"
        self._refuse_foreign_appointments(mode)
        started = time.monotonic()
        seed = self._seed(attempts)
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on loopback: there is no TLS proxy in front to redirect to.
            "SECURE_SSL_REDIRECT": "0",
            "SCHEDULING_BOOKING_LOCKS": "1" if mode == "guarded" else "0",
            # The race is about bookings: no broker is needed for the confirmation nudge.
            "MESSAGES_DISPATCH_ON_CHANGE": "0",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_ACCESSLOG": os.devnull,
        }
        dropped = False
        server = log = None
        results = []
        try:
            if mode == "without_constraint":
                with connection.schema_editor() as editor:
                    for constraint in NO_OVERLAP:
                        editor.remove_constraint(Appointment, constraint)
                dropped = True
            log = tempfile.NamedTemporaryFile(prefix="race-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
            server = self._start_gunicorn(env, port, workers, threads, log)
            base = f"http://127.0.0.1:{port}"
            self._wait_ready(base, seed["token"], server, log.name)
            setup_seconds = round(time.monotonic() - started, 1)
            for index in range(rounds):
                result = self._round(base, seed)
                results.append(result)
                self.stderr.write(
                    f"round {index + 1}: {json.dumps(result['statuses'])} -> {result['appointments']}"
                )
                if mode == "without_constraint" and result["appointments"] > 1:
                    break
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
            if log is not None:
                log.close()
            if dropped:
                self._restore_constraints(seed)
        summary = self._summary(mode, attempts, workers, threads, results)
        summary["setup_seconds"] = setup_seconds
        text = json.dumps(summary, indent=2)
        self.stdout.write(text)
        if report:
            Path(report).write_text(text + "\n")
        if not summary["expectation_met"]:
            raise CommandError(f"{mode}: {summary['expectation']} - not met (gunicorn's log: {log.name})")
        Path(log.name).unlink(missing_ok=True)

    # --- the database state ---------------------------------------------------------------------

    def _refuse_foreign_appointments(self, mode: str) -> None:
        foreign = Appointment.objects.exclude(booked_by__username=DESK).exists()
        if foreign and mode == "without_constraint":
            raise CommandError(
                "This database holds appointments that the race did not make: dropping the exclusion "
                "constraints here would be unsafe. Use a throwaway database (see --help)."
            )

    @transaction.atomic
    def _seed(self, attempts: int) -> dict:
        sync_roles()
        User = get_user_model()
        desk, _ = User.objects.get_or_create(
            username=DESK, defaults={"first_name": "Race", "last_name": "Desk"}
        )
        desk.groups.add(Group.objects.get(name=Role.FRONT_DESK))
        _, token = api_token_issue(user=desk, label="race_booking")
        surgeon_user, _ = User.objects.get_or_create(
            username=SURGEON, defaults={"first_name": "Race", "last_name": "Surgeon"}
        )
        surgeon_user.groups.add(Group.objects.get(name=Role.SURGEON))
        provider, _ = Provider.objects.get_or_create(user=surgeon_user, defaults={"role": "surgeon"})
        location, _ = Location.objects.get_or_create(name="Race clinic")
        room, _ = Room.objects.get_or_create(
            location=location, name="Race room", defaults={"kind": "consultation"}
        )
        for weekday in range(7):
            WorkingHours.objects.get_or_create(
                provider=provider,
                location=location,
                weekday=weekday,
                defaults={"start_time": clock_time(8), "end_time": clock_time(18)},
            )
        AppointmentType.objects.get_or_create(
            code=TYPE_CODE,
            defaults={
                "name": "Race consultation",
                "duration_minutes": 30,
                "provider_roles": ["surgeon"],
                "room_kind": "consultation",
            },
        )
        existing = set(Patient.objects.filter(mrn__startswith="RACE").values_list("mrn", flat=True))
        Patient.objects.bulk_create(
            Patient(
                mrn=f"RACE{i:06d}",
                first_name="Race",
                last_name=f"Patient {i}",
                date_of_birth="1970-01-01",
                email="",
            )
            for i in range(attempts)
            if f"RACE{i:06d}" not in existing
        )
        patients = list(
            Patient.objects.filter(mrn__startswith="RACE").order_by("mrn").values_list("id", flat=True)
        )
        return {"token": token, "provider": provider.pk, "room": room.pk, "patients": patients[:attempts]}

    def _slot(self) -> datetime:
        """A free 10:00 slot a week or more ahead, on a day that no earlier round used."""
        day = clock.local_today() + timedelta(days=7)
        while True:
            starts_at = clock.at(day, clock_time(10))
            if not Appointment.objects.filter(starts_at=starts_at, provider__user__username=SURGEON).exists():
                return starts_at
            day += timedelta(days=1)

    def _restore_constraints(self, seed: dict) -> None:
        # The race's duplicates would stop the constraints from coming back: cancel every race
        # appointment but the first of each slot, then add the constraints again.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE scheduling_appointment SET status = 'cancelled'
                WHERE provider_id = %s AND id NOT IN (
                    SELECT min(id) FROM scheduling_appointment WHERE provider_id = %s GROUP BY starts_at
                )
                """,
                [seed["provider"], seed["provider"]],
            )
        with connection.schema_editor() as editor:
            for constraint in NO_OVERLAP:
                editor.add_constraint(Appointment, constraint)

    # --- the server -----------------------------------------------------------------------------

    def _start_gunicorn(self, env: dict, port: int, workers: int, threads: int, log) -> subprocess.Popen:
        return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "clinic.wsgi",
                "-c",
                str(settings.BASE_DIR / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _wait_ready(self, base: str, token: str, server: subprocess.Popen, log_path: str) -> None:
        """Every worker must be up before the race, or the first requests queue behind imports."""
        deadline = time.monotonic() + 90
        url = f"{base}/api/v1/appointments/?page_size=1"
        headers = {"Authorization": f"Token {token}"}
        answered = 0
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn exited:\n{Path(log_path).read_text()[-3000:]}")
            try:
                if requests.get(url, headers=headers, timeout=5).status_code == 200:
                    answered += 1
                    if answered >= 8:
                        return
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.2)
        server.kill()
        raise CommandError(f"gunicorn did not answer:\n{Path(log_path).read_text()[-3000:]}")

    # --- one round ------------------------------------------------------------------------------

    def _round(self, base: str, seed: dict) -> dict:
        starts_at = self._slot()
        patients = seed["patients"]
        barrier = threading.Barrier(len(patients))
        answers: list = [None] * len(patients)
        headers = {"Authorization": f"Token {seed['token']}", "Accept": "application/json"}

        def attempt(i: int, patient_id: int) -> None:
            body = {
                "patient": patient_id,
                "appointment_type": TYPE_CODE,
                "provider": seed["provider"],
                "room": seed["room"],
                "start": starts_at.isoformat(),
            }
            with requests.Session() as session:
                try:
                    barrier.wait(timeout=60)
                    response = session.post(
                        f"{base}/api/v1/appointments/", json=body, headers=headers, timeout=120
                    )
                    why = ""
                    if response.status_code != 201:
                        why = response.text[:200]
                        if response.headers.get("Content-Type", "").startswith("application/json"):
                            payload = response.json()
                            why = f"{payload.get('code')}: {payload.get('detail')}"
                    answers[i] = (response.status_code, why)
                except (requests.RequestException, threading.BrokenBarrierError) as exc:
                    answers[i] = ("error", type(exc).__name__)

        workers = [threading.Thread(target=attempt, args=(i, p)) for i, p in enumerate(patients)]
        begin = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=180)
        elapsed = time.monotonic() - begin
        statuses = Counter(str(status) for status, _ in answers if status is not None)
        # Which check turned each loser away: the service's own ("... is already booked"), the
        # exclusion constraint ("... booked by someone else a moment ago"), or a deadlock retry.
        reasons = Counter(f"{status} {why}" for status, why in answers if status not in (None, 201))
        held = (
            Appointment.objects.active()
            .filter(provider_id=seed["provider"], starts_at__lt=starts_at + timedelta(minutes=30))
            .filter(blocked_until__gt=starts_at)
        )
        return {
            "slot": starts_at.isoformat(),
            "seconds": round(elapsed, 2),
            "statuses": dict(sorted(statuses.items())),
            "refusals": dict(sorted(reasons.items())),
            "server_errors": sum(n for s, n in statuses.items() if s.startswith("5")),
            "no_answer": len(patients) - sum(statuses.values()) + statuses.get("error", 0),
            "appointments": held.count(),
        }

    # --- the verdict ----------------------------------------------------------------------------

    def _summary(self, mode: str, attempts: int, workers: int, threads: int, results: list) -> dict:
        if mode == "without_constraint":
            expectation = "some round lets more than one booking hold the slot"
            met = any(r["appointments"] > 1 for r in results)
        else:
            expectation = "every round: one 201, all others 409, no 5xx, one appointment for the slot"
            met = bool(results) and all(
                r["statuses"] == {"201": 1, "409": attempts - 1} and r["appointments"] == 1 for r in results
            )
        return {
            "mode": mode,
            "attempts": attempts,
            "gunicorn": {"workers": workers, "threads": threads},
            "database": connection.settings_dict["NAME"],
            "rounds_run": len(results),
            "rounds": results,
            "max_appointments_for_one_slot": max((r["appointments"] for r in results), default=0),
            "server_errors": sum(r["server_errors"] for r in results),
            "expectation": expectation,
            "expectation_met": met,
        }
