"""Front desk speed in a real browser: the header search with "/", the day view's shortcuts, a
new patient booked in at most seven actions from "Find next available" and from the day grid
(counted by the journey itself and written to docs/booking-actions.json), the Book button in
view at 1280x800, and the line that says what was sent to the patient."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from patients.models import MessagingConsent, Patient
from scheduling.models import Appointment
from tests.browser.conftest import assert_accessible, login, screenshot, wait_for_htmx
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_ACTIONS = 7
COUNTS = Path(__file__).resolve().parents[2] / "docs" / "booking-actions.json"


class Actions:
    """Does what the user does and counts it: a click, a choice in a list, a field typed into
    (however many letters) and a key press are one action each."""

    def __init__(self, page):
        self.page = page
        self.log: list[str] = []

    def click(self, locator, what: str):
        locator.click()
        self.log.append(f"click {what}")

    def select(self, locator, label: str):
        locator.select_option(label=label)
        self.log.append(f"choose {label}")

    def type(self, locator, text: str, what: str):
        locator.fill(text)
        self.log.append(f"type {what}")

    def press(self, key: str):
        self.page.keyboard.press(key)
        self.log.append(f"press {key}")

    def check(self, locator, what: str):
        locator.check()
        self.log.append(f"tick {what}")


def _record(journey: str, actions: Actions) -> None:
    counts = json.loads(COUNTS.read_text()) if COUNTS.exists() else {}
    counts[journey] = {"actions": len(actions.log), "steps": actions.log}
    COUNTS.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")


def _register_in_dialog(dialog, act: Actions) -> None:
    """Type an unknown name: the new-patient form opens with the name filled in."""
    act.type(dialog.get_by_label("Find a patient"), "Cathal Farrell", "the name into Find a patient")
    dialog.get_by_text("No patient matches").wait_for()
    expect(dialog.get_by_label("First name")).to_have_value("Cathal")
    expect(dialog.get_by_label("Last name")).to_have_value("Farrell")
    act.type(dialog.get_by_label("Date of birth"), "1984-05-17", "date of birth")
    act.type(dialog.get_by_label("Email", exact=True), "cathal@example.org", "email")
    act.check(
        dialog.get_by_label("Agrees to appointment confirmations and reminders by email"), "email consent"
    )


def _booked_new_patient(page) -> Patient:
    # What was sent, on the day's page, and it stays.
    sent = page.locator(".flash", has_text="Confirmation sent to the patient by email to cathal@example.org")
    expect(sent).to_be_visible(timeout=20000)  # booking, redirect and the day's page
    assert "/schedule/?date=" in page.url
    patient = Patient.objects.get(last_name="Farrell")
    assert Appointment.objects.filter(patient=patient).count() == 1
    assert MessagingConsent.objects.filter(patient=patient, channel="email", granted=True).count() == 1
    return patient


def test_new_patient_from_find_next_available_in_seven_actions(page, clinic, front_desk_user):
    login(page, front_desk_user)
    page.goto(f"{page.base}/schedule/next/")
    act = Actions(page)
    act.select(page.get_by_label("Appointment type"), "New patient consultation")  # shows the slots
    page.wait_for_url("**/schedule/next/?*appointment_type=*")
    act.click(page.locator(".slot-list a").first, "the first free slot")
    dialog = page.get_by_role("dialog")
    wait_for_htmx(page, "#book-q")
    _register_in_dialog(dialog, act)
    book = dialog.get_by_role("button", name="Book", exact=True)
    expect(book).to_be_in_viewport()  # the sticky footer, at 1280x800
    screenshot(page, "booking-dialog-new-patient", full_page=False)
    act.click(book, "Book")

    _booked_new_patient(page)
    screenshot(page, "booking-what-was-sent", full_page=False)
    assert_accessible(page)
    _record("find_next_available_new_patient", act)
    assert len(act.log) <= MAX_ACTIONS, act.log


def test_new_patient_from_the_day_grid_in_seven_actions(page, clinic, front_desk_user):
    tomorrow = timezone.localdate() + timedelta(days=1)
    login(page, front_desk_user)
    page.goto(f"{page.base}/schedule/?date={tomorrow.isoformat()}")
    act = Actions(page)
    # A free quarter hour in the surgeon's column (the injector's would not take a consultation).
    surgeons_slot = page.locator(f".cal-free a.slot[href*='provider={clinic.surgeon.pk}']").first
    act.click(surgeons_slot, "a free quarter hour")
    dialog = page.get_by_role("dialog")
    wait_for_htmx(page, "#book-q")
    act.select(dialog.get_by_label("Appointment type"), "New patient consultation")
    _register_in_dialog(dialog, act)
    act.click(dialog.get_by_role("button", name="Book", exact=True), "Book")

    _booked_new_patient(page)
    _record("day_grid_new_patient", act)
    assert len(act.log) <= MAX_ACTIONS, act.log


def test_the_book_button_stays_in_view_and_nothing_sent_is_said(page, clinic, front_desk_user):
    """A long dialog (registration open, errors shown) at 1280x800 keeps Book in view; a patient
    who gave no consent is booked and the desk is told that nothing was sent, and why."""
    PatientFactory(first_name="Nora", last_name="Quinlan", email="nora@example.org", mobile="")
    login(page, front_desk_user)
    page.goto(f"{page.base}/schedule/next/")
    page.get_by_label("Appointment type").select_option(label="New patient consultation")
    page.locator(".slot-list a").first.click()
    dialog = page.get_by_role("dialog")
    wait_for_htmx(page, "#book-q")
    dialog.get_by_text("Register a new patient", exact=True).click()
    book = dialog.get_by_role("button", name="Book", exact=True)
    expect(book).to_be_in_viewport()
    summary = dialog.locator("summary", has_text="Register a new patient")
    # The disclosure looks like a button: a border and a chevron.
    assert summary.evaluate("(el) => getComputedStyle(el).borderTopStyle") == "solid"
    assert summary.evaluate("(el) => getComputedStyle(el, '::before').content") == '""'
    dialog.get_by_label("Find a patient").fill("quinlan")
    dialog.get_by_role("radio", name="Nora Quinlan").check()
    book.click()
    line = page.locator(".flash", has_text="Nothing was sent to the patient")
    expect(line).to_contain_text(
        "no consent to appointment messages by email; no mobile number", timeout=20000
    )
    assert_accessible(page)


def test_header_search_with_slash_and_enter_opens_the_chart(page, clinic, front_desk_user):
    wanted = PatientFactory(first_name="Margaret", last_name="Reynolds")
    PatientFactory(first_name="Peter", last_name="Jones")
    login(page, front_desk_user)
    page.goto(f"{page.base}/schedule/waitlist/")
    page.keyboard.press("/")
    box = page.get_by_role("combobox", name="Find a patient")
    expect(box).to_be_focused()
    page.keyboard.type("margret reynods")
    option = page.get_by_role("option", name=re.compile("REYNOLDS, Margaret"))
    expect(option).to_be_visible()
    expect(option).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-expanded", "true")
    screenshot(page, "header-search", full_page=False)
    assert_accessible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/patients/{wanted.pk}/")
    # "/" typed inside a field is a slash, not a jump to the search.
    page.goto(f"{page.base}/schedule/next/")
    page.get_by_label("From").focus()
    page.keyboard.press("/")
    expect(page.get_by_role("combobox", name="Find a patient")).not_to_be_focused()


def test_day_view_keyboard_shortcuts(page, clinic, front_desk_user):
    today = timezone.localdate()
    login(page, front_desk_user)
    page.goto(f"{page.base}/schedule/?date={today.isoformat()}")
    page.keyboard.press("n")
    page.wait_for_url(f"**/schedule/?date={(today + timedelta(days=1)).isoformat()}*")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/schedule/?date={(today + timedelta(days=2)).isoformat()}*")
    page.keyboard.press("p")
    page.wait_for_url(f"**/schedule/?date={(today + timedelta(days=1)).isoformat()}*")
    page.keyboard.press("t")
    page.wait_for_url(re.compile(rf".*/schedule/(\?date={today.isoformat()}.*)?$"))
    expect(page.get_by_text("Today", exact=True).first).to_be_visible()
    page.keyboard.press("?")
    shortcuts = page.locator("details.shortcuts")
    expect(shortcuts).to_have_attribute("open", "")
    expect(shortcuts).to_contain_text("next day")
    screenshot(page, "day-view-shortcuts", full_page=False)
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("b")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Book an appointment")).to_be_visible()
    assert_accessible(page)
