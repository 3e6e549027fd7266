"""The home programme in a real browser: a therapist changes a patient's programme at a visit
and signs it; the patient gets the link, opens it on a phone (375 px, no sideways scroll), sees
what changed and who their therapist is, prints it and downloads the PDF, and answers the
weekly check-in, which the therapist then sees on the next visit's form."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from patients.services import consent_record
from scheduling.models import Message
from scheduling.reminders import services as reminders
from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory
from treatments import services as clinical
from treatments.models import Encounter, ProgrammeCheckIn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_changed_programme_reaches_the_patient_on_a_phone_in_print_and_as_a_pdf(page, clinic):
    therapist = clinic.therapist.user
    patient = PatientFactory(first_name="Niamh", last_name="Byrne", email="niamh@example.org", mobile="")
    consent_record(
        patient=patient,
        channel="email",
        purpose="appointment_reminders",
        granted=True,
        method="written",
        actor=None,
    )
    # Last month's visit set the programme the form starts from.
    first = clinical.encounter_record(
        clinical.THERAPY,
        patient=patient,
        actor=therapist,
        data={
            "occurred_at": timezone.now() - timedelta(days=28),
            "techniques": ["mirror_exercises"],
            "exercises": [{"exercise": "Gentle smile in the mirror", "repetitions": 10, "hold_seconds": 5}],
        },
    )
    clinical.encounter_sign(encounter=Encounter.objects.get(pk=first.pk), actor=therapist)
    Message.objects.filter(patient=patient).delete()

    # Today the therapist makes the smile harder, adds an exercise and asks for check-ins.
    login(page, therapist)
    page.goto(f"{page.base}/clinical/therapy/new/?patient={patient.pk}")
    assert page.locator("[name=exercises-0-exercise]").input_value() == "Gentle smile in the mirror"
    page.get_by_label("Mirror exercises").check()
    page.locator("[name=exercises-0-repetitions]").fill("15")
    page.get_by_role("button", name="+ Add exercise").click()
    page.locator("[name=exercises-1-exercise]").fill("Lip pucker")
    page.locator("[name=exercises-1-repetitions]").fill("8")
    page.locator("[name=exercises-1-times_per_day]").fill("2")
    page.locator("[name=exercises-1-instructions]").fill("Pucker slowly, keeping both eyes gently open.")
    page.locator("[name=exercises-1-notes]").fill("Stop if the eye closes.")
    page.get_by_label("Weekly check-ins").check()
    page.get_by_role("button", name="Save draft").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign", exact=True).click()
    page.get_by_text("Signed by").wait_for()

    # The change is sent once, by email (the patient has no mobile).
    sent = Message.objects.get(patient=patient, kind="home_programme")
    assert reminders.messages_send_batch(message_ids=reminders.messages_claim_due())["sent"] == 1
    sent.refresh_from_db()
    assert sent.status == "sent"
    url = re.search(r"https?://\S+/p/\S+/", sent.body).group(0)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]

    # The patient opens it on a phone.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(page.base + path)
    expect(page.get_by_role("heading", name="Your home exercise programme")).to_be_visible()
    changes = page.locator(".programme-changes")
    expect(changes).to_contain_text("Added: Lip pucker")
    expect(changes).to_contain_text("Changed: Gentle smile in the mirror")
    expect(changes).to_contain_text("Repetitions: 10 → 15")
    expect(page.locator(".programme-therapist")).to_have_text(therapist.get_full_name())
    pucker = page.locator(".programme-exercise", has_text="Lip pucker")
    expect(pucker).to_contain_text("8 repetitions, twice a day")
    expect(pucker).to_contain_text("keeping both eyes gently open")
    expect(pucker).to_contain_text("Stop if the eye closes.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "home-programme-phone", full_page=True)
    assert_accessible(page)

    # Printed: the programme only, without the buttons or the check-in form.
    page.emulate_media(media="print")
    expect(page.locator(".programme-exercise")).to_have_count(2)
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator("#checkin")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    printed = page.pdf(format="A4")
    assert printed.startswith(b"%PDF")
    page.emulate_media(media="screen")

    # The PDF from the page's link.
    pdf_href = page.get_by_role("link", name="Download as PDF").get_attribute("href")
    pdf = page.request.get(page.base + pdf_href)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    # The weekly check-in, answered from the page.
    page.get_by_label("On how many of the last 7 days did you do your exercises?").select_option("5")
    page.get_by_role("radio", name="3", exact=True).check()
    page.get_by_label("Anything your therapist should know?").fill("The pucker is hard on the left")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    assert ProgrammeCheckIn.objects.get(patient=patient).days_done == 5

    # The therapist sees it on the next visit's form.
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, therapist)
    page.goto(f"{page.base}/clinical/therapy/new/?patient={patient.pk}")
    expect(page.locator(".programme-checkins")).to_contain_text("The pucker is hard on the left")
