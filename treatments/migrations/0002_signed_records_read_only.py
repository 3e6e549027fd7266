"""On PostgreSQL, the database itself keeps signed encounters read-only.

- A signed encounter row cannot be updated or deleted.
- The detail and child rows of a signed encounter (toxin session and its injections, therapy
  visit and its exercises, surgery and its procedures, ...) cannot be inserted, updated or
  deleted. Their encounter id is found through the column named in the trigger's argument.
- Addenda are append-only.
- A toxin session's lot is a lot of the session's product, and a lot that has been used keeps
  its product.

The services check all of this first to give a friendly error; these triggers are the backstop
against a bug or a raw query. They raise integrity errors (SQLSTATE 23001 / 23514), which Django
surfaces as IntegrityError. SQLite (the quick start) relies on the services alone.
"""

from django.db import migrations

# (table, column holding the encounter id)
CHILD_TABLES = [
    ("treatments_consultation", "encounter_id"),
    ("treatments_followup", "encounter_id"),
    ("treatments_toxinsession", "encounter_id"),
    ("treatments_therapyvisit", "encounter_id"),
    ("treatments_surgery", "encounter_id"),
    ("treatments_injection", "session_id"),
    ("treatments_homeexercise", "visit_id"),
    ("treatments_synkinesispattern", "visit_id"),
    ("treatments_injectorrecommendation", "visit_id"),
    ("treatments_procedure", "surgery_id"),
    ("treatments_complication", "surgery_id"),
    ("treatments_followupplanitem", "surgery_id"),
]

FUNCTIONS = """
CREATE OR REPLACE FUNCTION treatments_refuse_signed_encounter() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        RAISE EXCEPTION 'treatments: encounter % is signed and read-only; add an addendum', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION treatments_refuse_signed_child() RETURNS trigger AS $$
DECLARE
    encounter_ids bigint[] := ARRAY[]::bigint[];
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        encounter_ids := encounter_ids || (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        encounter_ids := encounter_ids || (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
    END IF;
    IF EXISTS (
        SELECT 1 FROM treatments_encounter WHERE id = ANY(encounter_ids) AND status = 'signed'
    ) THEN
        RAISE EXCEPTION 'treatments: % of a signed encounter is read-only', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION treatments_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'treatments: % is append-only', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION treatments_session_lot_matches_product() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM treatments_toxinlot WHERE id = NEW.lot_id AND product = NEW.product) THEN
        RAISE EXCEPTION 'treatments: lot % is not a lot of %', NEW.lot_id, NEW.product
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION treatments_used_lot_keeps_product() RETURNS trigger AS $$
BEGIN
    IF NEW.product <> OLD.product
       AND EXISTS (SELECT 1 FROM treatments_toxinsession WHERE lot_id = OLD.id) THEN
        RAISE EXCEPTION 'treatments: lot % has been used; its product cannot change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER treatments_encounter_signed_read_only
    BEFORE UPDATE OR DELETE ON treatments_encounter
    FOR EACH ROW EXECUTE FUNCTION treatments_refuse_signed_encounter();
CREATE TRIGGER treatments_addendum_append_only
    BEFORE UPDATE OR DELETE ON treatments_addendum
    FOR EACH ROW EXECUTE FUNCTION treatments_refuse_change();
CREATE TRIGGER treatments_toxinsession_lot_product
    BEFORE INSERT OR UPDATE OF lot_id, product ON treatments_toxinsession
    FOR EACH ROW EXECUTE FUNCTION treatments_session_lot_matches_product();
CREATE TRIGGER treatments_toxinlot_used_keeps_product
    BEFORE UPDATE OF product ON treatments_toxinlot
    FOR EACH ROW EXECUTE FUNCTION treatments_used_lot_keeps_product();
"""

DROP_FUNCTIONS = """
DROP TRIGGER IF EXISTS treatments_encounter_signed_read_only ON treatments_encounter;
DROP TRIGGER IF EXISTS treatments_addendum_append_only ON treatments_addendum;
DROP TRIGGER IF EXISTS treatments_toxinsession_lot_product ON treatments_toxinsession;
DROP TRIGGER IF EXISTS treatments_toxinlot_used_keeps_product ON treatments_toxinlot;
"""

DROP_FUNCTIONS_AFTER = """
DROP FUNCTION IF EXISTS treatments_refuse_signed_encounter();
DROP FUNCTION IF EXISTS treatments_refuse_signed_child();
DROP FUNCTION IF EXISTS treatments_refuse_change();
DROP FUNCTION IF EXISTS treatments_session_lot_matches_product();
DROP FUNCTION IF EXISTS treatments_used_lot_keeps_product();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS, params=None)
    for table, column in CHILD_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_signed_read_only BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION treatments_refuse_signed_child('{column}');"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _column in CHILD_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_signed_read_only ON {table};")
    schema_editor.execute(DROP_FUNCTIONS)
    schema_editor.execute(DROP_FUNCTIONS_AFTER)


class Migration(migrations.Migration):
    dependencies = [("treatments", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
