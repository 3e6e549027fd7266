"""A clinician opens the measurements of a photo set the worker measured, moves one landmark
with the keyboard and sees the measurement change, then reads the trend on the chart: two
dates, with the toxin session between them marked."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from clinic.models import AuditEvent
from landmarks.models import FaceLandmarks
from landmarks.tasks import landmarks_detect_task
from photos import services
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory
from tests.landmarks.portraits import jpeg, portrait, warp
from tests.treatments.factories import record_toxin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _measured_set(patient, surgeon, taken_at, rest, smile):
    photo_set = services.photo_set_create(patient=patient, actor=surgeon, taken_at=taken_at)
    for view, pixels in (("rest", rest), ("smile", smile)):
        upload = SimpleUploadedFile(f"{view}.jpg", jpeg(pixels), "image/jpeg")
        item = services.media_upload(
            photo_set=photo_set, actor=surgeon, upload=upload, view=view, enqueue=False
        )
        services.media_process(item_id=item.pk)
        assert landmarks_detect_task.run(item.pk) == "found"  # the worker's task, in this process
    return photo_set


def test_clinician_corrects_a_landmark_and_reads_the_trend(page, clinic):
    surgeon = clinic.surgeon.user
    patient = PatientFactory(first_name="Aoife", last_name="Walsh", affected_side="left")
    face = portrait()
    first = _measured_set(patient, surgeon, timezone.now() - timedelta(days=90), face, face)
    record_toxin(patient, surgeon, occurred_at=timezone.now() - timedelta(days=60))
    smile = warp(face, (490, 282), (8, -8), 25)  # the patient's left corner lifts
    latest = _measured_set(patient, surgeon, timezone.now() - timedelta(days=1), face, smile)
    login(page, surgeon)

    page.goto(f"{page.base}/measurements/sets/{latest.pk}/")
    expect(page.get_by_role("heading", name="Measurements from photographs")).to_be_visible()
    expect(page.locator("#measure-aid")).to_contain_text("aids")
    rest = page.locator("#measure-rest")
    row = rest.locator("tr[data-key=commissure_height] td").nth(1)  # the left side
    before = row.inner_text()
    assert_accessible(page)
    screenshot(page, "measurements-set")

    corner = rest.locator("circle[data-name=commissure_left]")
    corner.focus()
    for _ in range(2):
        page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("Enter")
    expect(rest.locator("circle.landmark-corrected")).to_have_count(1)
    expect(row).not_to_have_text(before)
    landmarks = FaceLandmarks.objects.get(media_item__photo_set=latest, media_item__view="rest")
    assert landmarks.corrected_by == surgeon and list(landmarks.corrections) == ["commissure_left"]
    assert landmarks.points["commissure_left"][1] < landmarks.detected_points["commissure_left"][1]
    assert AuditEvent.objects.filter(action="landmarks.corrected", actor=surgeon).count() == 1
    expect(page.locator("#pair-measurements")).to_be_visible()

    page.goto(f"{page.base}/patients/{patient.pk}/?panels=all")
    chart = page.locator("#trend-commissure_height")
    expect(chart.locator("circle.point")).to_have_count(2)
    expect(chart.locator("line.event-toxin")).to_have_count(1)
    table = page.locator("table.measurement-trend")
    for photo_set in (first, latest):
        on = timezone.localtime(photo_set.taken_at)
        expect(table.get_by_role("link", name=f"{on:%d %b %Y}").first).to_be_visible()
    assert_accessible(page)
    screenshot(page, "measurements-trend")
