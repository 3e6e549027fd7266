"""The quick start stays up: its real processes under a scripted staff and patient workload.

``bin/run``'s processes, started as bin/run starts them (supervisord with bin/supervisord.conf,
DEBUG on, SQLite for the data, kombu's SQLAlchemy transport on another SQLite file for the
broker, the outbox for messages), in a temporary directory on a free port. For SOAK_SECONDS
(90 by default) a front desk session browses (day view, search, charts, worklist, outbox), books
and cancels through the API, and patients open the links of the messages they were sent. The
Celery worker is killed once (SIGKILL, pool and all) a third of the way in.

Fails on any 5xx, on any death of the web server or of beat, if the worker is not started again,
if bookings made after the kill get no confirmation (the new worker consumes), or if the stop
(SIGINT, as Ctrl+C) logs an ERROR or has to SIGKILL anything. Prints its figures.
"""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.smtp import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-clinic-2026"
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "90"))

# The demo's staff, patients and diary; the clinical histories (a minute on SQLite) are left out.
SEED = """
import sys
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from devtools.management.commands.seed_demo import DEMO_STAFF
from clinic.roles import sync_roles
from devtools.demo import patients as patients_demo
from devtools.demo import scheduling as scheduling_demo
with transaction.atomic():
    sync_roles()
    staff = {}
    for username, title, first, last, roles in DEMO_STAFF:
        user = get_user_model().objects.create_user(
            username=username, password="demo-clinic-2026", first_name=first, last_name=last
        )
        user.groups.set(Group.objects.filter(name__in=roles))
        staff[username] = user
    patients_demo.seed(staff=staff, stdout=sys.stdout)
scheduling_demo.seed(staff=staff, stdout=sys.stdout)
"""


def _children(parent: int) -> dict[int, str]:
    """Processes whose parent is ``parent``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


def _program(parent: int, name: str) -> int | None:
    marks = {"web": "runserver", "worker": " worker ", "beat": " beat "}
    pids = [pid for pid, cmd in _children(parent).items() if marks[name] in cmd]
    return pids[0] if pids else None


class Workload:
    def __init__(self, base: str, outbox: Path):
        self.base, self.outbox = base, outbox
        self.requests = 0
        self.failures: list[str] = []
        self.staff = requests.Session()
        self.api = requests.Session()
        self.patient = requests.Session()
        self.opened_links: set[str] = set()

    def call(self, session, method, path, **kwargs):
        url = path if path.startswith("http") else self.base + path
        response = session.request(method, url, timeout=30, allow_redirects=False, **kwargs)
        self.requests += 1
        if response.status_code >= 500:
            self.failures.append(f"{method} {path}: {response.status_code}")
        return response

    def log_in(self):
        self.call(self.staff, "GET", "/login/")
        response = self.call(
            self.staff,
            "POST",
            "/login/",
            data={
                "username": "frontdesk",
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.staff.cookies["csrftoken"],
            },
            headers={"Referer": self.base + "/login/"},
        )
        assert response.status_code == 302, response.text[:500]
        token = self.call(
            self.api, "POST", "/api/v1/auth/token/", json={"username": "frontdesk", "password": PASSWORD}
        )
        assert token.status_code == 200, token.text
        self.api.headers["Authorization"] = f"Token {token.json()['token']}"
        patients = self.call(self.api, "GET", "/api/v1/patients/?page_size=60").json()["results"]
        self.patient_ids = [p["id"] for p in patients]

    def browse(self, step: int):
        patient_id = self.patient_ids[step % len(self.patient_ids)]
        for path in (
            "/schedule/",
            f"/patients/?q={['smith', 'obrien', 'patel', 'jon smyth'][step % 4]}",
            f"/patients/{patient_id}/",
            "/recalls/",
            "/dev/outbox/",
        ):
            response = self.call(self.staff, "GET", path)
            if response.status_code != 200:
                self.failures.append(f"GET {path}: {response.status_code}")

    def book(self, step: int) -> int | None:
        """Book the first free follow-up slot from tomorrow for a patient; every third booking is
        cancelled again. Returns the appointment's id."""
        today = time.strftime("%Y-%m-%d")
        start = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))
        end = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400 * 21))
        slots = self.call(
            self.api,
            "GET",
            f"/api/v1/availability/?appointment_type=follow_up&date_from={start}&date_to={end}&limit=20",
        )
        assert today and slots.status_code == 200, slots.text
        for offset, slot in enumerate(slots.json()):
            patient_id = self.patient_ids[(step * 7 + offset) % len(self.patient_ids)]
            response = self.call(
                self.api,
                "POST",
                "/api/v1/appointments/",
                json={
                    "patient": patient_id,
                    "appointment_type": "follow_up",
                    "provider": slot["provider"],
                    "start": slot["start"],
                },
            )
            if response.status_code == 201:
                appointment = response.json()["id"]
                if step % 3 == 2:
                    self.call(
                        self.api,
                        "POST",
                        f"/api/v1/appointments/{appointment}/cancel/",
                        json={"reason": "Soak test"},
                    )
                return appointment
            if response.status_code != 409:
                self.failures.append(f"booking: {response.status_code} {response.text[:200]}")
                return None
        return None

    def patients_open_links(self, limit: int = 4):
        """Patients open the links in what they were sent (each link once)."""
        opened = 0
        for path in sorted(self.outbox.glob("*.json"), reverse=True):
            body = json.loads(path.read_text())["body"]
            for link in re.findall(r"https?://\S+/p/[^\s/]+/", body):
                if link in self.opened_links:
                    continue
                self.opened_links.add(link)
                response = self.call(self.patient, "GET", link)
                if response.status_code not in (200, 302, 400, 404, 410):
                    self.failures.append(f"patient link: {response.status_code}")
                opened += 1
                if opened >= limit:
                    return


def _confirmations(database: Path, appointment_ids: list[int]) -> tuple[int, int]:
    """(confirmations planned, of which handled: sent, skipped for want of consent, or an SMS
    held by the worker until the clinic's quiet hours end: the soak runs at any hour)."""
    marks = ",".join("?" * len(appointment_ids))
    with sqlite3.connect(database) as db:
        rows = db.execute(
            f"SELECT status, reason_code FROM scheduling_message "  # noqa: S608
            f"WHERE kind = 'appointment_confirmation' AND appointment_id IN ({marks})",
            appointment_ids,
        ).fetchall()
    handled = sum(
        1
        for status, reason in rows
        if status in ("sent", "skipped") or (status, reason) == ("scheduled", "quiet_hours")
    )
    return len(rows), handled


def test_quick_start_survives_a_workload_and_a_killed_worker(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    outbox = tmp_path / "outbox"
    env = {
        # bin/run's environment, not the test suite's (pytest-env turns dispatch on change off).
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CELERY_", "EMAIL_", "SMS_", "MESSAGES_", "SESSION_"))
        },
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DEBUG": "1",
        "REQUIRE_MFA": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.sqlite3'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
        "OUTBOX_DIR": str(outbox),
        "QUICKSTART_VAR": str(tmp_path),
        "PORT": str(port),
        "SITE_URL": base,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": base,
        "LOG_FORMAT": "text",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SECRET_KEY", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    subprocess.run([*manage, "shell", "-c", SEED], cwd=ROOT, env=env, check=True, timeout=300)

    log = tmp_path / "supervisord.out"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(ROOT / "bin" / "supervisord.conf")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/login/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert supervisor.poll() is None, log.read_text()
            time.sleep(0.5)
        else:
            pytest.fail("the web server did not answer:\n" + log.read_text())
        for _ in range(40):
            pids = {name: _program(supervisor.pid, name) for name in ("web", "worker", "beat")}
            if all(pids.values()):
                break
            time.sleep(0.5)
        assert all(pids.values()), pids

        workload = Workload(base, outbox)
        workload.log_in()
        started = time.monotonic()
        killed_at = None  # wall-clock time of the kill
        restarts = 0
        booked_after_kill: list[int] = []
        step = 0
        while time.monotonic() - started < SOAK_SECONDS:
            elapsed = time.monotonic() - started
            if killed_at is None and elapsed > SOAK_SECONDS / 3:
                os.killpg(pids["worker"], signal.SIGKILL)
                killed_at = time.time()
            workload.browse(step)
            appointment = workload.book(step)
            if appointment is not None and killed_at is not None:
                booked_after_kill.append(appointment)
            workload.patients_open_links()
            for name in ("web", "beat"):
                assert _program(supervisor.pid, name) == pids[name], (
                    f"{name} died:\n{log.read_text()[-3000:]}"
                )
            worker = _program(supervisor.pid, "worker")
            if worker is not None and worker != pids["worker"]:
                restarts += 1
                pids["worker"] = worker
            step += 1
        duration = time.monotonic() - started

        # The restarted worker consumes: every confirmation of a booking made after the kill was
        # sent (or skipped for want of consent) within a minute and a half.
        planned = handled = 0
        wait_until = time.monotonic() + 90
        while booked_after_kill and time.monotonic() < wait_until:
            planned, handled = _confirmations(tmp_path / "clinic.sqlite3", booked_after_kill)
            if planned and handled == planned:
                break
            time.sleep(2)
        for name in ("web", "beat"):
            assert _program(supervisor.pid, name) == pids[name], f"{name} died"
    finally:
        stop_at = log.stat().st_size if log.exists() else 0
        supervisor.send_signal(signal.SIGINT)
        try:
            supervisor.wait(timeout=60)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            raise
    shutdown = log.read_bytes()[stop_at:].decode(errors="replace")

    figures = {
        "seconds": round(duration, 1),
        "requests": workload.requests,
        "bookings_after_worker_kill": len(booked_after_kill),
        "their_confirmations_planned_handled": [planned, handled],
        "worker_restarts": restarts,
        "patient_links_opened": len(workload.opened_links),
        "messages_in_outbox": len(list(outbox.glob("*.json"))),
    }
    print("quick start soak:", json.dumps(figures))
    assert workload.failures == [], workload.failures
    assert restarts == 1, figures
    assert booked_after_kill and planned >= len(booked_after_kill) and handled == planned, figures
    assert supervisor.returncode == 0
    assert "ERROR" not in shutdown and "SIGKILL" not in shutdown, shutdown
    assert "JSONDecodeError" not in log.read_text()
