"""PostgreSQL extensions later migrations rely on: trigram search and GiST exclusion constraints."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")


class Migration(migrations.Migration):
    dependencies = [("clinic", "0002_audit_append_only")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
