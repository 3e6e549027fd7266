"""The whole reminder pipeline with real parts: a Celery worker process on Redis, a real SMTP
listener, PostgreSQL. A toxin session recorded 12 weeks ago (its due date) leads to exactly one recall email,
whose link lets the patient book a slot that the front desk then sees in the schedule."""

import contextlib
import os
import re
import subprocess
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from bench.processes import worker_argv
from scheduling.models import Appointment, Message, Recall, WorkingHours
from scheduling.tasks import messages_dispatch_task
from tests.factories import (
    AppointmentTypeFactory,
    LocationFactory,
    PatientFactory,
    ProviderFactory,
    RoomFactory,
    UserFactory,
)
from tests.scheduling.messaging_helpers import grant_all
from tests.smtp import SmtpSink, free_port
from tests.treatments.factories import record_toxin

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/14")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _purge(url: str) -> None:
    from clinic.celery import app

    with app.connection_for_write(url) as conn:
        conn.ensure_connection(max_retries=1, timeout=5)
        with conn.channel() as channel, contextlib.suppress(Exception):
            # No queue yet: nothing to purge.
            channel.queue_purge("celery")


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request):
    """Production runs Celery on Redis or RabbitMQ: the pipeline is proven on both."""
    url = REDIS_URL if request.param == "redis" else RABBITMQ_URL
    if request.param == "redis":
        client = redis.Redis.from_url(url)
        try:
            client.ping()
        except redis.ConnectionError:
            pytest.fail(f"Redis is needed for this test at {url}")
        client.flushdb()
    else:
        try:
            _purge(url)
        except OSError as exc:
            pytest.fail(f"RabbitMQ is needed for this test at {url}: {exc}")
    yield url
    if request.param == "redis":
        redis.Redis.from_url(url).flushdb()
    else:
        _purge(url)


def _dispatch(url: str) -> None:
    """Publish one dispatcher run to the test broker, as beat does every minute."""
    from clinic.celery import app

    with app.connection_for_write(url) as conn:
        messages_dispatch_task.apply_async(connection=conn)


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture
def worker(broker, smtp):
    _, smtp_port = smtp
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SITE_URL": "http://testserver",
        "SMS_BACKEND": "test",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        worker_argv(concurrency=2),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_for(predicate, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def _clinic():
    location = LocationFactory(name="Main clinic")
    RoomFactory(location=location, name="Procedure 1", kind="procedure")
    injector = ProviderFactory(user=UserFactory(username="nurse", roles=["injector"]), role="injector")
    for weekday in range(7):
        WorkingHours.objects.create(
            provider=injector,
            location=location,
            weekday=weekday,
            start_time=clock_time(8),
            end_time=clock_time(18),
        )
    AppointmentTypeFactory(
        code="toxin",
        name="Botulinum toxin session",
        duration_minutes=30,
        provider_roles=["injector", "surgeon"],
        room_kind="procedure",
        is_toxin=True,
    )
    return injector


def test_toxin_session_12_weeks_ago_sends_one_recall_email_and_the_patient_books(
    broker, worker, smtp, client, front_desk
):
    sink, _ = smtp
    injector = _clinic()
    patient = PatientFactory(email="rhea@example.org", mobile="")
    grant_all(patient, channels=("email",))
    session = record_toxin(patient, injector.user, occurred_at=timezone.now() - timedelta(weeks=12, days=1))
    recall = Recall.objects.get(source=f"toxin_session:{session.pk}")

    _dispatch(broker)
    assert _wait_for(lambda: len(sink.messages) >= 1), worker.stderr.read1().decode() if worker.poll() else ""
    # A second dispatch (beat's next minute, or a second worker) sends nothing more.
    _dispatch(broker)
    time.sleep(3)
    assert len(sink.messages) == 1
    envelope = sink.messages[0]
    assert envelope.rcpt_tos == ["rhea@example.org"]
    email = envelope.content.decode()
    assert "Time to book your next appointment" in email
    assert Message.objects.get(recall=recall, kind="recall_due").status == "sent"

    # The link in the body (the List-Unsubscribe header above it carries the one-click link).
    body = email.replace("=\r\n", "").split("\r\n\r\n", 1)[1]
    book_path = re.search(r"http://testserver(/p/[^\s]+/)", body).group(1)
    page = client.get(book_path)
    assert page.status_code == 200
    first_day, slots = page.context["days"][0]
    assert first_day >= recall.earliest_date
    booked = client.post(book_path, {"slot": slots[0]["value"]})
    assert b"You are booked" in booked.content

    appointment = Appointment.objects.get(patient=patient)
    recall.refresh_from_db()
    assert recall.status == "booked"
    day = timezone.localtime(appointment.starts_at).date().isoformat()
    schedule = front_desk.get(f"/api/v1/appointments/?date_from={day}&date_to={day}")
    assert appointment.pk in [a["id"] for a in schedule.json()["results"]]
    # Booking the recall stops its second reminder.
    second = Message.objects.get(recall=recall, kind="recall_second")
    assert second.status == "scheduled" and recall.status == "booked"
