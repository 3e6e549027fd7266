"""Two-factor journey: a new member of staff opens the set-up link the practice manager sent,
chooses a password, sets up an authenticator app, saves the recovery codes, and next time logs
in with password and code. A password alone never reaches the set-up page."""

import base64

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from playwright.sync_api import expect

from clinic.accounts.services import staff_invite
from tests.browser.conftest import assert_accessible, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a lantern by the weir"


def _code(secret: str) -> str:
    """What the phone would show now, from the key printed on the page."""
    return f"{totp(base64.b32decode(secret.replace(' ', ''))):06d}"


def _password(page, username: str, password: str):
    page.goto(f"{page.base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


@pytest.fixture
def clock():
    # The live server runs in this process, so it sees the same clock. Time flows; the test
    # moves it on 30 s before the second log-in, because a code is accepted only once.
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        yield traveller


def test_staff_set_up_their_account_from_the_link_then_log_in_with_a_code(
    page, settings, manager_user, clock
):
    settings.REQUIRE_MFA = True
    _, link = staff_invite(
        actor=manager_user, username="nkay", email="nkay@clinic.test", roles=["front_desk"], send_email=False
    )
    path = "/" + link.url.split("://", 1)[1].split("/", 1)[1]

    page.goto(f"{page.base}{path}")
    page.wait_for_url("**/account/set-up/")
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    qr = page.get_by_role("img", name="QR code that adds")
    expect(qr).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", qr.element_handle())
    screenshot(page, "two-factor-set-up")
    assert_accessible(page)

    page.locator("#id_new_password").fill(NEW_PASSWORD)
    page.locator("#id_new_password_again").fill(NEW_PASSWORD)
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Code from your authenticator app").fill(_code(secret))
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url("**/account/two-factor/recovery-codes/**")
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")

    clock.shift(30)
    _password(page, "nkay", NEW_PASSWORD)
    page.wait_for_url("**/account/verify/")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(_code(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    assert "/account/" not in page.url and "/login/" not in page.url
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_manager_invites_a_member_of_staff_and_hands_over_the_link(page, manager_user, surgeon_user):
    from tests.browser.conftest import login

    login(page, manager_user)
    page.goto(f"{page.base}/clinic/staff/")
    assert_accessible(page)
    page.get_by_role("link", name="Invite a member of staff").click()
    page.wait_for_url("**/clinic/staff/invite/")
    assert_accessible(page)
    page.locator("#id_username").fill("tmarsh")
    page.locator("#id_first_name").fill("Theo")
    page.get_by_label("Therapist").check()
    page.get_by_label("Show me the link to hand over").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("heading", name="Link for Theo")).to_be_visible()
    assert "/account/set-up/" in page.locator("code.secret").inner_text()
    screenshot(page, "staff-invite-link")
    page.get_by_text(f"Manage {surgeon_user.display_name}").click()
    assert_accessible(page)
