"""Clinical flow in a real browser: a consultation with its gradings in one submit, every plan
on the chart, the toxin form started from the appointment, and a patient's link page that says
which clinic to call."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.models import ClinicSettings
from scheduling.reminders.links import Action, link_url
from scheduling.services import appointment_book
from tests.browser.conftest import assert_accessible, load_chart_panels, login, screenshot
from tests.factories import AppointmentFactory, PatientFactory
from tests.treatments.factories import SUNNYBROOK_NORMAL
from treatments import services
from treatments.models import Assessment, Encounter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_surgeon_records_a_consultation_with_two_gradings_in_one_submit(page, clinic):
    surgeon = clinic.surgeon.user
    patient = PatientFactory(first_name="Ines", last_name="Barros")
    login(page, surgeon)
    page.goto(f"{page.base}/clinical/consultation/new/?patient={patient.pk}")
    page.get_by_label("History").fill("Bell's palsy, left, 2021")
    page.get_by_label("Symptoms").fill("Eye closes when smiling")

    page.locator("#grading-sunnybrook > summary").click()
    for key, value in SUNNYBROOK_NORMAL.items():
        page.locator(f"input[name='sunnybrook-item_{key}'][value='{value}']").check()
    page.locator("#grading-house_brackmann > summary").click()
    page.locator("input[name='house_brackmann-item_grade'][value='2']").check()
    screenshot(page, "consultation-with-gradings")
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()

    expect(page.locator(".flashes")).to_contain_text("with Sunnybrook Facial Grading System, House-Brackmann")
    consultation = Encounter.objects.get(patient=patient, kind="consultation")
    assert sorted(Assessment.objects.filter(encounter=consultation).values_list("instrument", flat=True)) == [
        "house_brackmann",
        "sunnybrook",
    ]


def test_every_plan_is_on_the_chart(page, clinic):
    surgeon = clinic.surgeon.user
    patient = PatientFactory(first_name="Tomas", last_name="Reid")
    for status, goals in (("active", "Symmetric smile by summer"), ("draft", "Add NMRT before surgery")):
        services.plan_create(
            patient=patient, actor=surgeon, data={"status": status, "goals": goals, "modalities": ["toxin"]}
        )
    login(page, surgeon)
    page.goto(f"{page.base}/patients/{patient.pk}/")
    load_chart_panels(page)
    panel = page.locator("#panel-treatment_plan")
    expect(panel).to_contain_text("Symmetric smile by summer")
    expect(panel).to_contain_text("Add NMRT before surgery")
    expect(panel.locator(".plan-other summary")).to_contain_text("Draft")
    screenshot(page, "chart-every-plan")
    assert_accessible(page)


def test_toxin_form_starts_from_the_appointment_and_names_the_allergies(page, clinic):
    injector = clinic.injector.user
    patient = PatientFactory(first_name="Ada", last_name="Quinn", allergies="Latex")
    visit = AppointmentFactory(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.injector,
        room=clinic.procedure_room,
        starts_at=(timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0),
    )
    login(page, injector)
    page.goto(f"{page.base}/schedule/appointments/{visit.pk}/")
    page.get_by_role("link", name="Toxin session").first.click()

    start = timezone.localtime(visit.starts_at)
    assert page.get_by_label("Date and time").input_value() == start.strftime("%Y-%m-%dT%H:%M")
    assert page.get_by_label("Appointment").input_value() == str(visit.pk)
    expect(page.locator("[data-from-appointment]")).to_contain_text(f"with {clinic.injector}")
    expect(page.locator(".allergy-badge")).to_have_text("Allergies: Latex")
    screenshot(page, "toxin-form-from-appointment")
    assert_accessible(page)


def test_a_patient_link_page_shows_the_clinics_name_phone_and_address(page, clinic):
    ClinicSettings.load()
    ClinicSettings.objects.filter(pk=1).update(
        clinic_name="Riverside Facial Nerve Clinic",
        clinic_phone="+44 20 7946 0321",
        clinic_address="12 Riverside Walk, London SE1 9AA",
    )
    patient = PatientFactory()
    appointment = appointment_book(
        patient=patient,
        appointment_type=clinic.consultation,
        provider=clinic.surgeon,
        starts_at=(timezone.localtime() + timedelta(days=2)).replace(
            hour=10, minute=0, second=0, microsecond=0
        ),
        actor=None,
    )
    url = link_url(patient_id=patient.pk, action=Action.CONFIRM, target=appointment.pk)
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(page.base + "/" + url.split("://", 1)[1].split("/", 1)[1])
    expect(page.locator(".brand")).to_have_text("Riverside Facial Nerve Clinic")
    footer = page.locator(".public-contact")
    expect(footer.get_by_role("link", name="+44 20 7946 0321")).to_have_attribute("href", "tel:+442079460321")
    expect(footer).to_contain_text("12 Riverside Walk, London SE1 9AA")
    screenshot(page, "patient-link-contact")
    assert_accessible(page)
