"""Clinician journeys: a toxin session from today's appointment, a surgery with its follow-up
plan, a therapy visit whose recommendation reaches the next toxin form."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scheduling.models import Recall
from tests.browser.conftest import assert_accessible, load_chart_panels, login, screenshot
from tests.factories import AppointmentFactory, AppointmentTypeFactory, PatientFactory
from tests.treatments.factories import ToxinLotFactory, record_toxin
from treatments import services
from treatments.models import Encounter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_draft(page):
    """On a draft's page: sign it (accepting the confirmation) and wait for the signed record."""
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign", exact=True).click()
    page.get_by_text("Signed by").wait_for()


def test_surgeon_repeats_the_last_map_changes_two_rows_picks_a_lot_and_signs(page, clinic):
    surgeon = clinic.surgeon.user
    patient = PatientFactory(first_name="Maeve", last_name="Doyle")
    old_lot = ToxinLotFactory(lot_number="C-OLD", expiry_date=timezone.localdate() + timedelta(days=30))
    previous = record_toxin(patient, surgeon, lot=old_lot, occurred_at=timezone.now() - timedelta(days=100))
    services.encounter_sign(encounter=previous.encounter, actor=surgeon)
    new_lot = ToxinLotFactory(lot_number="C-NEW")
    AppointmentFactory(
        patient=patient,
        appointment_type=clinic.toxin,
        provider=clinic.surgeon,
        room=clinic.procedure_room,
        starts_at=timezone.now() - timedelta(minutes=5),
    )
    login(page, surgeon)

    page.goto(f"{page.base}/schedule/my-day/")
    page.get_by_role("link", name="Maeve Doyle").click()
    load_chart_panels(page)
    page.get_by_role("link", name="Record a toxin session").click()
    page.get_by_role("link", name="Repeat last map").click()
    assert page.locator("[name=injections-0-units]").input_value() == "5.00"
    page.locator("[name=injections-0-units]").fill("7.5")
    page.locator("[name=injections-1-units]").fill("3")
    page.get_by_label("Lot").select_option(value=str(new_lot.pk))
    page.get_by_label("Appointment").select_option(index=1)
    screenshot(page, "toxin-session-form")
    assert_accessible(page)
    page.get_by_role("button", name="Save draft").click()
    _sign_draft(page)

    session = Encounter.objects.get(
        patient=patient, kind="toxin", signed_at__isnull=False, pk__gt=previous.encounter.pk
    )
    units = sorted(str(row.units) for row in session.toxin_session.injections.all())
    assert units == ["3.00", "5.00", "7.50"]
    assert session.toxin_session.lot.lot_number == "C-NEW"
    assert session.appointment_id is not None
    recall = Recall.objects.get(patient=patient, status="open", kind="reinjection")
    page.goto(f"{page.base}/patients/{patient.pk}/")
    load_chart_panels(page)
    expect(page.get_by_text(recall.due_date.strftime("%-d %b %Y")).first).to_be_visible()
    expect(page.get_by_text("7.5").first).to_be_visible()
    screenshot(page, "patient-chart")
    assert_accessible(page)


def test_surgeon_records_a_surgery_and_its_recalls_reach_the_worklist(page, clinic):
    surgeon = clinic.surgeon.user
    patient = PatientFactory(first_name="Declan", last_name="Walsh")
    AppointmentTypeFactory(code="post_op", name="Post-operative review", duration_minutes=20)
    login(page, surgeon)

    page.goto(f"{page.base}/clinical/surgery/new/?patient={patient.pk}")
    page.get_by_label("Side").select_option("left")
    page.get_by_label("Anaesthesia").select_option("local")
    end = timezone.localtime().replace(second=0, microsecond=0) + timedelta(minutes=50)
    page.get_by_label("End").fill(end.strftime("%Y-%m-%dT%H:%M"))
    page.locator("[name=procedures-0-kind]").select_option("dao_excision")
    rows = page.locator('[data-formset="follow_up_plan"] [data-formset-row]:not([hidden])')
    assert rows.count() >= 2
    planned = rows.count()
    assert_accessible(page)
    page.get_by_role("button", name="Save draft").click()
    _sign_draft(page)

    recalls = Recall.objects.filter(patient=patient, kind="post_op")
    assert recalls.count() == planned
    page.goto(f"{page.base}/recalls/?kind=post_op")
    page.locator("a.tab", has_text="Upcoming").click()
    expect(page.get_by_role("row", name="Declan Walsh")).to_have_count(planned)
    assert_accessible(page)


def test_therapist_recommendation_shows_on_the_next_toxin_form(page, clinic):
    therapist = clinic.therapist.user
    patient = PatientFactory(first_name="Aoife", last_name="Kelly")
    login(page, therapist)

    page.goto(f"{page.base}/clinical/therapy/new/?patient={patient.pk}")
    page.get_by_label("Mirror exercises").check()
    page.get_by_label("Duration").fill("45")
    page.locator("[name=recommendations-0-muscle]").select_option("mentalis")
    page.locator("[name=recommendations-0-side]").select_option("left")
    page.locator("[name=recommendations-0-note]").fill("Chin dimples on smiling")
    screenshot(page, "therapy-visit-form")
    assert_accessible(page)
    page.get_by_role("button", name="Save draft").click()
    _sign_draft(page)

    page.context.clear_cookies()
    login(page, clinic.surgeon.user)
    page.goto(f"{page.base}/clinical/toxin/new/?patient={patient.pk}")
    aside = page.get_by_role("complementary", name="History for this session")
    assert aside.get_by_text("Chin dimples on smiling").is_visible()
    aside.get_by_role("button", name="Add to map").click()
    assert page.locator("[name=injections-0-muscle]").input_value() == "mentalis"
    assert_accessible(page)
