"""The audit trail's hash chain: each row carries SHA-256 over its content and the previous
row's hash, so that a row changed, removed or slipped in afterwards breaks the chain, and
``python manage.py audit_verify`` names the first broken link.

A link is ``sha256(canonical(seq, prev_hash, content))`` where ``canonical`` writes each value as
``<length>:<text>`` (``~`` for NULL), in this order: the link's sequence number, the previous
link's hash (64 zeros before the first), then the row's columns in CONTENT_COLUMNS order.
Numbers and UUIDs are written as decimal and hyphenated lower-case text, ``at`` as UTC
``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ``ip`` as the bare address and ``changes`` as the database
stores the JSON (``changes::text`` on PostgreSQL, sorted compact JSON on SQLite).

Links are handed out in commit order, one at a time, so a chain stays whole however many
processes write and in whatever order their transactions commit:

- PostgreSQL: a deferred constraint trigger (``clinic_auditevent_seal``) runs as the inserting
  transaction commits. It locks the single row of ``clinic_auditchainhead`` (FOR UPDATE, held
  until that commit), takes the next sequence number and the head's hash, writes the link on the
  row and moves the head. A transaction committing later waits for the lock and then sees the
  new head; one that rolls back leaves neither a link nor a gap. The lock is held only while the
  transaction commits, never while it does its work: a long transaction that audited early holds
  up no one, and a deadlock with the row locks services take is possible only during the commit
  itself (a deferred foreign-key check queued after the audit row, on a row another committing
  transaction locked FOR UPDATE); PostgreSQL detects it and rolls one back. The trigger also
  covers rows inserted by raw SQL, and runs as the owner (SECURITY DEFINER): the application's
  role needs no right on the chain head.
- SQLite (the quick start): AuditEvent.save() adds the link in the inserting transaction; the
  insert holds SQLite's single write lock until commit, which serialises the links the same way.
  Rows inserted without save() (bulk_create, raw SQL) stay outside the chain and audit_verify
  reports them.

The chain proves rows were not changed, removed or inserted in the middle. Removing the newest
rows together with rewinding the head, or rewriting the whole chain, needs the database owner;
record the head that audit_verify prints somewhere the owner cannot write (see
docs/operations.md) to catch that too.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC

from django.db import connections, router, transaction

GENESIS = "0" * 64
AUDIT_TABLE = "clinic_auditevent"
HEAD_TABLE = "clinic_auditchainhead"

CONTENT_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "target_type_id",
    "target_id",
    "target_label",
    "patient_id",
    "changes",
    "ip",
    "request_id",
    "source",
)

# The text of each content column as PostgreSQL writes it; the trigger and audit_verify read
# the same expressions ({t} is the row: NEW in the trigger, the table's alias in the query).
_PG_TEXT = {
    "id": "{t}.id::text",
    "at": """to_char({t}.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    "actor_id": "{t}.actor_id::text",
    "actor_label": "{t}.actor_label",
    "action": "{t}.action",
    "target_type_id": "{t}.target_type_id::text",
    "target_id": "{t}.target_id",
    "target_label": "{t}.target_label",
    "patient_id": "{t}.patient_id::text",
    "changes": "{t}.changes::text",
    "ip": "host({t}.ip)",
    "request_id": "{t}.request_id::text",
    "source": "{t}.source",
}


def pg_content_sql(alias: str) -> list[str]:
    return [_PG_TEXT[column].format(t=alias) for column in CONTENT_COLUMNS]


def canonical(seq: int, prev_hash: str, content: Sequence[str | None]) -> str:
    return "".join("~" if v is None else f"{len(v)}:{v}" for v in (str(seq), prev_hash, *content))


def link_hash(seq: int, prev_hash: str, content: Sequence[str | None]) -> str:
    return hashlib.sha256(canonical(seq, prev_hash, content).encode("utf-8")).hexdigest()


def python_content(event) -> list[str | None]:
    """The content columns of an AuditEvent instance as text (the SQLite form)."""

    def text(value):
        return None if value is None else str(value)

    return [
        str(event.pk),
        event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        text(event.actor_id),
        event.actor_label,
        event.action,
        text(event.target_type_id),
        event.target_id,
        event.target_label,
        text(event.patient_id),
        json.dumps(event.changes, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        text(event.ip),
        text(event.request_id),
        event.source,
    ]


def _is_postgres(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def event_insert(event, save, *args, **kwargs) -> None:
    """Insert ``event`` through ``save`` (Model.save); outside PostgreSQL, add its link too."""
    using = kwargs.get("using") or router.db_for_write(type(event), instance=event)
    event.chain_seq = event.prev_hash = event.row_hash = None
    if _is_postgres(using):
        save(*args, **kwargs)  # the sealing trigger adds the link as the transaction commits
        return
    with transaction.atomic(using=using):
        save(*args, **kwargs)  # the insert takes SQLite's write lock until commit
        _seal_in_python(event, using=using)


def _seal_in_python(event, *, using: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT seq, row_hash FROM clinic_auditchainhead WHERE id = 1")
        head = cursor.fetchone()
        seq, prev = (head[0], head[1]) if head else (0, GENESIS)
        event.chain_seq, event.prev_hash = seq + 1, prev
        event.row_hash = link_hash(seq + 1, prev, python_content(event))
        cursor.execute(
            "UPDATE clinic_auditevent SET chain_seq = %s, prev_hash = %s, row_hash = %s WHERE id = %s",
            [event.chain_seq, event.prev_hash, event.row_hash, event.pk],
        )
        if head:
            cursor.execute(
                "UPDATE clinic_auditchainhead SET seq = %s, row_hash = %s WHERE id = 1",
                [event.chain_seq, event.row_hash],
            )
        else:
            cursor.execute(
                "INSERT INTO clinic_auditchainhead (id, seq, row_hash) VALUES (1, %s, %s)",
                [event.chain_seq, event.row_hash],
            )


# --- Verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    seq: int | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"link {self.seq}")
        if self.event_id is not None:
            where.append(f"audit event {self.event_id}")
        return f"{', '.join(where) or 'chain'}: {self.reason}"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_seq: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _rows(using: str, *, after: int, upto: int | None, chunk_size: int) -> list[tuple]:
    """(id, chain_seq, prev_hash, row_hash, content...) of the next links after ``after``."""
    limit = "" if upto is None else "AND e.chain_seq <= %s"
    params = [after] + ([] if upto is None else [upto]) + [chunk_size]
    with connections[using].cursor() as cursor:
        if _is_postgres(using):
            columns = ", ".join(pg_content_sql("e"))
            cursor.execute(
                f"SELECT e.id, e.chain_seq, e.prev_hash, e.row_hash, {columns} FROM clinic_auditevent e "  # noqa: S608
                f"WHERE e.chain_seq > %s {limit} ORDER BY e.chain_seq LIMIT %s",
                params,
            )
            return cursor.fetchall()
        cursor.execute(
            "SELECT e.id, e.chain_seq, e.prev_hash, e.row_hash FROM clinic_auditevent e "  # noqa: S608
            f"WHERE e.chain_seq > %s {limit} ORDER BY e.chain_seq LIMIT %s",
            params,
        )
        links = cursor.fetchall()
    from .models import AuditEvent

    events = AuditEvent.objects.using(using).in_bulk([row[0] for row in links])
    return [(*row, *python_content(events[row[0]])) for row in links]


def chain_verify(
    *, using: str = "default", chunk_size: int = 5000, anchors: dict | None = None
) -> ChainReport:
    """Walk the chain from its first link, ``chunk_size`` rows at a time; stop at the first
    broken link. Links added while it runs (after the head it read first) are left for the
    next run. ``anchors`` ({seq: hash}, heads recorded by earlier runs outside the database)
    must still be in the chain: a chain rewritten from some link on fails there."""
    anchors = anchors or {}
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT seq, row_hash FROM clinic_auditchainhead WHERE id = 1")
        head = cursor.fetchone()
    head_seq, head_hash = head if head else (0, GENESIS)
    expected, prev, checked = 1, GENESIS, 0

    def report(broken: ChainBreak | None) -> ChainReport:
        return ChainReport(checked=checked, head_seq=head_seq, head_hash=head_hash, broken=broken)

    while True:
        rows = _rows(using, after=expected - 1, upto=head_seq if head else None, chunk_size=chunk_size)
        if not rows:
            break
        for event_id, seq, prev_hash, row_hash, *content in rows:
            if head is None:
                return report(ChainBreak(seq, event_id, "the chain head is missing"))
            if seq != expected:
                return report(
                    ChainBreak(expected, None, f"missing (the next link present is {seq}): rows were deleted")
                )
            if prev_hash != prev:
                return report(ChainBreak(seq, event_id, "does not point at the link before it"))
            if link_hash(seq, prev_hash, content) != row_hash:
                return report(ChainBreak(seq, event_id, "the row was changed after it was written"))
            if seq in anchors and anchors[seq] != row_hash:
                return report(
                    ChainBreak(
                        seq, event_id, "differs from the head recorded earlier: the chain was rewritten"
                    )
                )
            prev, expected, checked = row_hash, expected + 1, checked + 1
    if checked != head_seq:
        return report(
            ChainBreak(expected, None, f"missing up to the head ({head_seq}): the newest rows were deleted")
        )
    if prev != head_hash:
        return report(ChainBreak(head_seq, None, "the newest link does not match the chain head"))
    if anchors and max(anchors) > head_seq:
        return report(
            ChainBreak(
                max(anchors), None, "a head recorded earlier is past the chain's end: rows were removed"
            )
        )
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT min(id), count(*) FROM clinic_auditevent WHERE chain_seq IS NULL")
        first_unsealed, unsealed = cursor.fetchone()
    if unsealed:
        return report(
            ChainBreak(
                None, first_unsealed, f"{unsealed} row(s) outside the chain (inserted with the trigger off)"
            )
        )
    return report(None)


# --- PostgreSQL: the functions and triggers (installed by migration 0009) ----------------------


def _pg_part(expression: str) -> str:
    return f"clinic_audit_part({expression})"


def pg_install_sql(schema: str) -> list[str]:
    content = " || ".join(_pg_part(e) for e in pg_content_sql("e"))
    digest = (
        "CREATE OR REPLACE FUNCTION clinic_audit_link(e clinic_auditevent, seq bigint, prev text) "
        "RETURNS text LANGUAGE sql STABLE AS $$ SELECT encode(sha256(convert_to("
        f"{_pg_part('seq::text')} || {_pg_part('prev')} || {content}, 'UTF8')), 'hex') $$"
    )
    same_content = " AND ".join(f"OLD.{c} IS NOT DISTINCT FROM NEW.{c}" for c in CONTENT_COLUMNS)
    return [
        "CREATE OR REPLACE FUNCTION clinic_audit_part(v text) RETURNS text LANGUAGE sql IMMUTABLE AS "
        "$$ SELECT CASE WHEN v IS NULL THEN '~' ELSE length(v)::text || ':' || v END $$",
        digest,
        # Append-only, but for one write: the sealing trigger adding the link to a row its own
        # transaction inserted (no link yet, content unchanged, from inside a trigger). A link
        # the client sends with an insert is dropped: only the sealing trigger writes links.
        f"""
CREATE OR REPLACE FUNCTION clinic_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.chain_seq := NULL; NEW.prev_hash := NULL; NEW.row_hash := NULL;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 AND OLD.chain_seq IS NULL
       AND NEW.chain_seq IS NOT NULL AND {same_content} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'clinic_auditevent is append-only';
END;
$$ LANGUAGE plpgsql""",
        "DROP TRIGGER IF EXISTS clinic_auditevent_append_only ON clinic_auditevent",
        "CREATE TRIGGER clinic_auditevent_append_only BEFORE INSERT OR UPDATE OR DELETE ON clinic_auditevent "
        "FOR EACH ROW EXECUTE FUNCTION clinic_audit_append_only()",
        f"""
CREATE OR REPLACE FUNCTION clinic_audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash text;
    link text;
BEGIN
    SELECT seq, row_hash INTO head_seq, head_hash FROM clinic_auditchainhead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO clinic_auditchainhead (id, seq, row_hash) VALUES (1, 0, repeat('0', 64))
            ON CONFLICT (id) DO NOTHING;
        SELECT seq, row_hash INTO head_seq, head_hash FROM clinic_auditchainhead WHERE id = 1 FOR UPDATE;
    END IF;
    link := clinic_audit_link(NEW, head_seq + 1, head_hash);
    UPDATE clinic_auditevent SET chain_seq = head_seq + 1, prev_hash = head_hash, row_hash = link
        WHERE id = NEW.id;
    UPDATE clinic_auditchainhead SET seq = head_seq + 1, row_hash = link WHERE id = 1;
    RETURN NULL;
END;
$$""",  # noqa: S608 (the schema name comes from current_schema(), quoted)
        "REVOKE ALL ON FUNCTION clinic_audit_seal() FROM PUBLIC",
        "DROP TRIGGER IF EXISTS clinic_auditevent_seal ON clinic_auditevent",
        "CREATE CONSTRAINT TRIGGER clinic_auditevent_seal AFTER INSERT ON clinic_auditevent "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION clinic_audit_seal()",
    ]


PG_BACKFILL_SQL = [
    # Existing rows, oldest first, then the head. Runs as the owner inside the migration.
    "ALTER TABLE clinic_auditevent DISABLE TRIGGER clinic_auditevent_append_only",
    """
DO $$
DECLARE
    r clinic_auditevent;
    s bigint := 0;
    h text := repeat('0', 64);
    link text;
BEGIN
    FOR r IN SELECT * FROM clinic_auditevent WHERE chain_seq IS NULL ORDER BY id LOOP
        s := s + 1;
        link := clinic_audit_link(r, s, h);
        UPDATE clinic_auditevent SET chain_seq = s, prev_hash = h, row_hash = link WHERE id = r.id;
        h := link;
    END LOOP;
    INSERT INTO clinic_auditchainhead (id, seq, row_hash) VALUES (1, s, h)
        ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, row_hash = EXCLUDED.row_hash;
END;
$$""",
    "ALTER TABLE clinic_auditevent ENABLE TRIGGER clinic_auditevent_append_only",
]

PG_UNINSTALL_SQL = [
    "DROP TRIGGER IF EXISTS clinic_auditevent_seal ON clinic_auditevent",
    "DROP FUNCTION IF EXISTS clinic_audit_seal()",
    "DROP FUNCTION IF EXISTS clinic_audit_link(clinic_auditevent, bigint, text)",
    "DROP FUNCTION IF EXISTS clinic_audit_part(text)",
    # Back to the trigger of migration 0002.
    "DROP TRIGGER IF EXISTS clinic_auditevent_append_only ON clinic_auditevent",
    """
CREATE OR REPLACE FUNCTION clinic_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'clinic_auditevent is append-only';
END;
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER clinic_auditevent_append_only BEFORE UPDATE OR DELETE ON clinic_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION clinic_audit_append_only()",
]


def python_backfill(events: Iterable, *, using: str) -> None:
    """Link existing rows, oldest first (SQLite; the migration's RunPython)."""
    for event in events:
        _seal_in_python(event, using=using)
