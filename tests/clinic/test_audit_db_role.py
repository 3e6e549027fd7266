"""The application's database role: it appends to the audit trail and reads it, and nothing it
can do rewrites or wipes it; the application works through a request cycle as that role."""

from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import errors
from rest_framework.test import APIClient

from clinic.audit_chain import chain_verify
from clinic.models import AuditEvent
from tests.factories import PASSWORD
from tests.patients.factories import valid_patient_data

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles are PostgreSQL's")


def _params():
    return connection.get_connection_params()


def _connect(user: str | None = None, *, autocommit: bool = False):
    params = _params()
    return psycopg.connect(
        dbname=params["dbname"],
        user=user or params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        autocommit=autocommit,
    )


@pytest.fixture(scope="module")
def app_role(django_db_setup, django_db_blocker):
    """A login role with the rights `manage.py db_app_role` grants, in the test database.
    Roles belong to the whole server: the name carries the test database's so that parallel runs
    on other databases do not meet."""
    with django_db_blocker.unblock():
        name = f"{_params()['dbname']}_app"[:63]
        with _connect(autocommit=True) as owner:
            exists = owner.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
            if exists:
                owner.execute(f"DROP OWNED BY {name}")
                owner.execute(f"DROP ROLE {name}")
            owner.execute(f"CREATE ROLE {name} LOGIN")
        call_command("db_app_role", name, stdout=StringIO())  # as the owner, like bin/release
        yield name
        with _connect(autocommit=True) as owner:
            owner.execute(f"DROP OWNED BY {name}")
            owner.execute(f"DROP ROLE {name}")


INSERT = (
    "INSERT INTO clinic_auditevent (at, actor_label, action, target_id, target_label, changes, source) "
    "VALUES (now(), '', 'app.role.wrote', '', '', '{}', 'test') RETURNING id"
)

REFUSED = [
    "UPDATE clinic_auditevent SET action = 'forged'",
    "DELETE FROM clinic_auditevent",
    "TRUNCATE clinic_auditevent",
    "ALTER TABLE clinic_auditevent DISABLE TRIGGER clinic_auditevent_append_only",
    "ALTER TABLE clinic_auditevent DISABLE TRIGGER USER",
    "SET session_replication_role = replica",
    "DROP TABLE clinic_auditevent",
    "UPDATE clinic_auditchainhead SET seq = 0",
    "DELETE FROM clinic_auditchainhead",
]


@pytest.mark.django_db(transaction=True)
def test_the_application_role_cannot_rewrite_or_wipe_the_trail(app_role):
    with _connect(app_role) as app:
        written = app.execute(INSERT).fetchone()[0]
        app.commit()  # the sealing trigger links it, as the owner, though the role cannot
        for statement in REFUSED:
            with pytest.raises(errors.InsufficientPrivilege):
                app.execute(statement)
            app.rollback()
        assert app.execute("SELECT count(*) FROM clinic_auditevent WHERE id = %s", [written]).fetchone() == (
            1,
        )
    event = AuditEvent.objects.get(pk=written)
    assert event.chain_seq == 1 and event.row_hash
    assert chain_verify().ok


@pytest.mark.django_db
def test_a_request_cycle_works_as_the_application_role(app_role, client, front_desk_user, manager_user):
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {app_role}")
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (app_role,)
    try:
        assert (
            client.post("/login/", {"username": front_desk_user.username, "password": PASSWORD}).status_code
            == 302
        )
        assert client.get("/patients/").status_code == 200
        api = APIClient()
        api.force_authenticate(front_desk_user)
        created = api.post("/api/v1/patients/", valid_patient_data(), format="json")
        assert created.status_code == 201
        patient_id = created.json()["id"]
        assert (
            api.patch(f"/api/v1/patients/{patient_id}/", {"city": "Leeds"}, format="json").status_code == 200
        )
        client.post("/logout/")
        api.force_authenticate(manager_user)
        trail = api.get("/api/v1/audit-events/", {"patient_id": patient_id}).json()["results"]
        assert {"patient.registered", "patient.updated"} <= {e["action"] for e in trail}
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what commit does: link the rows
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (app_role,)
        assert chain_verify().ok
        assert AuditEvent.objects.filter(chain_seq__isnull=True).count() == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
