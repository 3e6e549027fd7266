"""The set's measurements page and its correction form (without JavaScript), and the hook that
measures a photograph once the photos worker has made it ready."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clinic.celery import app as celery_app
from landmarks.models import FaceLandmarks
from photos import services as photos
from tests.landmarks.conftest import measured
from tests.landmarks.portraits import jpeg, portrait

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_in_process():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_a_ready_standard_view_is_measured_by_the_task_after_the_commit(
    photo_set, surgeon_user, worker_in_process, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("smile.jpg", jpeg(portrait(1)), "image/jpeg")
    item = photos.media_upload(
        photo_set=photo_set, actor=surgeon_user, upload=upload, view="smile", enqueue=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        photos.media_process(item_id=item.pk)
    assert FaceLandmarks.objects.get(media_item=item).status == FaceLandmarks.Status.FOUND


def test_the_page_shows_the_landmarks_the_aid_warning_and_a_refusal(photo_set, surgeon_user, client):
    found = measured(photo_set, surgeon_user, portrait(), view="rest")
    measured(photo_set, surgeon_user, np.full((300, 300, 3), 90, np.uint8), view="smile")
    client.force_login(surgeon_user)
    page = client.get(reverse("landmarks:set", args=[photo_set.pk])).content.decode()
    assert "These measurements are aids" in page
    assert page.count('class="landmark"') == len(found.points)
    assert "No face found: No face was found on this photograph" in page
    assert 'data-key="commissure_height"' in page


def test_the_form_moves_a_point_and_refuses_one_outside_the_photograph(photo_set, surgeon_user, client):
    found = measured(photo_set, surgeon_user, portrait(), view="rest")
    client.force_login(surgeon_user)
    url = reverse("landmarks:correct", args=[found.pk])
    x, y = found.points["brow_right"]
    response = client.post(url, {"name": "brow_right", "x": x, "y": y - 5}, follow=True)
    assert "Right brow moved; the measurements were made again." in response.content.decode()
    found.refresh_from_db()
    assert found.points["brow_right"][1] == round(y - 5, 2)
    response = client.post(url, {"name": "brow_right", "x": 99999, "y": 1}, follow=True)
    assert "The point must lie within the 1024 by 1024 pixel photograph." in response.content.decode()
    answer = client.post(url, {"name": "nose", "x": 1, "y": 1}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 400 and answer.json()["code"] == "landmark_unknown"


def test_the_command_measures_photographs_that_have_no_landmarks(photo_set, surgeon_user):
    from io import StringIO

    from django.core.management import call_command

    upload = SimpleUploadedFile("rest.jpg", jpeg(portrait(1)), "image/jpeg")
    item = photos.media_upload(
        photo_set=photo_set, actor=surgeon_user, upload=upload, view="rest", enqueue=False
    )
    photos.media_process(item_id=item.pk)
    out = StringIO()
    call_command("measure_photographs", stdout=out)
    assert "1 photograph(s) measured." in out.getvalue()
    assert FaceLandmarks.objects.get(media_item=item).is_found
    call_command("measure_photographs", stdout=out)
    assert "0 photograph(s) measured." in out.getvalue()
