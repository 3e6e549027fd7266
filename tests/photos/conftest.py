import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from photos import services
from tests.factories import PatientFactory


@pytest.fixture(autouse=True)
def photo_root(settings, tmp_path):
    """A private directory of this test's own for the photos storage."""
    root = tmp_path / "photos"
    settings.STORAGES = {
        **settings.STORAGES,
        "photos": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": "/nowhere/"},
        },
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return root


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture
def photo_set(patient, surgeon_user):
    return services.photo_set_create(patient=patient, actor=surgeon_user, taken_at=timezone.now())


def upload(photo_set, actor, data: bytes, name: str, view: str = "rest", content_type: str = "image/jpeg"):
    return services.media_upload(
        photo_set=photo_set, actor=actor, upload=SimpleUploadedFile(name, data, content_type), view=view
    )


def ready_item(photo_set, actor, data: bytes, name: str = "photo.jpg", view: str = "rest"):
    item = upload(photo_set, actor, data, name, view)
    return services.media_process(item_id=item.pk)
