import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from landmarks import services as landmarks
from photos import services as photos
from tests.factories import PatientFactory
from tests.landmarks.portraits import jpeg


@pytest.fixture
def patient(db):
    return PatientFactory(affected_side="left")


@pytest.fixture
def photo_set(patient, surgeon_user):
    return photos.photo_set_create(patient=patient, actor=surgeon_user, taken_at=timezone.now())


def measured(photo_set, actor, pixels, view: str = "rest"):
    """A photograph uploaded and processed as the worker would, then its landmarks found (the
    Celery task's function, called in this process)."""
    upload = SimpleUploadedFile(f"{view}.jpg", jpeg(pixels), "image/jpeg")
    item = photos.media_upload(photo_set=photo_set, actor=actor, upload=upload, view=view, enqueue=False)
    item = photos.media_process(item_id=item.pk)
    return landmarks.landmarks_detect(item_id=item.pk)
