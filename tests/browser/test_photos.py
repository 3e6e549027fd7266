"""A clinician takes an eight-view photo set (the files uploaded through the page, several at
once, with progress), compares it with an earlier set with the arrow keys, and opens the
before and after of a surgery."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from clinic.celery import app as celery_app
from clinic.models import AuditEvent
from devtools.demo.photos import draw_face
from photos import services
from photos.models import STANDARD_VIEWS, MediaItem, PhotoSet
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory
from tests.treatments.factories import record_surgery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_in_process():
    """Processing runs in the web request that queued it (no worker process in this test)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _earlier_set(patient, surgeon, taken_at):
    photo_set = services.photo_set_create(patient=patient, actor=surgeon, taken_at=taken_at)
    for view in STANDARD_VIEWS:
        data = draw_face(view, weak=0.7, affected="left", label="before")
        upload = SimpleUploadedFile(f"{view}.jpg", data, "image/jpeg")
        item = services.media_upload(
            photo_set=photo_set, actor=surgeon, upload=upload, view=view, enqueue=False
        )
        services.media_process(item_id=item.pk)
    return photo_set


def test_clinician_uploads_eight_views_compares_dates_and_opens_the_before_and_after(
    page, clinic, tmp_path, worker_in_process
):
    surgeon = clinic.surgeon.user
    patient = PatientFactory(first_name="Niamh", last_name="Byrne", affected_side="left")
    earlier = _earlier_set(patient, surgeon, timezone.now() - timedelta(days=120))
    surgery = record_surgery(patient, surgeon, started_at=timezone.now() - timedelta(days=60))
    files = []
    for n, view in enumerate(STANDARD_VIEWS, start=1):
        path = tmp_path / f"IMG_{n:04d}.jpg"
        path.write_bytes(draw_face(view, weak=0.3, affected="left", label="after"))
        files.append(str(path))
    login(page, surgeon)

    page.goto(f"{page.base}/photos/patients/{patient.pk}/")
    page.get_by_role("link", name="New photo set").click()
    page.get_by_role("button", name="Start taking photographs").click()
    expect(page.get_by_role("heading", name="1. At rest")).to_be_visible()
    page.get_by_label("Files from the camera").set_input_files(files)
    # Every file is uploaded, processed and shown in its view's place.
    expect(page.locator(".photo-slot .photo-ready img")).to_have_count(8, timeout=60000)
    expect(page.locator("#views-done")).to_have_text("8")
    expect(page.locator("#slot-lower_teeth .photo-ready img")).to_have_attribute("alt", "Lower teeth show")
    new_set = PhotoSet.objects.exclude(pk=earlier.pk).get(patient=patient)
    assert sorted(new_set.items.values_list("view", flat=True)) == sorted(v.value for v in STANDARD_VIEWS)
    assert set(new_set.items.values_list("status", flat=True)) == {MediaItem.Status.READY}
    screenshot(page, "photo-set-capture")
    assert_accessible(page)

    page.get_by_role("link", name="Compare dates").click()
    page.get_by_label("View").select_option("smile")
    # "Show" works with or without the script that submits on change (after the whole suite,
    # the change alone did not always reload the page in time).
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Open-mouth smile")).to_be_visible()
    pair = page.locator(".compare-pair img")
    expect(pair).to_have_count(2)
    expect(page.get_by_label("Date on the left")).to_have_value(str(earlier.pk))
    expect(page.get_by_label("Date on the right")).to_have_value(str(new_set.pk))
    assert_accessible(page)
    screenshot(page, "photo-compare")
    # The arrow key steps the right-hand date back to the earlier set.
    page.locator("h2#h-compare").click()
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"**b={earlier.pk}")
    expect(page.get_by_label("Date on the right")).to_have_value(str(earlier.pk))

    page.get_by_role("link", name="All photo sets").click()
    page.get_by_role(
        "link",
        name=f"Before and after surgery of {timezone.localtime(surgery.encounter.occurred_at):%d %b %Y}",
    ).click()
    expect(page.get_by_role("heading", name="Before and after surgery")).to_be_visible()
    rows = page.locator("table.before-after tbody tr")
    expect(rows).to_have_count(8)
    expect(rows.locator("img")).to_have_count(16)
    assert_accessible(page)
    screenshot(page, "photo-before-after")

    viewed = AuditEvent.objects.filter(action="media.viewed", actor=surgeon, patient_id=patient.pk)
    assert viewed.count() >= 8 + 2 + 16


def test_files_chosen_before_the_pages_script_runs_are_uploaded_when_it_does(
    page, clinic, tmp_path, worker_in_process
):
    # On a slow connection the file picker can be used before photos.js has run: the change
    # event then fires with nobody listening. The script, once it runs, uploads what is chosen.
    surgeon = clinic.surgeon.user
    patient = PatientFactory(first_name="Aoife", last_name="Nolan", affected_side="right")
    photo_set = services.photo_set_create(patient=patient, actor=surgeon, taken_at=timezone.now())
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(draw_face(STANDARD_VIEWS[0], weak=0.3, affected="right", label="now"))
    login(page, surgeon)
    held = []
    page.route("**/js/photos.js", lambda route: held.append(route))
    page.goto(f"{page.base}/photos/sets/{photo_set.pk}/", wait_until="commit")
    page.get_by_label("Files from the camera").set_input_files([str(path)])
    page.wait_for_timeout(200)
    assert len(held) == 1, "photos.js was not held back"
    held[0].continue_()
    expect(page.locator("#slot-rest .photo-ready img")).to_have_count(1, timeout=30000)
    assert photo_set.items.get().status == MediaItem.Status.READY
