"""bench_sweep: every argument-free page and API list, timed in-process, slowest first."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import PatientFactory
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


def test_times_only_the_paths_given_with_their_query_strings():
    clinic = build_clinic()
    build_slice(clinic, 1)
    printed = io.StringIO()
    call_command(
        "bench_sweep",
        "/recalls/?bucket=overdue",
        "/api/v1/patients/?search=smith",
        "--i-know-this-is-not-production",
        "--repeat",
        "1",
        stdout=printed,
    )
    rows = printed.getvalue().splitlines()[1:]
    assert sorted(row.split()[-1] for row in rows) == [
        "/api/v1/patients/?search=smith",
        "/recalls/?bucket=overdue",
    ]
    assert all(row.split()[1] == "200" for row in rows)
    with pytest.raises(CommandError, match="slash"):
        call_command("bench_sweep", "recalls", "--i-know-this-is-not-production", stdout=io.StringIO())


def test_search_sample_runs_the_benchmarks_term_mix_under_explain():
    PatientFactory.create_batch(6)
    printed = io.StringIO()
    call_command("bench_sweep", "--search-sample", "6", stdout=printed)
    # (Six patients: the planner rightly reads the table; at scale it must not, see bin/bench.)
    assert printed.getvalue().startswith("search at the database: 6 terms, p50 ")
