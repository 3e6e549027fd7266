"""A clinician writes a letter from a consultation: the draft is filled from the record, edited,
signed, and emailed to the GP; a real SMTP server receives it with the signed PDF attached."""

import hashlib
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from clinic.celery import app as celery_app
from letters.models import Letter, LetterDelivery
from tests.browser.conftest import assert_accessible, load_chart_panels, login, screenshot
from tests.letters import helpers
from tests.smtp import SmtpSink, free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp(settings):
    """A real SMTP server; the worker's task runs in the request that queued it (no worker
    process in this test), after the commit, as a worker would."""
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    celery_app.conf.task_always_eager = True
    yield sink
    celery_app.conf.task_always_eager = False
    controller.stop()


def test_clinician_writes_signs_and_emails_a_consultation_letter(page, smtp):
    surgeon = helpers.surgeon()
    patient = helpers.patient()
    encounter = helpers.consultation(patient, surgeon)
    login(page, surgeon)

    # From the chart's letters panel to a draft written from the consultation.
    page.goto(f"{page.base}/patients/{patient.pk}/")
    load_chart_panels(page)
    page.locator("#panel-letters").get_by_role("link", name="Write a letter").click()
    page.get_by_label("Kind of letter").select_option("consultation")
    page.get_by_label("From the record of").select_option(str(encounter.pk))
    page.get_by_role("button", name="Write draft").click()
    expect(page.get_by_test_id("letter-status")).to_have_text("Draft")
    body = page.get_by_role("textbox", name="Letter")
    assert "Examination: Oral-ocular synkinesis on the left." in body.input_value()
    assert_accessible(page)

    # The clinician edits the text, saves, and signs.
    body.fill(
        body.input_value().replace(
            "Yours sincerely,", "I will see her again in three months.\n\nYours sincerely,"
        )
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".letter-preview")).to_contain_text("I will see her again in three months.")
    page.get_by_role("button", name="Sign letter").click()
    expect(page.get_by_test_id("letter-status")).to_have_text("Signed")
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)  # read-only now
    screenshot(page, "letter-signed")

    # Emailed to the GP on the patient's record.
    page.get_by_label("The GP").check()
    page.get_by_role("button", name="Send by email").click()
    expect(page.get_by_test_id("letter-deliveries")).to_contain_text("Sent")
    assert_accessible(page)

    letter = Letter.objects.get(patient=patient)
    assert letter.status == "signed" and "three months" in letter.body
    (delivery,) = LetterDelivery.objects.filter(letter=letter)
    assert delivery.status == "sent" and delivery.address == "riverside.surgery@nhs.example"
    (envelope,) = smtp.messages
    assert envelope.rcpt_tos == ["riverside.surgery@nhs.example"]
    message = BytesParser(policy=policy.default).parsebytes(envelope.content)
    assert message["Message-ID"] == delivery.message_id
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    assert pdf[:5] == b"%PDF-"
    assert hashlib.sha256(pdf).hexdigest() == letter.pdf_sha256
