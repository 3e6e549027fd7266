"""The S3 path, against moto's S3 server started here as its own process (real HTTP): the
upload, the worker's processing and the audited file route all go through django-storages."""

import io
import os
import socket
import subprocess
import sys
import time

import boto3
import pytest
from django.core.files.storage import storages
from django.urls import reverse
from PIL import ExifTags, Image

from tests.photos.conftest import ready_item
from tests.photos.media import jpeg_with_gps

pytestmark = pytest.mark.slow

BUCKET = "clinic-photos-test"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "eu-west-2"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("moto's S3 server did not start")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3(s3_server, settings):
    client = boto3.client("s3", endpoint_url=s3_server, **KEYS)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": KEYS["region_name"]})
    settings.STORAGES = {
        **settings.STORAGES,
        "photos": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": KEYS["region_name"],
                "access_key": KEYS["aws_access_key_id"],
                "secret_key": KEYS["aws_secret_access_key"],
                "default_acl": "private",
                "file_overwrite": False,
                "querystring_auth": True,
                "querystring_expire": 60,
            },
        },
    }
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_upload_processing_and_serving_through_an_s3_bucket(s3, photo_set, surgeon_user, client):
    assert type(storages["photos"]).__name__ == "S3Storage"
    item = ready_item(photo_set, surgeon_user, jpeg_with_gps())

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == sorted([item.main_name, item.screen_name, item.thumb_name])
    assert not any(k.startswith("incoming/") for k in keys)
    # Private objects: the owner's grant only, nothing for AllUsers.
    grants = s3.get_object_acl(Bucket=BUCKET, Key=item.main_name)["Grants"]
    assert all("URI" not in g["Grantee"] for g in grants)
    stored = Image.open(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=item.main_name)["Body"].read()))
    assert dict(stored.getexif()) == {} and stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}

    client.force_login(surgeon_user)
    response = client.get(reverse("photos:file", args=[item.pk]) + "?r=screen")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_a_refused_file_leaves_nothing_in_the_bucket(s3, photo_set, surgeon_user):
    from photos import services
    from tests.photos.conftest import upload
    from tests.photos.media import truncated_jpeg

    item = upload(photo_set, surgeon_user, truncated_jpeg(), "rest.jpg")
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
    assert services.media_process(item_id=item.pk).error_code == "truncated"
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_signed_consent_pdfs_share_the_private_bucket(s3, s3_server, settings, patient, surgeon_user, client):
    """With PHOTOS_STORAGE=s3 the consent PDFs are objects of the same private bucket (under
    private/), written when the clinician countersigns and read back, hash checked, by the view."""
    from consents.models import PatientConsent
    from tests.consents.helpers import signed

    photos_options = settings.STORAGES["photos"]["OPTIONS"]
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**photos_options, "location": "private"},
        },
    }
    consent = signed(patient, surgeon_user)
    assert PatientConsent.objects.get(pk=consent.pk).pdf_sha256
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("private/") and keys[0].endswith(".pdf")
    grants = s3.get_object_acl(Bucket=BUCKET, Key=keys[0])["Grants"]
    assert all("URI" not in g["Grantee"] for g in grants)

    client.force_login(surgeon_user)
    response = client.get(reverse("consents:pdf", args=[consent.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"%PDF")


def test_the_s3_setting_moves_the_consent_pdfs_to_the_bucket_too():
    """The settings module itself: PHOTOS_STORAGE=s3 gives the private storage the bucket too."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.STORAGES['private']['BACKEND'], s.STORAGES['private']['OPTIONS']['location'], "
        "s.STORAGES['private']['OPTIONS']['bucket_name'])"
    )
    env = {
        **os.environ,
        "PHOTOS_STORAGE": "s3",
        "PHOTOS_S3_BUCKET": "clinic-files",
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.split() == ["storages.backends.s3.S3Storage", "private", "clinic-files"], (
        result.stderr
    )
