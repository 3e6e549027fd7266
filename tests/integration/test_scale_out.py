"""Scaling out: web and worker processes keep no state of their own.

Real processes throughout: two Celery workers (two prefork processes each) on one Redis broker
and PostgreSQL, sending through the Twilio backend to the fake provider process, which logs
every SMS it is asked to send; and gunicorn with three worker processes serving one session.
"""

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from bench import fake_twilio
from bench.processes import worker_argv
from clinic.models import ClinicSettings
from patients.models import MessagingConsent, Patient
from scheduling.models import Message
from scheduling.reminders import services as reminders
from scheduling.tasks import messages_dispatch_task, messages_send_task
from tests.factories import PASSWORD, UserFactory
from tests.smtp import free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/14")
WORKERS = ("alpha", "beta")


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="module")
def provider():
    with fake_twilio.running() as running:
        yield running


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, provider, tmp_path_factory):
    """Two worker nodes on one broker, as on two machines: nothing shared but Redis and the
    database. Small dispatch and batch sizes, so that many dispatches and sends interleave.
    Yields their log files (each task a worker ran is logged there)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is needed for this test at {REDIS_URL}")
    client.flushdb()
    with django_db_blocker.unblock():
        database_url = _database_url()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "SMS_BACKEND": "twilio",
        "TWILIO_API_BASE": provider.base_url,
        "TWILIO_ACCOUNT_SID": "ACscale",
        "TWILIO_AUTH_TOKEN": "scale",
        "TWILIO_FROM_NUMBER": "+447700900000",
        "MESSAGE_DISPATCH_LIMIT": "250",
        "MESSAGE_BATCH_SIZE": "25",
        "MESSAGE_SEND_CONCURRENCY": "8",
        "LOG_LEVEL": "INFO",
    }
    logs = {name: tmp_path_factory.mktemp("workers") / f"{name}.log" for name in WORKERS}
    processes = []
    for name in WORKERS:
        with logs[name].open("w") as log:
            processes.append(
                subprocess.Popen(
                    worker_argv(concurrency=2, loglevel="INFO", hostname=f"{name}@%h"),
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        # Ready when each has said so (a control ping would go through this process's broker).
        deadline = time.monotonic() + 90
        while not all(" ready." in log.read_text() for log in logs.values()):
            if time.monotonic() > deadline or any(process.poll() is not None for process in processes):
                tails = " | ".join(log.read_text()[-500:] for log in logs.values())
                pytest.fail(f"the two Celery workers did not start: {tails}")
            time.sleep(0.25)
        yield logs
    finally:
        # Always stopped: a worker left running would take the next run's tasks.
        _stop(processes)
        client.flushdb()


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _due_sms(n: int) -> None:
    """n patients with SMS consent, each with one clinic notice due now (and no quiet hours,
    which would hold SMS at night)."""
    policy = ClinicSettings.load()
    policy.quiet_hours_end = policy.quiet_hours_start
    policy.save()
    patients = Patient.objects.bulk_create(
        Patient(
            mrn=f"SCALE{i:05d}",
            first_name="Scale",
            last_name=f"Out{i}",
            date_of_birth="1980-01-01",
            mobile=f"+4477008{i:05d}",
        )
        for i in range(n)
    )
    MessagingConsent.objects.bulk_create(
        MessagingConsent(
            patient=p, channel="sms", purpose="recalls", granted=True, address=str(p.mobile), method="written"
        )
        for p in patients
    )
    Message.objects.bulk_create(
        Message(
            patient=p,
            kind="campaign",
            channel="sms",
            purpose="recalls",
            due_at=timezone.now(),
            dedupe_key=f"scale:{p.pk}",
            context={"body": "The clinic is closed on Friday."},
        )
        for p in patients
    )


def _publish(task, *args, copies: int = 1) -> None:
    from clinic.celery import app

    with app.connection_for_write(REDIS_URL) as conn:
        for _ in range(copies):
            task.apply_async(args=args, connection=conn)


def _wait_until_all_left(timeout: float = 90.0) -> None:
    unfinished = Message.objects.filter(status__in=["scheduled", "queued", "sending"])
    deadline = time.monotonic() + timeout
    last_dispatch = time.monotonic()
    while unfinished.exists():
        assert time.monotonic() < deadline, list(
            Message.objects.values("status", "reason_code").annotate(n=Count("id"))
        )
        if unfinished.filter(status="scheduled").exists() and time.monotonic() - last_dispatch > 3:
            _publish(messages_dispatch_task)  # beat's next minute, sooner
            last_dispatch = time.monotonic()
        time.sleep(0.25)


def _assert_each_sent_once(provider, before: int, n: int) -> None:
    log = provider.log()[before:]
    to = [entry["to"] for entry in log]
    assert len(to) == n, f"the provider was asked {len(to)} times for {n} messages"
    assert len(set(to)) == n, "a patient got the same reminder twice"
    rows = Message.objects.values_list("status", "to_address", "provider_id")
    assert {status for status, _, _ in rows} == {"sent"}
    assert sorted(address for _, address, _ in rows) == sorted(to)
    assert {provider_id for _, _, provider_id in rows} == {entry["sid"] for entry in log}


def _send_tasks_run(logs: dict[str, Path]) -> dict[str, int]:
    """How many send tasks each worker has finished (Celery logs each one it ran)."""
    return {
        name: sum(
            1
            for line in log.read_text().splitlines()
            if messages_send_task.name in line and "succeeded" in line
        )
        for name, log in logs.items()
    }


def test_two_workers_dispatching_at_once_send_each_reminder_once(workers, provider):
    _due_sms(2000)
    before = provider.stats()["requests"]
    ran_before = _send_tasks_run(workers)

    # Eight dispatcher runs at once, over both workers' four processes: each claims up to 250
    # rows with FOR UPDATE SKIP LOCKED and fans out batches of 25 that either worker takes.
    _publish(messages_dispatch_task, copies=8)
    _wait_until_all_left()

    _assert_each_sent_once(provider, before, 2000)
    ran = _send_tasks_run(workers)
    assert all(ran[name] > ran_before[name] for name in WORKERS), ran  # both took part


def test_a_batch_delivered_to_both_workers_is_sent_once(workers, provider):
    """Every send task twice (a redelivery after a lost acknowledgement, or a dispatcher that
    ran twice): both copies race on the two workers, and the window claim lets one win."""
    _due_sms(500)
    before = provider.stats()["requests"]
    ids = reminders.messages_claim_due()
    assert len(ids) == 500
    for batch in reminders.batches(ids, 25):
        _publish(messages_send_task, batch, copies=2)
    _wait_until_all_left()

    _assert_each_sent_once(provider, before, 500)


@pytest.fixture
def web(django_db_blocker):
    """gunicorn with the production configuration and three worker processes; the access log
    names the process (pid) that served each request."""
    port = free_port()
    access_log = ROOT / "var" / f"scale-out-access-{port}.log"
    access_log.parent.mkdir(exist_ok=True)
    with django_db_blocker.unblock():
        database_url = _database_url()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "3",
        "GUNICORN_ACCESSLOG": str(access_log),
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP on 127.0.0.1
        "CSRF_COOKIE_SECURE": "0",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "clinic.wsgi",
            "-c",
            "gunicorn.conf.py",
            "--access-logformat",
            "%(p)s %(s)s %(m)s %(U)s",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/health/"):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("gunicorn did not start")
            time.sleep(0.25)
        yield base, access_log
    finally:
        _stop([process])
        access_log.unlink(missing_ok=True)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code in (200, 503)  # 503: up, broker unreachable
    except requests.RequestException:
        return False


def _pids_serving(access_log: Path, status: str, path: str) -> set[str]:
    """The worker processes that answered ``path`` with ``status`` (access log: pid status method path)."""
    pattern = re.compile(rf"^<(\d+)> {status} \w+ {re.escape(path)}$")
    return {m.group(1) for line in access_log.read_text().splitlines() if (m := pattern.match(line))}


def test_several_web_processes_serve_one_session(web):
    """Sessions, CSRF secrets and lockouts live in the database, so a login, the requests after
    it and the logout may each land on a different process."""
    base, access_log = web
    UserFactory(username="desk", roles=["front_desk"])
    browser = requests.Session()
    browser.get(f"{base}/login/", timeout=10)
    login = browser.post(
        f"{base}/login/",
        data={
            "username": "desk",
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert login.status_code == 302, login.text[:300]

    # Six at a time: a sync gunicorn worker serves one request at once, so they spread.
    def me(_):
        return browser.get(f"{base}/api/v1/me/", timeout=20)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(me, range(30)))
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.json()["username"] for answer in answers} == {"desk"}
    assert len(_pids_serving(access_log, "200", "/api/v1/me/")) >= 2

    logout = browser.post(
        f"{base}/logout/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        headers={"Referer": f"{base}/"},
        allow_redirects=False,
        timeout=10,
    )
    assert logout.status_code == 302
    # The old session cookie is dead in every process, not only in the one that logged out.
    stale = requests.Session()
    stale.cookies.update(dict(browser.cookies) | {"sessionid": login.cookies["sessionid"]})
    with ThreadPoolExecutor(max_workers=6) as pool:
        after = list(pool.map(lambda _: stale.get(f"{base}/api/v1/me/", timeout=20), range(12)))
    assert {answer.status_code for answer in after} <= {401, 403}
