"""The documented backup and restore (docs/operations.md) really brings the records back:
pg_dump -Fc of the database, pg_restore into a new empty database, the same rows found."""

import os
import shutil
import subprocess
import uuid

import psycopg
import pytest
from django.db import connection

from tests.factories import AppointmentFactory
from tests.treatments.factories import record_toxin

pytestmark = pytest.mark.django_db(transaction=True)

TABLES = [
    "patients_patient",
    "scheduling_appointment",
    "treatments_toxinsession",
    "treatments_injection",
    "clinic_auditevent",
]


def _tools_or_skip():
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} not installed: the backup test must run in CI")
        pytest.skip(f"{missing} not installed on this machine")


def _conninfo(dbname: str) -> dict:
    s = connection.settings_dict
    return {
        "host": s["HOST"] or "localhost",
        "port": str(s["PORT"] or 5432),
        "user": s["USER"],
        "dbname": dbname,
    }


def _env() -> dict:
    env = dict(os.environ)
    if connection.settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = connection.settings_dict["PASSWORD"]
    return env


def _snapshot(conn) -> dict:
    with conn.cursor() as cur:
        rows = {}
        for table in TABLES:
            cur.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)), count(*) FROM {table} t")  # noqa: S608
            rows[table] = cur.fetchone()
        return rows


def test_a_dump_restores_into_an_empty_database_with_the_same_records(tmp_path, surgeon_user, injector_user):
    if connection.vendor != "postgresql":
        pytest.skip("backups are PostgreSQL dumps")
    _tools_or_skip()
    appointment = AppointmentFactory()
    record_toxin(appointment.patient, injector_user)
    source = _conninfo(connection.settings_dict["NAME"])
    dump = tmp_path / "clinic.dump"
    subprocess.run(
        [
            shutil.which("pg_dump"),
            "-Fc",
            "-h",
            source["host"],
            "-p",
            source["port"],
            "-U",
            source["user"],
            "-f",
            str(dump),
            source["dbname"],
        ],
        check=True,
        env=_env(),
        timeout=120,
    )
    target = f"{source['dbname']}_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**{**source, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{target}"')
    try:
        subprocess.run(
            [
                shutil.which("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                "-h",
                source["host"],
                "-p",
                source["port"],
                "-U",
                source["user"],
                "-d",
                target,
                str(dump),
            ],
            check=True,
            env=_env(),
            timeout=120,
        )
        with (
            psycopg.connect(**source) as original,
            psycopg.connect(**{**source, "dbname": target}) as restored,
        ):
            expected = _snapshot(original)
            assert _snapshot(restored) == expected
        assert expected["treatments_injection"][1] > 0
    finally:
        with psycopg.connect(**{**source, "dbname": "postgres"}, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
