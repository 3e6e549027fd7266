"""The audit trail's hash chain: every row linked to the one before, links handed out in commit
order however many connections write at once, and audit_verify naming the first broken link."""

import random
import threading
import time
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from clinic import audit_chain
from clinic.audit import audit_record
from clinic.audit_chain import GENESIS, chain_verify, link_hash, pg_content_sql
from clinic.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the chain's trigger is PostgreSQL's"
)


def seal_now():
    """Links are written as the inserting transaction commits; a test's transaction never
    commits, so ask for the deferred trigger to run at once (what COMMIT would do)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def record(n: int, **kwargs) -> list[AuditEvent]:
    events = [audit_record(actor=None, action=f"test.{i}", **kwargs) for i in range(n)]
    seal_now()
    return events


def links() -> list[tuple]:
    return list(
        AuditEvent.objects.order_by("chain_seq").values_list("id", "chain_seq", "prev_hash", "row_hash")
    )


def as_owner_with_triggers_off(sql: str, params=()):
    """What the table's owner (not the application's role) can still do."""
    seal_now()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE clinic_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE clinic_auditevent ENABLE TRIGGER USER")


def verify_fails() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify", stdout=StringIO())
    assert caught.value.returncode == 1
    return str(caught.value)


@pytest.mark.django_db
def test_each_row_carries_sha256_of_its_content_and_the_previous_link():
    record(3, patient_id=7, changes={"note": ["before", "after ü"], "n": [1, 2.5]})
    rows = links()
    assert [seq for _, seq, _, _ in rows] == [1, 2, 3]
    assert rows[0][2] == GENESIS
    assert [prev for _, _, prev, _ in rows[1:]] == [h for _, _, _, h in rows[:-1]]
    # Recomputed here from the documented canonical form, not by the database's function.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT chain_seq, prev_hash, row_hash, {', '.join(pg_content_sql('e'))} "  # noqa: S608
            "FROM clinic_auditevent e ORDER BY chain_seq"
        )
        for seq, prev, row_hash, *content in cursor.fetchall():
            assert link_hash(seq, prev, content) == row_hash
    head = AuditChainHead.objects.get()
    assert (head.seq, head.row_hash) == (3, rows[-1][3])
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert f"head 3:{head.row_hash}" in out.getvalue()


@pytest.mark.django_db
def test_a_link_sent_with_an_insert_is_replaced_by_the_database():
    record(1)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clinic_auditevent (at, actor_label, action, target_id, target_label, changes, source, "
            "chain_seq, prev_hash, row_hash) VALUES (now(), '', 'forged', '', '', '{}', '', 99, %s, %s)",
            [GENESIS, "f" * 64],
        )
    seal_now()
    assert links()[-1][1:] != (99, GENESIS, "f" * 64)
    assert chain_verify().ok


@pytest.mark.django_db
def test_audit_verify_names_a_row_the_owner_changed_with_the_triggers_off():
    events = record(5, changes={"note": ["a", "b"]})
    as_owner_with_triggers_off(
        'UPDATE clinic_auditevent SET changes = \'{"note": ["a", "forged"]}\' WHERE id = %s', [events[2].pk]
    )
    message = verify_fails()
    assert f"link 3, audit event {events[2].pk}: the row was changed" in message


@pytest.mark.django_db
def test_audit_verify_names_a_row_deleted_in_the_middle():
    events = record(5)
    as_owner_with_triggers_off("DELETE FROM clinic_auditevent WHERE id = %s", [events[1].pk])
    assert "link 2: missing" in verify_fails()


@pytest.mark.django_db
def test_audit_verify_notices_the_newest_rows_deleted():
    events = record(4)
    as_owner_with_triggers_off("DELETE FROM clinic_auditevent WHERE id >= %s", [events[2].pk])
    assert "link 3: missing up to the head (4)" in verify_fails()


@pytest.mark.django_db
def test_audit_verify_notices_a_row_inserted_with_replication_mode_on():
    record(2)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                "INSERT INTO clinic_auditevent (at, actor_label, action, target_id, target_label, changes, source) "
                "VALUES (now(), '', 'slipped.in', '', '', '{}', '')"
            )
        finally:
            cursor.execute("SET session_replication_role = origin")
    assert "1 row(s) outside the chain" in verify_fails()


@pytest.mark.django_db
def test_the_migration_links_rows_that_were_there_before_it():
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # rows as they were before 0009
        for i in range(4):
            cursor.execute(
                "INSERT INTO clinic_auditevent (at, actor_label, action, target_id, target_label, changes, source) "
                "VALUES (now() - %s * interval '1 day', '', 'old.event', '', '', '{\"i\": %s}', '')",
                [10 - i, i],
            )
        cursor.execute("SET session_replication_role = origin")
    assert not chain_verify().ok
    with connection.cursor() as cursor:
        for statement in audit_chain.PG_BACKFILL_SQL:
            cursor.execute(statement)
    assert [seq for _, seq, _, _ in links()] == [1, 2, 3, 4]
    report = chain_verify()
    assert report.ok and report.checked == 4


@pytest.mark.django_db
def test_audit_verify_reads_the_table_in_chunks():
    record(7)
    with CaptureQueriesContext(connection) as queries:
        report = chain_verify(chunk_size=3)
    assert report.ok and report.checked == 7
    walks = [q for q in queries.captured_queries if "ORDER BY e.chain_seq LIMIT" in q["sql"]]
    assert len(walks) == 4  # 3 + 3 + 1, then an empty read


def _connect():
    params = connection.get_connection_params()
    # A lock wait longer than this fails the test instead of hanging it: the head must not be
    # locked by a transaction that has inserted an audit row but not yet committed.
    return psycopg.connect(
        dbname=params["dbname"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        options="-c lock_timeout=5000",
    )


INSERT = (
    "INSERT INTO clinic_auditevent (at, actor_label, action, target_id, target_label, changes, source) "
    "VALUES (now(), '', %s, '', '', '{}', 'test') RETURNING id"
)


@pytest.mark.django_db(transaction=True)
def test_links_follow_commit_order_when_transactions_commit_out_of_order():
    with _connect() as first, _connect() as second:
        first_id = first.execute(INSERT, ["first.inserted"]).fetchone()[0]
        second_id = second.execute(INSERT, ["second.inserted"]).fetchone()[0]
        assert first_id < second_id
        second.commit()  # the later row commits first ...
        first.commit()  # ... and the earlier one after it
    rows = links()
    assert [(event_id, seq) for event_id, seq, _, _ in rows] == [(second_id, 1), (first_id, 2)]
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_gap():
    with _connect() as writer:
        writer.execute(INSERT, ["kept.one"])
        writer.commit()
        writer.execute(INSERT, ["rolled.back"])
        writer.rollback()
        writer.execute(INSERT, ["kept.two"])
        writer.commit()
    assert [seq for _, seq, _, _ in links()] == [1, 2]
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_separate_connections_keep_one_whole_chain():
    writers, transactions_each, errors = 6, 12, []
    start = threading.Barrier(writers)

    def write(n: int):
        rng = random.Random(n)
        try:
            start.wait()
            for i in range(transactions_each):
                with transaction.atomic():
                    audit_record(actor=None, action=f"writer{n}.{i}.a")
                    time.sleep(rng.random() / 200)  # commits land in an order unlike the ids'
                    audit_record(actor=None, action=f"writer{n}.{i}.b", changes={"i": i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    total = writers * transactions_each * 2
    rows = links()
    assert [seq for _, seq, _, _ in rows] == list(range(1, total + 1))
    report = chain_verify(chunk_size=50)
    assert report.ok and report.checked == total
    # Each transaction's two rows are adjacent links: a transaction holds the head while it commits.
    actions = dict(AuditEvent.objects.values_list("chain_seq", "action"))
    for seq in range(1, total + 1, 2):
        assert actions[seq].endswith(".a") and actions[seq + 1] == actions[seq][:-1] + "b"


WRITE_ON_SQLITE = """
from clinic.audit import audit_record
from django.db import transaction
with transaction.atomic():
    audit_record(actor=None, action="quick.start", patient_id=4, changes={"z": ["\\u00e4", 2.5], "a": None})
audit_record(actor=None, action="quick.start.again")
"""


@pytest.mark.slow
def test_the_quick_start_on_sqlite_keeps_a_chain_too(tmp_path):
    """bin/run uses SQLite: save() adds the links there; audit_verify reads them the same way."""
    import os
    import sqlite3
    import subprocess
    import sys

    database = tmp_path / "clinic.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], env=env, capture_output=True, text=True, timeout=300
        )

    assert manage("migrate", "--noinput", "-v0").returncode == 0
    assert manage("shell", "-c", WRITE_ON_SQLITE).returncode == 0
    intact = manage("audit_verify")
    assert intact.returncode == 0, intact.stderr
    assert "Audit chain intact: 2 link(s)" in intact.stdout
    with sqlite3.connect(database) as db:
        db.execute("UPDATE clinic_auditevent SET patient_id = 5 WHERE chain_seq = 1")
    broken = manage("audit_verify")
    assert broken.returncode == 1
    assert "link 1" in broken.stderr and "changed" in broken.stderr


@pytest.mark.django_db
def test_a_head_recorded_elsewhere_catches_a_chain_the_owner_rewrote():
    record(3)
    out = StringIO()
    call_command("audit_verify", stdout=out)
    recorded = out.getvalue().split("head ")[1].strip()  # "3:<hash>", kept outside the database
    # The owner rewrites link 2 onwards consistently: every hash recomputed, the head moved.
    seal_now()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE clinic_auditevent DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM clinic_auditevent WHERE chain_seq >= 2")
        cursor.execute(
            "UPDATE clinic_auditchainhead SET seq = 1, row_hash = "
            "(SELECT row_hash FROM clinic_auditevent WHERE chain_seq = 1)"
        )
        cursor.execute("ALTER TABLE clinic_auditevent ENABLE TRIGGER USER")
    record(2)
    assert chain_verify().ok  # consistent on its own ...
    with pytest.raises(CommandError, match=r"link 3, audit event \d+: differs from the head recorded"):
        call_command("audit_verify", "--expect", recorded, stdout=StringIO())
