"""Retention: the practice manager sets how long a deleted photograph's files are kept; the
nightly purge removes them after that, and the record of the deletion stays."""

from datetime import timedelta

import time_machine

from clinic.models import AuditEvent
from photos import services
from photos.models import MediaItem
from tests.photos.media import plain_jpeg

from .conftest import ready_item, stored_files


def test_the_managers_retention_setting_decides_when_deleted_files_go(
    photo_set, surgeon_user, photo_root, manager
):
    item = ready_item(photo_set, surgeon_user, plain_jpeg())
    assert stored_files(photo_root)
    services.media_delete(item=item, actor=surgeon_user, reason="Taken of the wrong side")
    deleted_at = MediaItem.objects.get(pk=item.pk).deleted_at

    # The manager keeps deleted files for 10 days instead of the default 30.
    response = manager.patch("/api/v1/clinic-settings/", {"photo_retention_days": 10}, format="json")
    assert response.status_code == 200 and response.json()["photo_retention_days"] == 10

    with time_machine.travel(deleted_at + timedelta(days=9), tick=False):
        assert services.media_purge() == 0
    assert stored_files(photo_root)
    with time_machine.travel(deleted_at + timedelta(days=11), tick=False):
        assert services.media_purge() == 1
        assert services.media_purge() == 0  # once
    assert stored_files(photo_root) == []
    gone = MediaItem.objects.get(pk=item.pk)
    assert gone.files_purged_at is not None and gone.deletion_reason == "Taken of the wrong side"
    assert AuditEvent.objects.filter(action="media.purged", target_id=str(item.pk)).count() == 1


def test_the_retention_setting_refuses_what_is_out_of_range(manager):
    response = manager.patch("/api/v1/clinic-settings/", {"photo_retention_days": 0}, format="json")
    assert response.status_code == 400 and "photo_retention_days" in response.json()["fields"]
    assert manager.get("/api/v1/clinic-settings/").json()["photo_retention_days"] == 30
