"""The demo data's registry: which records the demo created, by stable key (``DemoRecord``).

Each app's ``demo.py`` creates a record only when its key is missing, marks it at once, and
touches nothing else: clinical histories, bookings and recalls go only to patients that the
registry lists, so a patient registered through the app never receives demo records.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import DemoRecord


def demo_get(model: type[models.Model], key: str):
    """The demo's record under ``key``, or None."""
    row = DemoRecord.objects.filter(key=key, content_type=ContentType.objects.get_for_model(model)).first()
    if row is None:
        return None
    return model._default_manager.filter(pk=row.object_id).first()


def demo_mark(instance: models.Model, key: str) -> None:
    """Record that the demo created ``instance`` under ``key``."""
    DemoRecord.objects.create(
        key=key, content_type=ContentType.objects.get_for_model(type(instance)), object_id=instance.pk
    )


def demo_mark_many(pairs: list[tuple[models.Model, str]]) -> None:
    """``demo_mark`` for many records of one or more models at once."""
    DemoRecord.objects.bulk_create(
        DemoRecord(key=key, content_type=ContentType.objects.get_for_model(type(obj)), object_id=obj.pk)
        for obj, key in pairs
    )


def demo_ids(model: type[models.Model], *, prefix: str = "") -> models.QuerySet:
    """The ids of the demo's records of ``model`` (keys starting with ``prefix``), as a subquery."""
    rows = DemoRecord.objects.filter(content_type=ContentType.objects.get_for_model(model))
    if prefix:
        rows = rows.filter(key__startswith=prefix)
    return rows.values("object_id")


def demo_has(key: str) -> bool:
    return DemoRecord.objects.filter(key=key).exists()
