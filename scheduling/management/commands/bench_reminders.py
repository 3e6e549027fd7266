"""Benchmark the reminder pipeline: N due messages through a real Celery worker and broker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
    python manage.py bench_reminders --messages 10000

It migrates nothing: run `manage.py migrate` on the benchmark database first. It creates
patients with consent and N SMS messages due now, starts one Celery worker (the same settings
as production: prefork, concurrency = cores), serves a fake SMS provider over HTTP on
127.0.0.1 (the Twilio backend talks to it as to the real API), triggers the dispatcher until
every message has left, and reports messages per minute. In the same run, with the same broker
and worker, it measures the rate of no-op Celery tasks, and reports the ratio.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from amqp.exceptions import ChannelError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from clinic.models import ClinicSettings
from clinic.tasks import noop_task
from patients.models import MessagingConsent, Patient
from scheduling.models import Message
from scheduling.tasks import messages_dispatch_task

BENCH_TAG = "bench-reminders"


class _Provider(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    count = 0
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with _Provider.lock:
            _Provider.count += 1
            n = _Provider.count
        body = json.dumps({"sid": f"SM{n:032d}", "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Command(BaseCommand):
    help = "Measure reminder throughput through a real worker and broker, against no-op tasks."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=10000)
        parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
        parser.add_argument("--report", default="", help="Write the figures as JSON to this file.")

    def handle(self, *args, messages, concurrency, report, **options):
        if not settings.CELERY_BROKER_URL.startswith(("redis://", "amqp://", "pyamqp://")):
            raise CommandError("Set CELERY_BROKER_URL to a Redis or RabbitMQ broker for a meaningful figure.")
        provider = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
        threading.Thread(target=provider.serve_forever, daemon=True).start()
        env = {
            **os.environ,
            "SMS_BACKEND": "twilio",
            "TWILIO_API_BASE": f"http://127.0.0.1:{provider.server_port}",
            "TWILIO_ACCOUNT_SID": "ACbench",
            "TWILIO_AUTH_TOKEN": "bench",
            "TWILIO_FROM_NUMBER": "+447700900000",
            "LOG_LEVEL": "WARNING",
        }
        self._purge()
        # Quiet hours would hold SMS overnight: the benchmark measures sending, so it lifts them
        # for its run and puts them back afterwards.
        policy = ClinicSettings.load()
        quiet = (policy.quiet_hours_start, policy.quiet_hours_end)
        policy.quiet_hours_end = policy.quiet_hours_start
        policy.save()
        self.stdout.write(f"Seeding {messages} due messages ...")
        self._seed(messages)
        worker = self._start_worker(env, concurrency)
        try:
            noop_rate = self._noop_rate(messages)
            send_rate, elapsed = self._send_rate(messages)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
            provider.shutdown()
            policy.quiet_hours_start, policy.quiet_hours_end = quiet
            policy.save()
        statuses = self._status_counts()
        figures = {
            "messages": messages,
            "worker_concurrency": concurrency,
            "batch_size": settings.MESSAGE_BATCH_SIZE,
            "broker": settings.CELERY_BROKER_URL.split("://")[0],
            "seconds": round(elapsed, 2),
            "messages_per_minute": round(send_rate),
            "noop_tasks_per_minute": round(noop_rate),
            "ratio_to_noop_tasks": round(send_rate / noop_rate, 3),
            "provider_requests": _Provider.count,
            "statuses": statuses,
        }
        self.stdout.write(json.dumps(figures, indent=2))
        if report:
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

    def _start_worker(self, env: dict, concurrency: int) -> subprocess.Popen:
        worker = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "clinic",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
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
        bench = Message.objects.filter(context__bench=BENCH_TAG)
        pending = bench.filter(
            Q(status__in=["queued", "sending"]) | Q(status="scheduled", due_at__lte=timezone.now())
        )
        last_dispatch = 0.0
        while pending.exists():
            # Beat triggers the dispatcher every minute; here it is triggered as soon as the
            # previous claim was handed out, to measure the pipeline, not the beat interval.
            if not bench.filter(status="queued").exists() or (time.monotonic() - last_dispatch > 5):
                messages_dispatch_task.delay()
                last_dispatch = time.monotonic()
            time.sleep(0.1)
        elapsed = time.monotonic() - start
        return n / elapsed * 60, elapsed
