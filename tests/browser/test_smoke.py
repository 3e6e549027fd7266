import pytest

from tests.browser.conftest import assert_accessible, login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_page_is_accessible(page):
    page.goto(f"{page.base}/login/")
    screenshot(page, "login")
    assert_accessible(page)


def test_front_desk_logs_in(page, front_desk_user):
    login(page, front_desk_user)
    assert page.get_by_role("navigation", name="Main").is_visible()
    assert_accessible(page)
