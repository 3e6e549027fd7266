"""The practice manager in a real browser: practice set-up (working hours, time off over a
booking, a new room, an appointment type retired), the admin for superusers only, the
dashboard's chart at its own size."""

import itertools
import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.models import AuditEvent
from scheduling.models import Appointment, AppointmentType, Room, TimeOff, WorkingHours
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import AppointmentFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A refused form answers 400 or 409, as the app's forms do, and Chromium logs that: expected.
REFUSED = "console: Failed to load resource: the server responded with a status of {} ({})"


def _next_weekday(weekday: int) -> datetime:
    day = timezone.localdate() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=timezone.get_current_timezone())


def test_manager_sets_up_hours_time_off_rooms_and_types(page, clinic, manager_user):
    surgeon = clinic.surgeon
    WorkingHours.objects.filter(provider=surgeon, weekday=5).delete()
    booked_at = _next_weekday(2)
    patient = PatientFactory(first_name="Orla", last_name="Keane")
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=surgeon,
        room=clinic.consultation_room,
        starts_at=booked_at,
    )
    login(page, manager_user)

    page.goto(f"{page.base}/schedule/")
    page.get_by_role("navigation", name="Schedule").get_by_role("link", name="Practice set-up").click()
    expect(page.get_by_role("heading", name="Practice set-up", level=1)).to_be_visible()
    page.get_by_role("link", name=f"Working hours of {surgeon}").click()

    # Overlapping hours on a day: refused, said next to the field.
    page.get_by_label("Day").select_option(label="Wednesday")
    page.get_by_label("Location").select_option(index=1)
    page.get_by_label(re.compile(r"^From\b")).fill("16:00")
    page.get_by_label(re.compile(r"^To\b")).fill("19:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Add hours").click()
    expect(page.locator("#errors-start_time")).to_contain_text("Overlaps Wednesday 08:00-20:00")
    page.errors.remove(REFUSED.format(400, "Bad Request"))

    # Saturday morning instead: added.
    page.get_by_label("Day").select_option(label="Saturday")
    page.get_by_label("Location").select_option(index=1)
    page.get_by_label(re.compile(r"^From\b")).fill("08:00")
    page.get_by_label(re.compile(r"^To\b")).fill("20:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Add hours").click()
    expect(page.locator(".flashes").first).to_contain_text("Working hours added.")
    expect(page.locator("#working-hours")).to_contain_text("Saturday")
    assert WorkingHours.objects.filter(provider=surgeon, weekday=5).exists()
    screenshot(page, "practice-working-hours")
    assert_accessible(page)

    # Time off over a booked appointment: listed, then confirmed.
    page.get_by_role("navigation", name="Practice set-up").get_by_role("link", name="Time off").click()
    page.get_by_label("Provider").select_option(value=str(surgeon.pk))
    page.get_by_label(re.compile(r"^From\b")).fill(booked_at.replace(hour=9).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Until").fill(booked_at.replace(hour=13).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Reason").fill("Conference")
    with page.expect_navigation():
        page.get_by_role("button", name="Save time off").click()
    warning = page.locator("#bookings-in-the-way")
    expect(warning).to_contain_text("1 appointment is booked in this time.")
    expect(warning).to_contain_text("Orla Keane")
    page.errors.remove(REFUSED.format(409, "Conflict"))
    assert not TimeOff.objects.exists()
    screenshot(page, "practice-time-off-warning")
    assert_accessible(page)
    page.get_by_label("Block this time anyway").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save time off").click()
    expect(page.locator(".flashes").first).to_contain_text("Time off saved.")
    expect(page.locator("#time-off-list")).to_contain_text("Conference")
    assert TimeOff.objects.get().reason == "Conference"
    assert Appointment.objects.get(patient=patient).status == "booked"

    # A new room, and an appointment type retired (its bookings stay).
    page.get_by_role("navigation", name="Practice set-up").get_by_role("link", name="Add a room").click()
    page.get_by_label("Location").select_option(index=1)
    page.get_by_label("Name").fill("Consult 2")
    page.get_by_label("Kind").select_option(label="Consultation room")
    with page.expect_navigation():
        page.get_by_role("button", name="Save room").click()
    expect(page.locator(".flashes").first).to_contain_text("Room saved.")
    assert Room.objects.get(name="Consult 2").is_active

    page.get_by_role("link", name=f"Edit {clinic.surgery.name}").click()
    page.get_by_label("Offered for booking").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Save appointment type").click()
    expect(page.locator(".flashes").first).to_contain_text("Appointment type saved.")
    assert AppointmentType.objects.get(pk=clinic.surgery.pk).is_active is False
    screenshot(page, "practice-setup")
    assert_accessible(page)
    actions = set(AuditEvent.objects.filter(action__startswith="schedule.").values_list("action", flat=True))
    assert {
        "schedule.workinghours_created",
        "schedule.timeoff_created",
        "schedule.timeoff_over_bookings",
        "schedule.room_created",
        "schedule.appointmenttype_updated",
    } <= actions


def test_the_admin_sends_a_manager_home_with_a_message(page, manager_user):
    login(page, manager_user)
    page.goto(f"{page.base}/admin/")
    expect(page.locator(".flashes").first).to_contain_text("The admin site is for superusers only.")
    assert page.url.endswith("/clinic/audit/")


def test_dashboard_chart_keeps_its_size_and_its_labels_apart(page, clinic, manager_user):
    for n in range(3):
        AppointmentFactory(
            provider=clinic.surgeon,
            room=clinic.consultation_room,
            appointment_type=clinic.consultation,
            starts_at=timezone.now() - timedelta(days=2 + n),
            status="completed",
        )
    login(page, manager_user)
    page.goto(f"{page.base}/clinical/dashboard/")
    chart = page.locator("svg:has(#chart-util-title)")
    box = chart.bounding_box()
    assert box["height"] < 250, box  # drawn at its own size, not stretched to the page's width
    labels = chart.locator(".dash-label").evaluate_all(
        "(els) => els.map((el) => { const b = el.getBBox(); return [b.x, b.x + b.width]; })"
    )
    for (_, left_end), (right_start, _) in itertools.pairwise(labels):
        assert left_end <= right_start, labels
    screenshot(page, "dashboard")
    assert_accessible(page)
