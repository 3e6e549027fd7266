"""Co-signatures of signed encounters; on PostgreSQL they are append-only, as addenda are
(treatments_refuse_change() comes from 0002)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


APPEND_ONLY = """
CREATE TRIGGER treatments_cosignature_append_only
    BEFORE UPDATE OR DELETE ON treatments_cosignature
    FOR EACH ROW EXECUTE FUNCTION treatments_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS treatments_cosignature_append_only ON treatments_cosignature;", params=None
        )


class Migration(migrations.Migration):

    dependencies = [
        ('treatments', '0004_product_interval_and_findings'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Cosignature',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cosigned_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('note', models.TextField(blank=True)),
                ('cosigned_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('encounter', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cosignatures', to='treatments.encounter')),
            ],
            options={
                'ordering': ['cosigned_at', 'id'],
                'constraints': [models.UniqueConstraint(fields=('encounter', 'cosigned_by'), name='treatments_cosignature_once_per_clinician')],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
