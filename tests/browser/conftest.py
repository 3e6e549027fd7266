"""Browser fixtures: one system Chromium per session, a fresh context per test, and a page that
fails the test on any console error, uncaught exception or CSP violation."""

import os
import shutil
from datetime import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, AppointmentTypeFactory, LocationFactory, RoomFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
AXE_URL = "/__axe-core.js"  # answered by the test from AXE; the application has no such URL
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _chromium_or_skip() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path:
        return path
    reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser journeys run last: once Playwright's event loop runs it stays running for the rest
    of the session, and the setting that lets Django's ORM run beside it must not leak into
    earlier tests (the deployment check rejects it)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright():
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run while a
    # loop is running unless told that the caller is synchronous (it is).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": _chromium_or_skip(),
        "headless": True,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--lang=en-GB",  # dates and times in inputs as the clinic reads them
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}


class BrowserErrors(list):
    """Console errors, uncaught exceptions and CSP violations seen by one page."""


@pytest.fixture
def page(page, live_server):
    """The pytest-playwright page, pointed at the live server, failing on any browser error."""
    errors = BrowserErrors()
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    # Element waits fail fast; the first navigation may wait for a cold live server on a busy machine.
    page.set_default_timeout(10000)
    page.set_default_navigation_timeout(20000)
    page.base = live_server.url
    page.route(f"**{AXE_URL}", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    page.errors = errors
    yield page
    assert not errors, "browser errors:\n" + "\n".join(errors)


def login(page, user, *, password: str = PASSWORD) -> None:
    """Log in through the real login form."""
    page.goto(f"{page.base}/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert "/login/" not in page.url, "login failed"


def assert_accessible(page) -> None:
    """Run axe-core (served from this repository, never from a CDN) and fail on serious or
    critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Served from the page's own origin, so that the strict CSP allows it unchanged.
        page.add_script_tag(url=f"{page.base}{AXE_URL}")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:5]]}" for v in bad
    )


def screenshot(page, name: str, *, full_page: bool = True, tablet: bool = False) -> None:
    """Save a screenshot into docs/screenshots/ when SCREENSHOTS=1 (normal runs write nothing);
    with ``tablet`` also one at the front desk's tablet size (1024x768)."""
    if os.environ.get("SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
    if tablet:
        size = page.viewport_size
        page.set_viewport_size({"width": 1024, "height": 768})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-tablet.png"), full_page=full_page)
        page.set_viewport_size(size)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The live server runs in this process, so it sees this setting too.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_quiet_hours(db):
    # Journeys run at any hour of the real clock; confirmations must not wait for the morning.
    from clinic.models import ClinicSettings

    ClinicSettings.objects.update_or_create(
        pk=1, defaults={"quiet_hours_start": time(0, 0), "quiet_hours_end": time(0, 0)}
    )


@pytest.fixture
def clinic(db):
    """A small clinic open every day of the week, so that journeys work on the real clock."""
    from tests.scheduling.conftest import Clinic, provider_for

    location = LocationFactory()
    every_day = {"location": location, "weekdays": range(7), "hours": ((8, 20),)}
    return Clinic(
        consultation_room=RoomFactory(location=location, name="Consult 1", kind="consultation"),
        procedure_room=RoomFactory(location=location, name="Procedure 1", kind="procedure"),
        therapy_room=RoomFactory(location=location, name="Therapy 1", kind="therapy"),
        theatre=RoomFactory(location=location, name="Theatre", kind="theatre"),
        surgeon=provider_for("surgeon", "dr_hart", **every_day),
        injector=provider_for("injector", "nurse_kay", **every_day),
        therapist=provider_for("therapist", "theo", **every_day),
        consultation=AppointmentTypeFactory(),
        toxin=AppointmentTypeFactory(
            code="toxin",
            name="Botulinum toxin session",
            duration_minutes=30,
            buffer_after_minutes=10,
            provider_roles=["surgeon", "injector"],
            room_kind="procedure",
            is_toxin=True,
        ),
        therapy=AppointmentTypeFactory(
            code="therapy",
            name="NMRT therapy visit",
            duration_minutes=45,
            provider_roles=["therapist"],
            room_kind="therapy",
        ),
        surgery=AppointmentTypeFactory(
            code="surgery",
            name="Surgery",
            duration_minutes=90,
            duration_set_per_booking=True,
            provider_roles=["surgeon"],
            room_kind="theatre",
        ),
    )


def load_chart_panels(page) -> None:
    """Scroll each chart panel into view, as a reader does, and wait until it has loaded."""
    for key in page.locator(".chart-panel").evaluate_all("(els) => els.map((el) => el.id)"):
        page.locator(f"#{key}").scroll_into_view_if_needed()
        expect(page.locator(f"#{key} .panel-loading")).to_have_count(0)


def wait_for_htmx(page, selector: str) -> None:
    """Wait until htmx has wired up an element swapped in by an earlier request.

    Typing into a swapped-in search box before htmx has processed it sends no search.
    """
    page.wait_for_function(
        "(selector) => document.querySelector(selector)?.['htmx-internal-data']?.initHash", arg=selector
    )
