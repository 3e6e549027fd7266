"""The audit trail's hash chain (clinic.audit_chain): link columns, the chain head, the sealing
trigger on PostgreSQL, and links for the rows already there, oldest first."""

from django.db import migrations, models

from clinic import audit_chain


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            schema = connection.ops.quote_name(cursor.fetchone()[0])
        for statement in [*audit_chain.pg_install_sql(schema), *audit_chain.PG_BACKFILL_SQL]:
            schema_editor.execute(statement, params=None)
        return
    AuditEvent = apps.get_model("clinic", "AuditEvent")
    using = connection.alias
    audit_chain.python_backfill(
        AuditEvent.objects.using(using).filter(chain_seq__isnull=True).order_by("id").iterator(), using=using
    )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in audit_chain.PG_UNINSTALL_SQL:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0011_api_token")]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("seq", models.BigIntegerField(default=0)),
                ("row_hash", models.CharField(max_length=64)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_seq",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="row_hash",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("chain_seq__isnull", True)), fields=["id"], name="clinic_audit_unsealed"
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
