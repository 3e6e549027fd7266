"""Care between visits in a real browser: a toxin session recorded and signed sends the
patient's aftercare advice (in the message list, sent), opens a therapy recall inside the
clinic's window (on the worklist), and the patient reads the advice on a phone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.configuration import clinic_settings_update
from patients.services import consent_record
from scheduling.models import Message, Recall
from scheduling.reminders import services as reminders
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory
from tests.treatments.factories import ToxinLotFactory
from treatments.models import Encounter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+44 20 7946 0321"


def test_a_signed_toxin_session_sends_aftercare_and_opens_therapy_in_the_window(
    page, clinic, front_desk_user
):
    clinic_settings_update(
        actor=None,
        data={"clinic_phone": PHONE, "therapy_after_toxin_from_day": 14, "therapy_after_toxin_to_day": 35},
    )
    patient = PatientFactory(first_name="Orla", last_name="Keane", email="orla@example.org", mobile="")
    consent_record(
        patient=patient,
        channel="email",
        purpose="appointment_reminders",
        granted=True,
        method="written",
        actor=None,
    )
    lot = ToxinLotFactory(lot_number="C-CARE")
    injector = clinic.injector.user

    # The injector records the session and signs it.
    login(page, injector)
    page.goto(f"{page.base}/clinical/toxin/new/?patient={patient.pk}")
    page.get_by_label("Product", exact=True).select_option(lot.product)
    page.get_by_label("Lot").select_option(value=str(lot.pk))
    page.get_by_label("Saline per vial (mL)").fill("2.5")
    page.locator("[name=injections-0-muscle]").select_option("mentalis")
    page.locator("[name=injections-0-side]").select_option("left")
    page.locator("[name=injections-0-units]").fill("2.5")
    page.locator("[name=injections-0-points]").fill("1")
    page.get_by_role("button", name="Save draft").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign", exact=True).click()
    page.get_by_text("Signed by").wait_for()
    session = Encounter.objects.get(patient=patient, kind="toxin")
    assert session.is_signed

    # What the worker does every minute, done here: the aftercare message goes out.
    aftercare = Message.objects.get(patient=patient, kind="aftercare")
    assert reminders.messages_send_batch(message_ids=reminders.messages_claim_due())["sent"] >= 1
    aftercare.refresh_from_db()
    assert aftercare.status == "sent" and PHONE in aftercare.body

    # The front desk sees it sent, and the therapy recall inside the window on the worklist.
    page.context.clear_cookies()
    login(page, front_desk_user)
    page.goto(f"{page.base}/recalls/messages/?kind=aftercare")
    row = page.locator("tbody tr").filter(has_text="Orla Keane")
    expect(row).to_contain_text("Aftercare advice")
    expect(row).to_contain_text("Sent")
    screenshot(page, "aftercare-message-sent")
    assert_accessible(page)

    recall = Recall.objects.get(patient=patient, kind="therapy")
    today = timezone.localdate()
    assert (recall.due_date, recall.overdue_date) == (today + timedelta(days=14), today + timedelta(days=35))
    page.goto(f"{page.base}/recalls/?bucket=upcoming&kind=therapy")
    row = page.locator("tbody tr").filter(has_text="Orla Keane")
    expect(row).to_contain_text("Therapy in the toxin window (days 14-35)")
    expect(row).to_contain_text(recall.due_date.strftime("%-d %b %Y"))
    screenshot(page, "worklist-therapy-after-toxin")
    assert_accessible(page)

    # The patient opens the advice from the email, on a phone.
    url = re.search(r"https?://\S+/p/\S+/", aftercare.body).group(0)
    page.context.clear_cookies()
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(page.base + "/" + url.split("://", 1)[1].split("/", 1)[1])
    expect(page.get_by_role("heading", name="Aftercare advice")).to_be_visible()
    expect(page.get_by_role("heading", name="After your toxin injections")).to_be_visible()
    expect(page.locator(".aftercare").get_by_role("link", name=PHONE)).to_have_attribute(
        "href", "tel:+442079460321"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "aftercare-page-phone", full_page=True)
    assert_accessible(page)
