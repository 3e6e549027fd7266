"""Reminder delivery under faults, with real processes: a private redis-server as the broker (so
that it can be killed and restarted without disturbing anything else), real Celery workers,
PostgreSQL, and a local SMS provider over HTTP (tests/fake_sms.py) that logs every message it
takes and can be told to fail, to be slow, or to hold an answer back.

The dispatcher is published every half second, as beat does every minute. Claims go stale
after 4 s and retries start at a quarter second (settings given to the workers), so that
each scenario finishes in seconds. In every scenario every message must end sent, or failed
with a reason, and the provider must never have taken one message twice.
"""

import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu.exceptions import OperationalError

from bench.processes import worker_argv
from clinic.models import ClinicSettings
from scheduling.models import Message
from scheduling.tasks import messages_dispatch_task
from tests.factories import PatientFactory
from tests.fake_sms import FakeSmsProvider
from tests.scheduling.messaging_helpers import grant_all
from tests.smtp import free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
FINAL = ("sent", "failed", "skipped", "cancelled")

WORKER_SETTINGS = {
    "MESSAGE_BATCH_SIZE": "4",
    "MESSAGE_STALE_CLAIM_SECONDS": "4",
    "MESSAGE_RETRY_BASE_SECONDS": "0.25",
    "MESSAGE_MAX_ATTEMPTS": "4",
    # Longer than any answer a test holds back on purpose; the timeout test sets its own.
    "SMS_TIMEOUT": "30",
}


class RedisServer:
    """A redis-server of this test's own, without persistence: a restart loses what it held."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("These tests need the redis-server binary (Debian package redis-server).")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        assert wait_for(lambda: _pings(client), timeout=10), "redis-server did not start"

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


class Worker:
    """``celery worker`` in its own process group, so that all of it can be killed at once."""

    def __init__(self, env: dict, log: Path, concurrency: int) -> None:
        self.log = log
        self.process = subprocess.Popen(
            worker_argv(concurrency=concurrency),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole worker, as the kernel's OOM killer or a lost machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill_pool_child(self) -> int:
        """SIGKILL the pool process running the task; the worker itself stays up."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(children) == 1, children
        os.kill(int(children[0]), signal.SIGKILL)
        return int(children[0])

    def stop(self) -> None:
        # Nothing is left to finish when a test is over: a cold stop keeps the suite quick.
        if self.process.poll() is None:
            self.kill()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


class Beat:
    """Publishes the dispatcher every ``every`` seconds, as Celery beat does every minute."""

    def __init__(self, url: str, every: float = 0.5) -> None:
        self.url = url
        self.every = every
        self.published = 0
        self.refused = 0  # the broker was down
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        from clinic.celery import app

        while not self.stopped.is_set():
            try:
                with app.connection_for_write(self.url) as conn:
                    messages_dispatch_task.apply_async(connection=conn, retry=False)
                self.published += 1
            except (OperationalError, OSError, redis.ConnectionError):
                self.refused += 1
            self.stopped.wait(self.every)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)


def wait_for(predicate, timeout: float, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


@pytest.fixture
def broker():
    server = RedisServer()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def provider():
    with FakeSmsProvider() as fake:
        yield fake


@pytest.fixture
def start_worker(broker, provider, tmp_path):
    db = connection.settings_dict
    base_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker.url,
        "SITE_URL": "http://testserver",
        "LOG_LEVEL": "WARNING",
        **provider.env,
        **WORKER_SETTINGS,
    }
    started: list[Worker] = []

    def start(concurrency: int = 2, **settings) -> Worker:
        env = {**base_env, **{k: str(v) for k, v in settings.items()}}
        worker = Worker(env, tmp_path / f"worker-{len(started)}.log", concurrency)
        started.append(worker)
        return worker

    yield start
    provider.release()
    for worker in started:
        worker.stop()


@pytest.fixture
def beat(broker):
    dispatcher = Beat(broker.url)
    yield dispatcher
    dispatcher.stop()


def seed(n: int) -> list[str]:
    """n patients with SMS consent, each with one campaign SMS due now; returns their numbers
    in the order the dispatcher claims them."""
    # Quiet hours would hold SMS overnight: these tests are about delivery.
    policy = ClinicSettings.load()
    policy.quiet_hours_end = policy.quiet_hours_start
    policy.save()
    now = timezone.now()
    numbers = []
    for i in range(n):
        number = f"+4477009{100 + i:05d}"
        patient = PatientFactory(mobile=number, email="")
        grant_all(patient, purposes=["recalls"], channels=("sms",))
        Message.objects.create(
            patient=patient,
            kind=Message.Kind.CAMPAIGN,
            channel=Message.Channel.SMS,
            purpose="recalls",
            due_at=now,
            dedupe_key=f"faults:{i}",
            context={"body": f"Fault test {i}."},
        )
        numbers.append(number)
    return numbers


def outcomes() -> dict[str, tuple[str, str, int]]:
    """number -> (status, reason code, attempts)."""
    return {
        m.patient.mobile.as_e164: (m.status, m.reason_code, m.attempts)
        for m in Message.objects.select_related("patient")
    }


def settled() -> bool:
    return not Message.objects.exclude(status__in=FINAL).exists()


def assert_settles(*workers: Worker, timeout: float = 60) -> None:
    assert wait_for(settled, timeout=timeout, every=0.2), f"not settled: {outcomes()}\n" + "\n".join(
        w.tail() for w in workers
    )


def assert_taken_once(provider: FakeSmsProvider, numbers: list[str]) -> None:
    taken = Counter(provider.delivered_to())
    assert {n: c for n, c in taken.items() if c > 1} == {}, "the provider took a message twice"
    assert set(taken) <= set(numbers)


@pytest.mark.parametrize("killed", ["whole_worker", "pool_process"])
def test_a_worker_killed_mid_batch_leaves_no_message_unaccounted_and_none_sent_twice(
    killed, broker, provider, start_worker, beat
):
    numbers = seed(12)
    # The second message of the first batch reaches the provider, whose answer never gets back.
    in_flight = numbers[1]
    arrived = provider.hold(in_flight)
    worker = start_worker(concurrency=1)
    beat.start()
    assert arrived.wait(timeout=60), worker.tail()

    if killed == "whole_worker":
        worker.kill()
        # Its batch stays unacknowledged on the broker (redelivered only after Redis's
        # visibility timeout, an hour): the stale-claim recovery must finish the job.
        worker = start_worker(concurrency=1)
    else:
        worker.kill_pool_child()
        # The worker sees its pool process lost and puts the batch back at the end of the queue
        # (acks_late + reject_on_worker_lost): the redelivered batch must not resend anything.
    provider.release()

    assert_settles(worker)
    final = outcomes()
    assert final[in_flight][:2] == ("failed", "interrupted")
    # The killed process had claimed one window (MESSAGE_SEND_CONCURRENCY rows at most), some of
    # it perhaps handed to the provider: those rows end "interrupted" and are never resent; every
    # other message is sent, exactly once.
    interrupted = {n for n, (status, _, _) in final.items() if status != "sent"}
    assert {final[n][:2] for n in interrupted} == {("failed", "interrupted")}
    assert len(interrupted) <= settings.MESSAGE_SEND_CONCURRENCY
    assert_taken_once(provider, numbers)
    assert set(numbers) - interrupted <= set(provider.delivered_to())


def test_a_broker_restart_mid_run_loses_queued_batches_but_every_message_is_sent_once(
    broker, provider, start_worker, beat
):
    numbers = seed(16)
    # Hold the third message of the first batch while the broker dies under the worker.
    arrived = provider.hold(numbers[2])
    worker = start_worker(concurrency=1)
    beat.start()
    assert arrived.wait(timeout=60), worker.tail()

    broker.kill()  # no persistence: the three batches waiting in the queue are gone
    refused_before = beat.refused
    assert wait_for(lambda: beat.refused > refused_before, timeout=10)
    broker.start()
    provider.release()

    assert_settles(worker)
    assert worker.process.poll() is None, "the worker should have reconnected, not died"
    assert {n: s for n, (s, _, _) in outcomes().items()} == dict.fromkeys(numbers, "sent")
    assert_taken_once(provider, numbers)
    assert sorted(provider.delivered_to()) == sorted(numbers)


def test_a_provider_outage_is_retried_and_each_message_sent_once_or_failed_with_reason(
    broker, provider, start_worker, beat
):
    numbers = seed(8)
    recovering, never = numbers[:5], numbers[5:]
    provider.down_for = set(numbers)
    worker = start_worker(concurrency=2)
    beat.start()

    # Every message fails twice (503, retried with backoff) before the provider comes back for
    # most numbers; three stay down until their last attempt (MESSAGE_MAX_ATTEMPTS = 4).
    def failed_twice():
        return all(
            status == "scheduled" and attempts >= 2
            for number, (status, _, attempts) in outcomes().items()
            if number in recovering
        )

    assert wait_for(failed_twice, timeout=30), outcomes()
    with provider.lock:
        provider.down_for = set(never)

    assert_settles(worker)
    final = outcomes()
    for number in recovering:
        status, code, attempts = final[number]
        assert (status, code) == ("sent", "")
        assert attempts >= 3
    for number in never:
        assert final[number] == ("failed", "provider_unavailable", 4)
        message = Message.objects.get(patient__mobile=number)
        assert message.reason == "Gave up after 4 attempts: Twilio HTTP 503"
    requests = Counter(provider.requests_to())
    assert all(requests[number] == 4 for number in never), requests
    assert sorted(provider.delivered_to()) == sorted(recovering)

    # Failed is final: the provider's recovery brings no late resend.
    with provider.lock:
        provider.down_for = set()
    published = beat.published
    assert wait_for(lambda: beat.published >= published + 4, timeout=10)
    time.sleep(1)
    assert Counter(provider.requests_to()) == requests


def test_a_provider_slower_than_the_timeout_is_not_sent_twice(broker, provider, start_worker, beat):
    numbers = seed(4)
    slow = numbers[1]
    # The provider takes the message, then answers after the sender stopped waiting.
    provider.delay_for = {slow: 3.0}
    worker = start_worker(concurrency=1, SMS_TIMEOUT=1)
    beat.start()

    assert_settles(worker)
    final = outcomes()
    assert final[slow][:2] == ("failed", "delivery_unknown")
    assert {n: s for n, (s, _, _) in final.items() if n != slow} == dict.fromkeys(
        set(numbers) - {slow}, "sent"
    )
    assert_taken_once(provider, numbers)
    assert sorted(provider.delivered_to()) == sorted(numbers)
