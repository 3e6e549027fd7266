"""A patient merge may move a signed encounter to the surviving record; nothing else may.

The read-only trigger of migration 0002 refused every UPDATE of a signed encounter, so a merge
left the duplicate's signed notes behind and the survivor's toxin history incomplete. Now it
lets through exactly one kind of UPDATE: one that changes nothing but ``patient_id``, from the
duplicate to the survivor that the running merge named in the transaction-local setting
``clinic.merge`` ("<duplicate id>:<survivor id>", set by patients.merging.merge_permission).
Any other UPDATE, and every DELETE, of a signed encounter is refused as before. The detail and
child rows keep their own triggers: a merge does not touch them (they hang off the encounter).
"""

from django.db import migrations

PERMIT_MERGE = """
CREATE OR REPLACE FUNCTION treatments_refuse_signed_encounter() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'signed' THEN
        IF TG_OP = 'UPDATE'
           AND NEW.patient_id <> OLD.patient_id
           AND current_setting('clinic.merge', true) = OLD.patient_id::text || ':' || NEW.patient_id::text
           AND (to_jsonb(NEW) - 'patient_id') = (to_jsonb(OLD) - 'patient_id') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'treatments: encounter % is signed and read-only; add an addendum', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

# Migration 0002's function, unchanged.
REFUSE_ALL = """
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
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PERMIT_MERGE, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REFUSE_ALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("treatments", "0005_cosignature")]
    operations = [migrations.RunPython(forward, backward)]
