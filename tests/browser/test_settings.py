"""The practice manager's clinic settings page in a real browser."""

import pytest
from playwright.sync_api import expect

from clinic.models import ClinicSettings
from tests.browser.conftest import assert_accessible, login, screenshot
from treatments.models import ToxinProductInterval

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DYSPORT = "abobotulinumtoxinA (Dysport)"


def test_manager_changes_the_dysport_interval(page, manager_user):
    login(page, manager_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Clinic settings", level=1)).to_be_visible()
    row = page.locator("#interval-row-abobotulinumtoxinA")
    expect(row.get_by_role("cell").first).to_have_text("clinic default (84 days)")

    page.get_by_label(f"Minimum interval in days for {DYSPORT}").fill("70")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Save interval for {DYSPORT}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{DYSPORT} set to 70 days")
    expect(row.get_by_role("cell").first).to_have_text("70 days")
    expect(page.locator("#interval-row-onabotulinumtoxinA")).to_contain_text("clinic default (84 days)")
    history = page.locator("#settings-history tbody tr").first
    expect(history).to_contain_text("Reinjection interval abobotulinumtoxinA")
    expect(history).to_contain_text("Minimum interval (days): clinic default → 70")
    assert ToxinProductInterval.objects.get(product="abobotulinumtoxinA").min_interval_days == 70

    # Recall weeks out of order: a clear error on the form, nothing saved.
    page.get_by_label("Second reinjection reminder").fill("6")
    with page.expect_navigation():
        page.get_by_role("button", name="Save clinic settings").click()
    expect(page.get_by_role("alert")).to_contain_text("A recall becomes overdue after its second reminder")
    assert ClinicSettings.load().recall_second_reminder_weeks_after_due == 0
    # The refused form answers 400, as the app's forms do, and Chromium logs that: expected here.
    page.errors.remove(
        "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    )
    screenshot(page, "clinic-settings")
    assert_accessible(page)
