"""Production settings refuse insecure configuration; check --deploy is clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k3y-" + "x9Qz" * 15

pytestmark = pytest.mark.slow


def _run(args: list[str], **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    env.update({k: v for k, v in env_overrides.items() if v is not None})
    env["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _import_settings(**env):
    return _run(["-c", "import django; django.setup()"], **env)


def test_refuses_to_start_without_secret_key_when_debug_off():
    result = _import_settings(DEBUG="0", ALLOWED_HOSTS="clinic.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_refuses_the_quick_start_key_in_production():
    result = _import_settings(
        DEBUG="0", ALLOWED_HOSTS="clinic.example.org", SECRET_KEY="django-insecure-" + "a" * 50
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_refuses_to_start_without_allowed_hosts_when_debug_off():
    result = _import_settings(DEBUG="0", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_starts_with_a_real_key_and_hosts():
    result = _import_settings(DEBUG="0", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="clinic.example.org")
    assert result.returncode == 0, result.stderr


def test_quick_start_needs_no_configuration():
    result = _import_settings(DEBUG="1", DATABASE_URL="sqlite:///var/unused.sqlite3")
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_production_environment():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="clinic.example.org",
        # The clinic's own address: links in messages, and the domain of Message-IDs and
        # calendar UIDs (scheduling.W002 warns while it is a shared name such as 127.0.0.1).
        SITE_URL="https://clinic.example.org",
        SECURE_SSL_REDIRECT="1",
        MANIFEST_STATIC="1",
        REQUIRE_MFA="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_two_factor_is_not_required():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="clinic.example.org",
        SECURE_SSL_REDIRECT="1",
        MANIFEST_STATIC="1",
        REQUIRE_MFA="0",
    )
    assert result.returncode != 0
    assert "clinic.W001" in result.stdout + result.stderr


def test_makemigrations_check_runs_on_an_unconfigured_checkout():
    result = _run(
        ["manage.py", "makemigrations", "--check", "--dry-run"], DATABASE_URL="sqlite:///var/unused.sqlite3"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


POOL_PROBE = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
print(type(connection.pool).__name__, connection.pool.max_size, connection.settings_dict["CONN_MAX_AGE"])
"""


def test_database_pool_is_turned_on_by_the_environment(django_db_setup):
    """DATABASE_POOL=1: connections come from a psycopg pool (Django refuses a pool together with
    persistent connections, so CONN_MAX_AGE becomes 0)."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the pool is a PostgreSQL feature")
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    result = _run(
        ["-c", POOL_PROBE],
        DEBUG="0",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="clinic.example.org",
        DATABASE_URL=url,
        DATABASE_POOL="1",
        DATABASE_POOL_MAX_SIZE="3",
        CONN_MAX_AGE="60",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ConnectionPool", "3", "0"]


def test_a_deployment_installs_no_demo_or_benchmark_tools():
    """Without DEVTOOLS (every deployment) the demo, the scale seed and the benchmarks are absent."""
    code = (
        "import django; django.setup(); from django.apps import apps; "
        "from django.core.management import get_commands; "
        "print(sorted(a for a in ('devtools', 'bench') if apps.is_installed(a)), "
        "sorted(c for c in ('seed_demo', 'seed_scale', 'bench_http', 'race_booking') if c in get_commands()))"
    )
    result = _run(["-c", code], DEVTOOLS="0", DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"
    result = _run(["-c", code], DEVTOOLS="1", DEBUG="1")
    assert (
        result.stdout.strip()
        == "['bench', 'devtools'] ['bench_http', 'race_booking', 'seed_demo', 'seed_scale']"
    )
