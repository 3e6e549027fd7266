"""The HTTP benchmark end to end, briefly: gunicorn on the test database, wrk and the constant-rate
generator as their own processes, and the report files with every figure the lead reads."""

import json
import os
import shutil
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest
from django.db import connection

from bench.workloads import BOOKING_NOTE
from scheduling.models import Appointment
from tests.factories import AppointmentTypeFactory, PatientFactory, ProviderFactory, RoomFactory, UserFactory
from tests.scheduling.factories import WorkingHoursFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def wrk():
    path = shutil.which("wrk")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("wrk is missing: .ci/run installs Debian's wrk")
        pytest.skip("wrk is not installed (apt-get install wrk)")
    return path


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _clinic():
    """A small clinic the requests can be made from: patients, a provider who works every
    weekday, a consultation room and a follow-up type to book."""
    UserFactory(username="bench-world-surgeon", roles=["surgeon"])
    provider = ProviderFactory()
    room = RoomFactory(kind="consultation")
    for weekday in range(7):
        WorkingHoursFactory(
            provider=provider, location=room.location, weekday=weekday, start_time=time(8), end_time=time(18)
        )
    AppointmentTypeFactory(
        code="follow_up",
        name="Follow-up",
        duration_minutes=20,
        provider_roles=["surgeon"],
        room_kind="consultation",
    )
    PatientFactory.create_batch(40)


def test_bench_command_measures_endpoints_and_writes_the_report(wrk, tmp_path):
    _clinic()
    out = tmp_path / "report"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
    }
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "bench_http",
            "--endpoints=patient_chart,patient_list,booking",
            "--baselines=baseline_bare,baseline_pk",
            "--baseline-rounds=1",
            "--duration=5",
            "--warmup=1",
            "--single-duration=2",
            "--connections=2",
            "--workers=2",
            "--i-know-this-is-not-production",
            "--sample=40",
            "--max-writes=400",
            f"--out={out}",
            f"--work-dir={tmp_path / 'work'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    report = json.loads((out / "report.json").read_text())
    baseline = report["baselines"]["baseline_pk"]
    assert baseline["rps"] > 0
    assert baseline["queries"]["mean"] == 1
    chart = report["endpoints"]["patient_chart"]["saturation"]
    assert chart["rps"] > 0
    assert chart["unexpected"] == 0, chart["statuses"]
    assert set(chart["latency_ms"]) >= {"p50", "p95", "p99"}
    assert chart["latency_ms"]["p50"] <= chart["latency_ms"]["p95"] <= chart["latency_ms"]["p99"]
    # Counted by the benchmark-mode middleware in the real server: session, user, permissions,
    # the patient and the chart's panels.
    assert chart["queries"]["mean"] > 3
    assert chart["ratios"]["baseline_pk"]["rps"] == pytest.approx(chart["rps"] / baseline["rps"], rel=0.01)
    # The bare app (bench/bare.py) ran on its own server: no middleware, so no query header.
    bare = report["baselines"]["baseline_bare"]
    assert bare["rps"] > 0 and bare["unexpected"] == 0 and bare["queries"]["mean"] is None
    assert chart["ratios"]["baseline_bare"]["rps"] == pytest.approx(chart["rps"] / bare["rps"], abs=0.001)
    # One request at a time, besides the saturation run.
    single = report["endpoints"]["patient_list"]["single"]
    assert single["requests"] > 0 and single["unexpected"] == 0 and "-c1" in single["command"]
    assert bare["single"]["latency_ms"]["p50"] > 0

    booking = report["endpoints"]["booking"]
    assert booking["saturation"]["rps"] > 0
    assert booking["saturation"]["unexpected"] == 0, booking["saturation"]["statuses"]
    half = booking["half_rate"]
    assert half["target_rate"] == pytest.approx(booking["saturation"]["rps"] / 2, rel=0.01)
    assert half["unexpected"] == 0, half["statuses"]
    assert half["latency_ms"]["p99"] > 0
    # The latency ratios at half rate compare with the baseline driven at the same rate.
    same_rate = half["baselines_at_rate"]["baseline_pk"]
    assert same_rate["target_rate"] == half["target_rate"]
    assert half["ratios"]["baseline_pk"]["p99"] == pytest.approx(
        half["latency_ms"]["p99"] / same_rate["latency_ms"]["p99"], rel=0.01
    )
    created = sum(booking[p]["statuses"].get("201", 0) for p in ("saturation", "half_rate"))
    # Warm-up and the first lone request book too.
    assert Appointment.objects.filter(notes=BOOKING_NOTE).count() >= created > 0

    assert {t["target"] for t in report["targets"]} == {
        "patient_chart_throughput",
        "patient_chart_single_p95",
        "patient_list_throughput",
        "patient_list_single_p95",
        "booking_p99",
    }
    assert report["machine"]["cores"] >= 1
    assert report["dataset"]["patients"] == 40
    assert report["run"]["workers"] == 2

    markdown = (out / "report.md").read_text()
    for heading in ("## Targets", "## Endpoints", "## At half the saturation rate", "## Baselines"):
        assert heading in markdown
    assert "Patient chart" in markdown and "Booking" in markdown
