"""Btree indexes on the folded names (lower case, accents removed), for the first stage of name
search: exact and prefix matches read in alphabetical order (patients/search.py).

PostgreSQL only. ``patients_fold`` must stay identical to search.Fold, and the index expressions
to ``Fold(F("last_name"))`` / ``Fold(F("first_name"))``, or the planner cannot use them.
"""

from django.db import migrations

INDEXES = """
CREATE INDEX IF NOT EXISTS patients_patient_last_fold ON patients_patient
    ((patients_fold(last_name) COLLATE "C"), (patients_fold(first_name) COLLATE "C"), id);
CREATE INDEX IF NOT EXISTS patients_patient_first_fold ON patients_patient
    ((patients_fold(first_name) COLLATE "C"), (patients_fold(last_name) COLLATE "C"), id);
"""

DROP = """
DROP INDEX IF EXISTS patients_patient_last_fold;
DROP INDEX IF EXISTS patients_patient_first_fold;
DROP FUNCTION IF EXISTS patients_fold(text);
"""



def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'unaccent'"
        )
        schema = cursor.fetchone()[0]
    quoted = schema_editor.connection.ops.quote_name(schema)
    # unaccent() is only STABLE (its dictionary could change); with the dictionary named, the
    # result depends on the text alone, which is what an index expression needs. Not inlined
    # (its body is less strict than the function), so the index expression stays as written.
    schema_editor.execute(
        "CREATE OR REPLACE FUNCTION patients_fold(text) RETURNS text"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
        f" AS $$ SELECT lower({quoted}.unaccent('{quoted}.unaccent'::regdictionary, $1)) $$"
    )
    schema_editor.execute(INDEXES)
    # dmetaphone() is declared as cheap as an operator (cost 1). Under a LIMIT the planner then
    # prefers to read the table in order, computing it for every row, until enough match (70 ms
    # for a common sound at a million patients) over the phonetic indexes (a few ms). Its real
    # cost is about a hundred operators'. Only the function's owner may say so: where the
    # extension belongs to another role, skip (docs/patients.md).
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname = 'dmetaphone'"
            " AND pg_has_role(p.proowner, 'USAGE')"
        )
        for (signature,) in cursor.fetchall():
            schema_editor.execute(f"ALTER FUNCTION {signature} COST 100")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("patients", "0004_recipient_emails")]
    operations = [migrations.RunPython(create, drop)]
