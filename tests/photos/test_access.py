"""Files reach a browser only through the permission-checked, audited, uncached route: front
desk, manager and anonymous get none of them, nor any photo page."""

import pytest
from django.urls import reverse

from clinic.models import AuditEvent
from tests.photos.conftest import ready_item
from tests.photos.media import jpeg_with_gps


@pytest.fixture
def item(photo_set, surgeon_user):
    return ready_item(photo_set, surgeon_user, jpeg_with_gps())


def _pages(item):
    patient_id = item.photo_set.patient_id
    return [
        reverse("photos:file", args=[item.pk]) + "?r=main",
        reverse("photos:file", args=[item.pk]) + "?r=thumb",
        reverse("photos:item", args=[item.pk]),
        reverse("photos:set", args=[item.photo_set_id]),
        reverse("photos:patient", args=[patient_id]),
        reverse("photos:compare", args=[patient_id]),
        reverse("photos:grid", args=[patient_id]),
        reverse("photos:consent", args=[patient_id]),
        reverse("photos:teaching_export"),
        reverse("api:media-item-file", args=[item.pk]),
        reverse("api:media-item-detail", args=[item.pk]),
        reverse("api:photo-set-list"),
    ]


@pytest.mark.parametrize("persona", ["front_desk_user", "manager_user", None])
def test_front_desk_manager_and_anonymous_get_nothing(persona, item, client, request):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    before = AuditEvent.objects.filter(action="media.viewed").count()
    for url in _pages(item):
        response = client.get(url)
        if persona is None:
            assert response.status_code in (302, 401, 403), url
            if response.status_code == 302:
                assert response["Location"].startswith("/login/"), url
        else:
            assert response.status_code == 403, url
        assert b"\xff\xd8" not in response.content[:4], url
    assert AuditEvent.objects.filter(action="media.viewed").count() == before


@pytest.mark.parametrize("persona", ["surgeon_user", "injector_user", "therapist_user"])
def test_clinicians_see_the_files_uncached_and_every_fetch_is_audited(persona, item, client, request):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    for rendition in ("main", "screen", "thumb"):
        response = client.get(reverse("photos:file", args=[item.pk]) + f"?r={rendition}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "no-store"
        assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    events = AuditEvent.objects.filter(action="media.viewed", actor=user, target_id=str(item.pk))
    assert sorted(e.changes["rendition"] for e in events) == ["main", "screen", "thumb"]
    assert {e.patient_id for e in events} == {item.photo_set.patient_id}


def test_no_url_of_the_storage_reaches_a_page(item, client, surgeon_user, settings, photo_root):
    client.force_login(surgeon_user)
    html = client.get(reverse("photos:set", args=[item.photo_set_id])).content.decode()
    assert item.main_name not in html and str(photo_root) not in html and "/nowhere/" not in html
    assert reverse("photos:file", args=[item.pk]) in html


def test_a_deleted_item_is_no_longer_served(item, client, surgeon_user):
    client.force_login(surgeon_user)
    response = client.post(reverse("photos:item_delete", args=[item.pk]), {"reason": "Wrong patient's photo"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.deleted_by == surgeon_user and item.deletion_reason == "Wrong patient's photo"
    assert client.get(reverse("photos:file", args=[item.pk]) + "?r=main").status_code == 404
    assert AuditEvent.objects.filter(action="media.deleted", target_id=str(item.pk)).exists()


def test_deleting_needs_a_reason(item, client, surgeon_user):
    client.force_login(surgeon_user)
    client.post(reverse("photos:item_delete", args=[item.pk]), {"reason": " "})
    item.refresh_from_db()
    assert item.deleted_at is None
