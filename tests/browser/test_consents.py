"""A patient signs a consent on the clinic's tablet (drawing on the signature pad) and another
through their own link on a phone (the keyboard alternative: typed name and confirmation); the
clinician countersigns both; the signed PDFs open (parsed, their hash checked)."""

import hashlib
import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from consents.models import PatientConsent
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _draw(page, selector: str) -> None:
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + w * 0.1, y + h * 0.7)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(x + w * (0.1 + 0.07 * i), y + h * (0.7 - 0.4 * (i % 2)), steps=3)
    page.mouse.up()


def _pdf_text(body: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split())


def _start(page, patient, procedure_label: str, side: str = "") -> int:
    page.goto(f"{page.base}/consents/patient/{patient.pk}/")
    page.get_by_label("Procedure").select_option(label=procedure_label)
    if side:
        page.get_by_label("Side").select_option(label=side)
    page.get_by_role("button", name="Start consent").click()
    expect(page.get_by_test_id("consent-status")).to_have_text("Awaiting the patient's signature")
    return int(page.url.rstrip("/").split("/")[-1])


@pytest.fixture
def consent_forms(transactional_db):
    """The first version of each form, as the data migration seeds them: a journey runs on a
    flushed database (live server), where another journey may have emptied the tables."""
    from importlib import import_module

    from django.apps import apps as django_apps

    from consents.models import ConsentTemplate

    if not ConsentTemplate.objects.exists():
        import_module("consents.migrations.0003_seed_consent_forms").seed(django_apps, None)


def test_tablet_and_link_signing_countersigned_into_pdfs(
    page, browser, live_server, surgeon_user, consent_forms
):
    patient = PatientFactory(first_name="Ines", last_name="Carvalho")
    login(page, surgeon_user)

    # 1. On the clinic's tablet: DAO excision, drawn on the pad.
    tablet_id = _start(page, patient, "Depressor anguli oris (DAO) excision under local anaesthetic", "Left")
    page.get_by_role("link", name="Sign on this tablet").click()
    expect(page.get_by_role("heading", name="Risks and side effects")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Full name of the person signing").fill("Ines Carvalho")
    _draw(page, "[data-signature-canvas]")
    page.get_by_label("I have read this form").check()
    screenshot(page, "consent-tablet")
    page.get_by_role("button", name="Sign the consent form").click()
    expect(page.get_by_text("Your consent form is signed")).to_be_visible()
    page.get_by_role("link", name="back to the consent").click()
    expect(page.get_by_test_id("consent-status")).to_have_text("Awaiting countersignature")
    # The clinician countersigns from the keyboard: typed name and confirmation.
    page.get_by_label("Type my name instead").check()
    expect(page.locator("[data-signature-canvas]")).to_be_hidden()
    page.get_by_label("I confirm that typing my name above is my signature").check()
    page.get_by_role("button", name="Countersign").click()
    expect(page.get_by_test_id("consent-status")).to_have_text("Signed")
    tablet = PatientConsent.objects.get(pk=tablet_id)
    assert tablet.patient_signature_method == "drawn" and bytes(tablet.patient_signature_png).startswith(
        b"\x89PNG"
    )
    pdf_url = page.get_by_test_id("consent-pdf").get_attribute("href")
    response = page.request.get(page.base + pdf_url)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert "no-store" in response.headers["cache-control"]
    body = response.body()
    assert hashlib.sha256(body).hexdigest() == tablet.pdf_sha256
    text = _pdf_text(body)
    assert tablet.content_sha256 in text.replace(" ", "") and "Ines Carvalho" in text

    # 2. Through the patient's own link, on a phone: botulinum toxin, typed name.
    link_id = _start(page, patient, "Botulinum toxin injections")
    link = page.get_by_test_id("consent-link").input_value()
    phone = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-GB")
    patient_page = phone.new_page()
    errors = []
    patient_page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    patient_page.goto(live_server.url + path)
    expect(patient_page.get_by_role("heading", name="What to expect")).to_be_visible()
    assert patient_page.evaluate("document.documentElement.scrollWidth") <= 375
    patient_page.get_by_label("Full name of the person signing").fill("Ines Carvalho")
    patient_page.get_by_label("Type my name instead").check()
    patient_page.get_by_label("I confirm that typing my name above is my signature").check()
    patient_page.get_by_label("I have read this form").check()
    screenshot(patient_page, "consent-link-phone")
    patient_page.get_by_role("button", name="Sign the consent form").click()
    expect(patient_page.get_by_text("The clinic will countersign it")).to_be_visible()

    # The clinician countersigns with a drawn signature.
    page.reload()
    expect(page.get_by_test_id("consent-status")).to_have_text("Awaiting countersignature")
    _draw(page, "[data-signature-canvas]")
    page.get_by_role("button", name="Countersign").click()
    expect(page.get_by_test_id("consent-status")).to_have_text("Signed")
    assert_accessible(page)

    # The patient opens their signed copy through the same link.
    patient_page.reload()
    pdf_href = patient_page.get_by_test_id("patient-pdf").get_attribute("href")
    response = patient_page.request.get(live_server.url + pdf_href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    by_link = PatientConsent.objects.get(pk=link_id)
    assert by_link.patient_signed_via == "link" and by_link.countersignature_method == "drawn"
    body = response.body()
    assert hashlib.sha256(body).hexdigest() == by_link.pdf_sha256
    assert "Botulinum toxin" in _pdf_text(body)
    assert not errors, errors
    phone.close()
