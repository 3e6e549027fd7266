"""Two-factor journey: a new member of staff is made to set up an authenticator app, saves the
recovery codes, and next time logs in with password and code."""

import base64

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(secret: str) -> str:
    """What the phone would show now, from the key printed on the page."""
    return f"{totp(base64.b32decode(secret.replace(' ', ''))):06d}"


def _password(page, user):
    page.goto(f"{page.base}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


@pytest.fixture
def clock():
    # The live server runs in this process, so it sees the same clock. Time flows; the test
    # moves it on 30 s before the second log-in, because a code is accepted only once.
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        yield traveller


def test_staff_set_up_two_factor_then_log_in_with_a_code(page, settings, front_desk_user, clock):
    settings.REQUIRE_MFA = True

    _password(page, front_desk_user)
    page.wait_for_url("**/account/two-factor/set-up/**")
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    qr = page.get_by_role("img", name="QR code that adds")
    expect(qr).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", qr.element_handle())
    screenshot(page, "two-factor-set-up")
    assert_accessible(page)

    # Anything else is out of reach until it is set up.
    page.goto(f"{page.base}/patients/")
    page.wait_for_url("**/account/two-factor/set-up/**")

    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Code from your authenticator app").fill(_code(secret))
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url("**/account/two-factor/recovery-codes/**")
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_url("**/patients/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
    clock.shift(30)
    _password(page, front_desk_user)
    page.wait_for_url("**/account/verify/")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(_code(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    assert "/account/" not in page.url and "/login/" not in page.url
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
