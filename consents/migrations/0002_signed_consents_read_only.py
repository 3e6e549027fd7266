"""On PostgreSQL, the database itself keeps consent form versions and signed consents as signed.

- A template version (consents_consenttemplate) is never updated or deleted: an edit is a new
  version.
- A consent is never deleted. A patient merge may move it to the surviving record (only its
  patient changes, and only inside the merge: patients.merging). Once countersigned (status "signed"), only its withdrawal may be
  recorded: the status may go to "withdrawn" and the withdrawal columns be filled, nothing else
  changes. A withdrawn consent changes no more.

The services check this first and give a friendly error; the triggers are the backstop against a
bug or a raw query (SQLSTATE 23001, IntegrityError in Django). SQLite relies on the services.
"""

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION consents_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consents: % rows are never changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION consents_signed_consent_read_only() RETURNS trigger AS $$
DECLARE
    withdrawal text[] := ARRAY['status', 'withdrawn_at', 'withdrawn_by_id', 'withdrawal_reason', 'withdrawal_via'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'consents: consent % is never deleted', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    -- A patient merge (patients.merging) moves the duplicate's consents to the survivor: an
    -- UPDATE of nothing but patient_id, from and to the patients the running merge named.
    IF NEW.patient_id <> OLD.patient_id
       AND current_setting('clinic.merge', true) = OLD.patient_id::text || ':' || NEW.patient_id::text
       AND (to_jsonb(NEW) - 'patient_id') = (to_jsonb(OLD) - 'patient_id') THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'withdrawn' THEN
        RAISE EXCEPTION 'consents: consent % is withdrawn and read-only', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.status = 'signed' AND (
        NEW.status NOT IN ('signed', 'withdrawn')
        OR (to_jsonb(NEW) - withdrawal) IS DISTINCT FROM (to_jsonb(OLD) - withdrawal)
    ) THEN
        RAISE EXCEPTION 'consents: consent % is signed; only its withdrawal can be recorded', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consents_template_never_changes
    BEFORE UPDATE OR DELETE ON consents_consenttemplate
    FOR EACH ROW EXECUTE FUNCTION consents_refuse_change();
CREATE TRIGGER consents_signed_consent_read_only
    BEFORE UPDATE OR DELETE ON consents_patientconsent
    FOR EACH ROW EXECUTE FUNCTION consents_signed_consent_read_only();
"""

DROP = """
DROP TRIGGER IF EXISTS consents_template_never_changes ON consents_consenttemplate;
DROP TRIGGER IF EXISTS consents_signed_consent_read_only ON consents_patientconsent;
DROP FUNCTION IF EXISTS consents_refuse_change();
DROP FUNCTION IF EXISTS consents_signed_consent_read_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_consent_templates_and_patient_consents")]

    operations = [migrations.RunPython(forwards, backwards)]
