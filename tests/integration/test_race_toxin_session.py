"""Identical toxin sessions for one patient posted at the same moment, through a real gunicorn
(DEBUG off, four workers with threads) and PostgreSQL: exactly one is recorded.

Before sessions took the patient's lock, four such requests were all accepted (each checked the
interval before any of the others had committed): four sessions, four recalls, four sets of
reminders. A toxin booking sent in the same burst waits for the same lock and is refused too.
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from bench.management.commands.race_booking import _database_url, _free_port
from clinic.models import ClinicSettings
from clinic.roles import sync_roles
from clinic.tokens.services import api_token_issue
from scheduling.models import Appointment, Recall
from tests.factories import AppointmentTypeFactory, PatientFactory, RoomFactory, UserFactory
from tests.scheduling.conftest import provider_for
from tests.treatments.factories import ToxinLotFactory
from treatments.models import Encounter

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SESSIONS = 8
BOOKINGS = 2


@pytest.fixture
def server():
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "MESSAGES_DISPATCH_ON_CHANGE": "0",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESSLOG": os.devnull,
        "REQUIRE_MFA": "0",
    }
    log = tempfile.NamedTemporaryFile(prefix="race-toxin-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
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
            "4",
            "--threads",
            "3",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}", process, log.name
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        Path(log.name).unlink(missing_ok=True)


def wait_ready(base, headers, process, log_path):
    deadline = time.monotonic() + 90
    answered = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{Path(log_path).read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/api/v1/encounters/?page_size=1", headers=headers, timeout=5).ok:
                answered += 1
                if answered >= 6:  # both workers have loaded the application
                    return
                continue
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail("gunicorn did not answer")


def test_simultaneous_toxin_sessions_for_one_patient_record_exactly_one(server):
    base, process, log_path = server
    sync_roles()
    # The settings row exists in any running clinic. Left to the first request to create, its
    # insert would make every other request wait on it and hide the race this test is about.
    ClinicSettings.load()
    injector = UserFactory(username="race-injector", roles=["injector"])
    provider = provider_for("injector", "race-injector", user=injector, weekdays=range(7), hours=((0, 23),))
    toxin = AppointmentTypeFactory(
        code="toxin",
        name="Toxin session",
        duration_minutes=30,
        provider_roles=["injector"],
        room_kind="procedure",
        is_toxin=True,
    )
    RoomFactory(kind="procedure")
    patient = PatientFactory()
    lot = ToxinLotFactory()
    # One clinician per request, as at a busy clinic: requests of one user may queue on that
    # user's own row, which would hide the race.
    tokens = [api_token_issue(user=injector)[1]] + [
        api_token_issue(user=UserFactory(username=f"race-injector-{i}", roles=["injector"]))[1]
        for i in range(1, SESSIONS + BOOKINGS)
    ]
    wait_ready(base, {"Authorization": f"Token {tokens[0]}"}, process, log_path)

    occurred_at = (timezone.now() - timedelta(hours=1)).isoformat()
    session_body = {
        "patient": patient.pk,
        "occurred_at": occurred_at,
        "product": lot.product,
        "lot": lot.pk,
        "dilution_ml": "2.5",
        "injections": [{"muscle": "mentalis", "side": "left", "units": "2.5", "points": 1}],
    }
    start = timezone.localtime() + timedelta(days=3)
    start = start.replace(hour=10, minute=0, second=0, microsecond=0)
    booking_body = {
        "patient": patient.pk,
        "appointment_type": toxin.code,
        "provider": provider.pk,
        "start": start.isoformat(),
    }
    requests_to_send = [("toxin-sessions", session_body)] * SESSIONS + [
        ("appointments", booking_body)
    ] * BOOKINGS
    barrier = threading.Barrier(len(requests_to_send))
    answers: list = [None] * len(requests_to_send)

    def send(i, path, body):
        headers = {"Authorization": f"Token {tokens[i]}", "Accept": "application/json"}
        with requests.Session() as http:
            barrier.wait(timeout=60)
            response = http.post(f"{base}/api/v1/{path}/", json=body, headers=headers, timeout=120)
            answers[i] = (path, response.status_code, response.json().get("code"))

    threads = [
        threading.Thread(target=send, args=(i, path, body)) for i, (path, body) in enumerate(requests_to_send)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    statuses = [a[1] for a in answers]
    assert all(a is not None for a in answers), answers
    assert 500 not in statuses, Path(log_path).read_text()[-3000:]
    # Exactly one toxin decision wins, whichever path it came by; every other is refused by
    # the interval rule with its one code.
    assert statuses.count(201) == 1, answers
    # Every losing session is refused by the interval rule with its one code. A losing booking
    # is refused by it too, or, when another booking of this very slot won, by the slot itself.
    assert {a[2] for a in answers if a[1] != 201 and a[0] == "toxin-sessions"} == {"reinjection_too_soon"}, (
        answers
    )
    booking_codes = {a[2] for a in answers if a[1] != 201 and a[0] == "appointments"}
    winner = next(a[0] for a in answers if a[1] == 201)
    allowed = (
        {"reinjection_too_soon", "slot_unavailable"} if winner == "appointments" else {"reinjection_too_soon"}
    )
    assert booking_codes <= allowed, answers
    sessions = Encounter.objects.filter(patient=patient, kind=Encounter.Kind.TOXIN).count()
    bookings = Appointment.objects.filter(patient=patient).count()
    assert sessions + bookings == 1
    assert Recall.objects.filter(patient=patient, kind=Recall.Kind.REINJECTION).count() == sessions
