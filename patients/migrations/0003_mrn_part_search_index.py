"""Part of an MRN is searched with LIKE '%…%' (patients/search.py); on PostgreSQL a trigram
index serves it. SQLite (the quick start) reads the table."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS patients_patient_mrn_trgm ON patients_patient USING gin (mrn gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patients_patient_mrn_trgm")


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_validators_search_indexes")]

    operations = [migrations.RunPython(create, drop)]
