"""Private calendar-feed tokens for providers and rooms.

Added nullable first and filled row by row: a callable default in AddField is evaluated once,
which would give every existing row the same (unique) token.
"""

from django.db import migrations, models

import scheduling.models


def fill_tokens(apps, schema_editor):
    for name in ("Provider", "Room"):
        model = apps.get_model("scheduling", name)
        for row in model.objects.filter(calendar_feed_token__isnull=True).only("pk"):
            model.objects.filter(pk=row.pk).update(calendar_feed_token=scheduling.models.new_feed_token())


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0005_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="provider",
            name="calendar_feed_token",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="room",
            name="calendar_feed_token",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="provider",
            name="calendar_feed_token",
            field=models.CharField(
                default=scheduling.models.new_feed_token, editable=False, max_length=64, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="room",
            name="calendar_feed_token",
            field=models.CharField(
                default=scheduling.models.new_feed_token, editable=False, max_length=64, unique=True
            ),
        ),
    ]
