"""The API: multipart upload with the pages' checks, list, detail, file; FHIR Media."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from photos import services
from photos.models import MediaItem
from tests.photos.conftest import ready_item, stored_files
from tests.photos.media import plain_jpeg, png_bytes, truncated_jpeg


def test_a_set_is_created_and_files_uploaded_through_the_api(surgeon, patient, photo_root):
    response = surgeon.post(
        reverse("api:photo-set-list"),
        {"patient": patient.pk, "taken_at": timezone.now().isoformat(), "note": "Toxin review"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    set_id = response.json()["id"]

    response = surgeon.post(
        reverse("api:media-item-list"),
        {"photo_set": set_id, "view": "smile", "file": SimpleUploadedFile("smile.jpg", plain_jpeg())},
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["files"] == {}
    services.media_process(item_id=body["id"])

    detail = surgeon.get(reverse("api:media-item-detail", args=[body["id"]])).json()
    assert detail["status"] == "ready"
    file_url = detail["files"]["screen"]
    response = surgeon.get(file_url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"

    listed = surgeon.get(reverse("api:photo-set-list"), {"patient": patient.pk}).json()
    assert [i["view"] for i in listed["results"][0]["items"]] == ["smile"]


def test_the_api_refuses_bad_files_with_the_same_codes(surgeon, photo_set, photo_root, settings):
    url = reverse("api:media-item-list")
    response = surgeon.post(
        url,
        {"photo_set": photo_set.pk, "view": "rest", "file": SimpleUploadedFile("rest.jpg", png_bytes())},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "type_mismatch"

    settings.PHOTOS_MAX_IMAGE_BYTES = settings.PHOTOS_MAX_VIDEO_BYTES = 2000
    response = surgeon.post(
        url,
        {
            "photo_set": photo_set.pk,
            "view": "rest",
            "file": SimpleUploadedFile("rest.jpg", plain_jpeg((900, 700))),
        },
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert MediaItem.objects.count() == 0 and stored_files(photo_root) == []

    settings.PHOTOS_MAX_IMAGE_BYTES = settings.PHOTOS_MAX_VIDEO_BYTES = 10**7
    response = surgeon.post(
        url,
        {"photo_set": photo_set.pk, "view": "rest", "file": SimpleUploadedFile("rest.jpg", truncated_jpeg())},
        format="multipart",
    )
    assert response.status_code == 202
    services.media_process(item_id=response.json()["id"])
    detail = surgeon.get(reverse("api:media-item-detail", args=[response.json()["id"]])).json()
    assert (detail["status"], detail["error_code"]) == ("rejected", "truncated")


def test_front_desk_and_manager_cannot_upload(front_desk, manager, photo_set):
    for client in (front_desk, manager):
        response = client.post(
            reverse("api:media-item-list"),
            {"photo_set": photo_set.pk, "view": "rest", "file": SimpleUploadedFile("rest.jpg", plain_jpeg())},
            format="multipart",
        )
        assert response.status_code == 403
    assert MediaItem.objects.count() == 0


def test_fhir_export_holds_a_media_resource_per_ready_item(surgeon, photo_set, surgeon_user):
    item = ready_item(photo_set, surgeon_user, plain_jpeg(), view="lip_pucker")
    bundle = surgeon.get(f"/api/v1/fhir/Patient/{photo_set.patient_id}/$everything").json()
    media = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Media"]
    assert len(media) == 1
    assert media[0]["view"]["coding"][0]["code"] == "lip_pucker"
    assert media[0]["subject"] == {"reference": f"Patient/{photo_set.patient_id}"}
    assert media[0]["content"]["url"].startswith(f"/photos/media/{item.pk}/file/")

    single = surgeon.get(f"/api/v1/fhir/Media/{item.pk}")
    assert single.status_code == 200 and single.json()["id"] == str(item.pk)

    from fhir.resources.R4B.media import Media

    Media.model_validate(media[0])


def test_an_item_is_deleted_through_the_api_with_a_reason(surgeon, photo_set, surgeon_user):
    item = ready_item(photo_set, surgeon_user, plain_jpeg())
    url = reverse("api:media-item-delete", args=[item.pk])
    response = surgeon.post(url, {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = surgeon.post(url, {"reason": "Blurred"}, format="json")
    assert response.status_code == 204
    assert surgeon.get(reverse("api:media-item-detail", args=[item.pk])).status_code == 404
