"""Benchmark the reminder pipeline: N due messages through a real Celery worker and broker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
    python manage.py bench_reminders --messages 10000

It migrates nothing: run `manage.py migrate` on the benchmark database first, and give it a
database of its own (the worker sends every message that is due, not only the benchmark's).
It creates patients with consent and N SMS messages due now, starts one Celery worker (the
same settings as production: prefork, one process per core), starts a fake SMS provider in a
process of its own on 127.0.0.1 (bench/fake_twilio.py; the Twilio backend talks
to it as to the real API), triggers the dispatcher until every message has left, and reports
messages per minute. In the same run it measures two baselines: the provider alone (the same
number of connections sending through the Twilio backend, without database or Celery) and
no-op Celery tasks on the same broker and worker. The figures go to docs/bench-reminders.json.
"""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from amqp.exceptions import ChannelError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.db.models import Count, Q
from django.utils import timezone

from bench import fake_twilio
from bench.processes import worker_argv
from bench.tasks import noop_task
from clinic import throwaway
from clinic.models import ClinicSettings
from patients.models import MessagingConsent, Patient
from scheduling.models import Message
from scheduling.tasks import messages_dispatch_task

BENCH_TAG = "bench-reminders"
TWILIO = {
    "TWILIO_ACCOUNT_SID": "ACbench",
    "TWILIO_AUTH_TOKEN": "bench",
    "TWILIO_FROM_NUMBER": "+447700900000",
}


def _provider_client(base_url: str, first: int, count: int, threads: int) -> None:
    """One client process of the provider-alone baseline: ``count`` SMS through the real
    Twilio backend (keep-alive sessions), ``threads`` at a time, as one worker process does."""
    from scheduling.reminders import channels

    settings.TWILIO_API_BASE = base_url
    for name, value in TWILIO.items():
        setattr(settings, name, value)
    backend = channels.TwilioSmsBackend()

    def send(i: int) -> str:
        return backend.send(to=f"+44780{i:07d}", body="Baseline message.")

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(send, range(first, first + count)))


class Command(BaseCommand):
    help = "Measure reminder throughput through a real worker and broker, against two baselines."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=10000)
        throwaway.add_flag(parser, writes="it seeds patients and sends every due message to a fake provider")
        parser.add_argument(
            "--concurrency", type=int, default=os.cpu_count() or 2, help="Worker processes (prefork)."
        )
        parser.add_argument(
            "--send-concurrency",
            type=int,
            default=settings.MESSAGE_SEND_CONCURRENCY,
            help="Provider calls in flight per worker process (MESSAGE_SEND_CONCURRENCY).",
        )
        parser.add_argument("--batch-size", type=int, default=settings.MESSAGE_BATCH_SIZE)
        parser.add_argument(
            "--provider-latency-ms",
            type=float,
            default=0.0,
            help="Hold each provider answer this long, like a provider across the internet.",
        )
        parser.add_argument(
            "--report",
            default=str(settings.BASE_DIR / "docs" / "bench-reminders.json"),
            help="Write the figures as JSON to this file ('-': do not write).",
        )

    def handle(
        self,
        *args,
        messages,
        concurrency,
        send_concurrency,
        batch_size,
        provider_latency_ms,
        report,
        **options,
    ):
        if not settings.CELERY_BROKER_URL.startswith(("redis://", "amqp://", "pyamqp://")):
            raise CommandError("Set CELERY_BROKER_URL to a Redis or RabbitMQ broker for a meaningful figure.")
        throwaway.require(options, refusing="seed patients and send their messages to a fake provider")
        others = Message.objects.exclude(dedupe_key__startswith=f"{BENCH_TAG}:").filter(
            status__in=[Message.Status.SCHEDULED, Message.Status.QUEUED, Message.Status.SENDING]
        )
        if others.exists():
            # The worker sends every due message: real reminders would go to the fake provider
            # and be marked sent.
            raise CommandError(
                "Messages other than the benchmark's are waiting here: use a database of its own."
            )
        # A SIGTERM ends the run through the finally blocks below: the worker and the provider
        # process are stopped and the quiet hours put back.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench_reminders: terminated"))
        load_before = os.getloadavg()
        self._purge()
        # Quiet hours would hold SMS overnight: the benchmark measures sending, so it lifts them
        # for its run and puts them back afterwards.
        policy = ClinicSettings.load()
        quiet = (policy.quiet_hours_start, policy.quiet_hours_end)
        policy.quiet_hours_end = policy.quiet_hours_start
        policy.save()
        try:
            self.stdout.write(f"Seeding {messages} due messages ...")
            self._seed(messages)
            with fake_twilio.running(latency_ms=provider_latency_ms) as provider:
                env = {
                    **os.environ,
                    **TWILIO,
                    "SMS_BACKEND": "twilio",
                    "TWILIO_API_BASE": provider.base_url,
                    "MESSAGE_SEND_CONCURRENCY": str(send_concurrency),
                    "MESSAGE_BATCH_SIZE": str(batch_size),
                    "LOG_LEVEL": "WARNING",
                }
                self.stdout.write("Provider alone ...")
                provider_rate = self._provider_rate(
                    provider.base_url, messages, concurrency, send_concurrency
                )
                baseline_requests = provider.stats()["requests"]
                # Tasks left in the broker by an earlier, interrupted run would run first and skew
                # the figures (a stray dispatch sends the messages during the no-op phase).
                from clinic.celery import app

                app.control.purge()
                worker = self._start_worker(env, concurrency)
                try:
                    self.stdout.write("No-op tasks ...")
                    noop_rate = self._noop_rate(messages)
                    self.stdout.write("Reminders ...")
                    send_rate, elapsed = self._send_rate(messages)
                finally:
                    worker.send_signal(signal.SIGTERM)
                    try:
                        worker.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        worker.kill()
                sent = provider.log()[baseline_requests:]
        finally:
            # Put back whatever happened after they were lifted (a provider or worker that did
            # not start, an interrupted seed).
            policy.quiet_hours_start, policy.quiet_hours_end = quiet
            policy.save()
        statuses = self._status_counts()
        figures = {
            "command": "python manage.py bench_reminders " + " ".join(sys.argv[2:]),
            "measured_at": timezone.now().isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "messages": messages,
            "worker_processes": concurrency,
            "send_concurrency": send_concurrency,
            "batch_size": batch_size,
            "dispatch_limit": settings.MESSAGE_DISPATCH_LIMIT,
            "broker": settings.CELERY_BROKER_URL.split("://")[0],
            "provider_latency_ms": provider_latency_ms,
            "seconds": round(elapsed, 2),
            "messages_per_minute": round(send_rate),
            "provider_alone_requests_per_minute": round(provider_rate),
            "noop_tasks_per_minute": round(noop_rate),
            "ratio_to_provider_alone": round(send_rate / provider_rate, 3),
            "ratio_to_noop_tasks": round(send_rate / noop_rate, 3),
            "provider_requests": len(sent),
            "provider_duplicates": len(sent) - len({entry["to"] for entry in sent}),
            "statuses": statuses,
        }
        self.stdout.write(json.dumps(figures, indent=2))
        if report != "-":
            Path(report).write_text(json.dumps(figures, indent=2) + "\n")
        self._purge()

    def _status_counts(self) -> dict:
        rows = Message.objects.filter(context__bench=BENCH_TAG).values("status").annotate(n=Count("id"))
        return {row["status"]: row["n"] for row in rows}

    def _purge(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM scheduling_message WHERE patient_id IN "
                "(SELECT id FROM patients_patient WHERE mrn LIKE 'BENCH%%')"
            )
            cursor.execute(
                "DELETE FROM patients_messagingconsent WHERE patient_id IN "
                "(SELECT id FROM patients_patient WHERE mrn LIKE 'BENCH%%')"
            )
            cursor.execute("DELETE FROM patients_patient WHERE mrn LIKE 'BENCH%%'")

    def _seed(self, n: int) -> None:
        now = timezone.now()
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    mrn=f"BENCH{i:07d}",
                    first_name="Bench",
                    last_name=f"Patient{i}",
                    date_of_birth="1970-01-01",
                    mobile=f"+44770{i:07d}"[:13],
                    email="",
                )
                for i in range(n)
            ],
            batch_size=2000,
        )
        MessagingConsent.objects.bulk_create(
            [
                MessagingConsent(
                    patient=p,
                    channel="sms",
                    purpose="recalls",
                    granted=True,
                    address=str(p.mobile),
                    method="written",
                )
                for p in patients
            ],
            batch_size=2000,
        )
        Message.objects.bulk_create(
            [
                Message(
                    patient=p,
                    kind=Message.Kind.CAMPAIGN,
                    channel=Message.Channel.SMS,
                    purpose="recalls",
                    due_at=now,
                    dedupe_key=f"{BENCH_TAG}:{p.pk}",
                    context={"bench": BENCH_TAG, "body": "Benchmark message."},
                )
                for p in patients
            ],
            batch_size=2000,
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Fresh statistics, as a live table has: the planner sees 10,000 new rows.
                cursor.execute("ANALYZE scheduling_message, patients_patient, patients_messagingconsent")

    def _provider_rate(self, base_url: str, n: int, processes: int, threads: int) -> float:
        """The provider and the HTTP path alone: n SMS from as many processes and threads as the
        worker uses, through the real Twilio backend. The ceiling for the whole pipeline."""
        connections.close_all()  # forked clients must not share this process's connection
        per_process = -(-n // processes)
        context = multiprocessing.get_context("fork")
        start = time.monotonic()
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            futures = [
                pool.submit(_provider_client, base_url, i * per_process, per_process, threads)
                for i in range(processes)
            ]
            for future in futures:
                future.result()
        elapsed = time.monotonic() - start
        return per_process * processes / elapsed * 60

    def _start_worker(self, env: dict, concurrency: int) -> subprocess.Popen:
        worker = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            worker_argv(concurrency=concurrency),
            env=env,
            cwd=settings.BASE_DIR,
        )
        from clinic.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(timeout=1.0):
                return worker
        worker.kill()
        raise CommandError("The Celery worker did not start.")

    def _broker_queue_length(self) -> int:
        from clinic.celery import app

        with app.connection_for_write() as conn:
            try:
                _, count, _ = conn.default_channel.queue_declare(queue="celery", passive=True)
            except ChannelError:
                return 0  # Redis drops the key of an empty queue
            return count

    def _noop_rate(self, n: int) -> float:
        start = time.monotonic()
        for _ in range(n):
            noop_task.delay()
        while self._broker_queue_length() > 0:
            time.sleep(0.05)
        # The queue is empty once the last task was taken; prefetch=1 and acks_late keep the
        # tail short, so this measures the worker's task rate, not the publisher's.
        elapsed = time.monotonic() - start
        return n / elapsed * 60

    def _send_rate(self, n: int) -> tuple[float, float]:
        start = time.monotonic()
        # Served by the partial indexes on due and claimed rows; the benchmark database holds no
        # other messages (the worker would send those too).
        in_flight = Message.objects.filter(status__in=[Message.Status.QUEUED, Message.Status.SENDING])
        pending = Message.objects.filter(
            Q(status__in=[Message.Status.QUEUED, Message.Status.SENDING])
            | Q(status=Message.Status.SCHEDULED, due_at__lte=timezone.now())
        )
        last_dispatch = 0.0
        while pending.exists():
            # Beat triggers the dispatcher every minute; here it is triggered as soon as the
            # previous claim was handed out, to measure the pipeline, not the beat interval.
            queued = in_flight.filter(status=Message.Status.QUEUED).exists()
            if not queued or (time.monotonic() - last_dispatch > 5):
                messages_dispatch_task.delay()
                last_dispatch = time.monotonic()
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        return n / elapsed * 60, elapsed
