"""Bad files are refused with a clear error and leave nothing stored; good ones lose their
metadata (GPS included) after their orientation is applied."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from PIL import ExifTags, Image

from clinic.models import AuditEvent
from photos import services, views
from photos.models import MediaItem
from photos.processing import MediaRefused
from photos.storage import photo_storage
from tests.photos.conftest import ready_item, stored_files, upload
from tests.photos.media import jpeg_with_gps, plain_jpeg, png_bytes, truncated_jpeg


def _read_back(name: str) -> Image.Image:
    with photo_storage().open(name, "rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        image.load()
        return image


def test_gps_and_every_exif_tag_are_gone_after_the_orientation_is_applied(
    photo_set, surgeon_user, photo_root
):
    item = ready_item(photo_set, surgeon_user, jpeg_with_gps(orientation=6, size=(400, 300)))

    assert item.status == MediaItem.Status.READY
    for rendition in ("main", "screen", "thumb"):
        stored = _read_back(item.rendition_name(rendition))
        exif = stored.getexif()
        assert dict(exif) == {}, rendition
        assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert "exif" not in stored.info and "xmp" not in stored.info
    main = _read_back(item.main_name)
    # Orientation 6 is "rotate 90° clockwise": the landscape original is now portrait, and its
    # red corner marker moved from the top left to the top right.
    assert main.size == (300, 400)
    assert main.getpixel((280, 10))[0] > 200 and main.getpixel((10, 10))[0] < 230
    assert (item.width, item.height) == (300, 400)
    # The upload itself is gone: only the processed files remain.
    assert not any(name.startswith("incoming/") for name in stored_files(photo_root))
    assert len(stored_files(photo_root)) == 3


def test_a_png_named_jpg_is_refused_and_nothing_is_stored(photo_set, surgeon_user, photo_root):
    with pytest.raises(MediaRefused) as refused:
        upload(photo_set, surgeon_user, png_bytes(), "smile.jpg")
    assert refused.value.code == "type_mismatch"
    assert "PNG" in refused.value.detail and ".jpg" in refused.value.detail
    assert MediaItem.objects.count() == 0
    assert stored_files(photo_root) == []


def test_a_file_that_is_no_image_is_refused_whatever_its_name(photo_set, surgeon_user, photo_root):
    with pytest.raises(MediaRefused) as refused:
        upload(photo_set, surgeon_user, b"%PDF-1.7 not a photograph" * 20, "rest.jpg")
    assert refused.value.code == "unsupported_type"
    assert stored_files(photo_root) == []


def test_the_type_comes_from_the_content_not_the_name(photo_set, surgeon_user):
    item = ready_item(photo_set, surgeon_user, png_bytes(), name="snarl.png", view="snarl")
    assert item.content_type == "image/png" and item.status == MediaItem.Status.READY
    assert _read_back(item.main_name).format == "JPEG"


def test_a_truncated_jpeg_is_rejected_with_a_clear_error_and_leaves_no_file(
    photo_set, surgeon_user, photo_root
):
    item = upload(photo_set, surgeon_user, truncated_jpeg(), "rest.jpg")
    assert stored_files(photo_root) == [item.incoming_name]

    item = services.media_process(item_id=item.pk)

    assert item.status == MediaItem.Status.REJECTED
    assert item.error_code == "truncated"
    assert "incomplete" in item.error
    assert stored_files(photo_root) == []
    assert AuditEvent.objects.filter(action="media.refused", target_id=str(item.pk)).exists()


def test_a_failed_job_keeps_the_upload_and_a_retry_finishes_it(photo_set, surgeon_user, photo_root):
    item = upload(photo_set, surgeon_user, plain_jpeg(), "rest.jpg")
    # The storage loses the upload for a moment (a network share, a bucket's hiccup).
    data = photo_storage().open(item.incoming_name, "rb").read()
    photo_storage().delete(item.incoming_name)
    with pytest.raises(services.TransientFailure):
        services.media_process(item_id=item.pk)
    item.refresh_from_db()
    assert item.status == MediaItem.Status.FAILED and item.incoming_name
    assert stored_files(photo_root) == []

    photo_storage().save(item.incoming_name, io.BytesIO(data))
    services.media_retry(item=item, actor=surgeon_user)
    item = services.media_process(item_id=item.pk)
    assert item.status == MediaItem.Status.READY and item.attempts == 2


class ExplodingStream:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_an_oversized_upload_is_refused_before_its_body_is_read(photo_set, surgeon_user, settings):
    settings.PHOTOS_MAX_IMAGE_BYTES = settings.PHOTOS_MAX_VIDEO_BYTES = 10 * 1024 * 1024
    request = RequestFactory().generic(
        "POST", f"/photos/sets/{photo_set.pk}/upload/", b"", content_type="multipart/form-data; boundary=x"
    )
    request.META["CONTENT_LENGTH"] = str(500 * 1024 * 1024)
    request._stream = ExplodingStream()
    request.user = surgeon_user

    response = views.upload(request, pk=photo_set.pk)

    assert response.status_code == 413
    assert b'"code": "too_large"' in response.content
    assert MediaItem.objects.count() == 0


def test_a_body_growing_past_the_limit_is_stopped_while_it_arrives(
    photo_set, surgeon_user, settings, client, photo_root
):
    # Within the declared-size allowance (limit + multipart envelope), so the streaming handler
    # is what stops it.
    settings.PHOTOS_MAX_IMAGE_BYTES = settings.PHOTOS_MAX_VIDEO_BYTES = 2000
    client.force_login(surgeon_user)
    big = SimpleUploadedFile("rest.jpg", plain_jpeg(size=(1200, 900)), "image/jpeg")
    assert 2000 < big.size < 60 * 1024

    response = client.post(f"/photos/sets/{photo_set.pk}/upload/", {"file": big, "view": "rest"})

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert MediaItem.objects.count() == 0
    assert stored_files(photo_root) == []


def test_the_capture_page_upload_answers_each_refusal_with_its_code(photo_set, surgeon_user, client):
    client.force_login(surgeon_user)
    url = f"/photos/sets/{photo_set.pk}/upload/"
    png = SimpleUploadedFile("smile.jpg", png_bytes(), "image/jpeg")
    response = client.post(url, {"file": png, "view": "smile"})
    assert response.status_code == 400
    assert response.json()["code"] == "type_mismatch"
    assert response.json()["fields"]["file"]

    ok = SimpleUploadedFile("smile.jpg", plain_jpeg(), "image/jpeg")
    response = client.post(url, {"file": ok, "view": "nonsense"})
    assert response.status_code == 400 and "view" in response.json()["fields"]

    response = client.post(url, {"file": SimpleUploadedFile("smile.jpg", plain_jpeg()), "view": "smile"})
    assert response.status_code == 202
    assert MediaItem.objects.get(pk=response.json()["id"]).status == MediaItem.Status.PENDING


def test_a_truncated_jpeg_is_refused_even_after_weasyprint_relaxed_pillow(settings):
    """WeasyPrint (the consent PDFs) turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process;
    a cut-off photograph is refused all the same, and the flag is left as it was."""
    import weasyprint  # noqa: F401 (imported for its side effect on Pillow)
    from PIL import ImageFile

    from photos.processing import MediaRefused, process_image
    from tests.photos.media import plain_jpeg

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    data = plain_jpeg()
    with pytest.raises(MediaRefused) as refused:
        process_image(data[: len(data) // 2])
    assert refused.value.code == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
