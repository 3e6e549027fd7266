"""bench_sweep: every argument-free page and API list, timed in-process, slowest first."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.perf.world import build_clinic, build_slice

pytestmark = pytest.mark.django_db


def test_sweeps_every_page_and_api_list_without_a_server_error(tmp_path, settings):
    settings.REQUIRE_MFA = True  # production's setting: the sweep's own account is not confined
    clinic = build_clinic()
    build_slice(clinic, 2)
    out = tmp_path / "sweep.json"
    printed = io.StringIO()
    call_command(
        "bench_sweep", "--i-know-this-is-not-production", "--repeat", "1", "--json", out, stdout=printed
    )

    results = {r["path"]: r for r in json.loads(out.read_text())}
    for path in ("/schedule/", "/schedule/rooms/", "/recalls/", "/api/v1/encounters/", "/api/v1/messages/"):
        assert results[path]["status"] == 200, path
        assert results[path]["queries"] > 0 and results[path]["median_ms"] > 0
    assert all(r["status"] < 500 for r in results.values())
    assert not any(path.startswith(("/admin/", "/p/", "/logout/")) for path in results)
    # The table, slowest first.
    lines = printed.getvalue().splitlines()
    medians = [float(line.split()[0]) for line in lines[1:]]
    assert lines[0].split()[:2] == ["median", "ms"] and medians == sorted(medians, reverse=True)


def test_refuses_without_the_flag():
    with pytest.raises(CommandError, match="Refusing to sweep"):
        call_command("bench_sweep", stdout=io.StringIO())
