"""The MDT list and a plan agreement in a real browser: a surgeon flags a patient from the
chart with a question, opens the meeting's agenda and records the outcome with a follow-up task
for the front desk, who finds it in their role's task list; then the patient's verbal agreement
to the treatment plan, witnessed by a therapist, shows on the plan."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mdt import services as mdt
from mdt.models import MdtItem
from tests.browser.conftest import assert_accessible, load_chart_panels, login, screenshot
from tests.factories import PatientFactory, UserFactory
from treatments import services as clinical
from treatments.models import PlanAgreement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_flag_discuss_with_a_task_and_a_verbal_plan_agreement(page, front_desk_user):
    surgeon = UserFactory(username="dr_mdt", first_name="Ada", last_name="Hart", roles=["surgeon"])
    therapist = UserFactory(username="theo_mdt", first_name="Theo", last_name="Marsh", roles=["therapist"])
    patient = PatientFactory(first_name="Niamh", last_name="Doyle")
    meeting = mdt.meeting_create(actor=surgeon, date=timezone.localdate() + timedelta(days=5))
    plan = clinical.plan_create(
        patient=patient,
        actor=surgeon,
        data={
            "goals": "Smile without the eye closing",
            "modalities": ["therapy", "toxin"],
            "stages": [{"modality": "therapy", "description": "3 months NMRT"}],
        },
    )

    # From the chart, the surgeon flags the patient for the next meeting with a question.
    login(page, surgeon)
    page.goto(f"{page.base}/patients/{patient.pk}/")
    load_chart_panels(page)
    expect(page.locator("#panel-mdt")).to_contain_text("Not discussed at an MDT meeting")
    page.locator("#panel-mdt").get_by_role("link", name="Flag for the MDT").click()
    page.get_by_label("Question for the team").fill("Synkinesis worse after toxin: selective neurolysis?")
    page.get_by_role("button", name="Add to the agenda").click()

    # The meeting's agenda, with the outcome recorded and a task for the front desk.
    expect(page.get_by_role("heading", name=re.compile("MDT meeting"))).to_be_visible()
    item = MdtItem.objects.get(patient=patient)
    assert item.meeting_id == meeting.pk
    entry = page.locator(f"#item-{item.pk}")
    expect(entry).to_contain_text("selective neurolysis?")
    assert_accessible(page)
    screenshot(page, "mdt-agenda")
    entry.get_by_role("textbox", name="Outcome", exact=True).fill(
        "Offer selective neurolysis; continue NMRT meanwhile."
    )
    entry.get_by_label("Decision").select_option("surgery")
    entry.get_by_label("Follow-up task for").select_option("front_desk")
    entry.get_by_label("Task", exact=True).fill("Book a surgical consultation")
    due = timezone.localdate() + timedelta(days=14)
    entry.get_by_label("Task due by").fill(due.isoformat())
    entry.get_by_role("button", name="Record outcome").click()
    expect(page.get_by_text("Outcome recorded for Niamh Doyle")).to_be_visible()
    expect(page.get_by_text("Nothing left on the agenda.")).to_be_visible()
    done = page.locator(f"#item-{item.pk}")
    expect(done).to_contain_text("Offer surgery")
    expect(done).to_contain_text("Front desk: Book a surgical consultation")

    # The patient agrees to the plan aloud, before the therapist; the plan says so.
    page.goto(f"{page.base}/clinical/plans/{plan.pk}/edit/")
    expect(page.locator("[data-plan-agreement]")).to_contain_text("Not yet agreed")
    page.get_by_role("link", name="Patient's agreement").click()
    page.get_by_label("Witness (member of staff who heard the patient agree)").select_option(
        str(therapist.pk)
    )
    page.get_by_role("button", name="Record verbal agreement").click()
    expect(page.get_by_text("The patient's verbal agreement is recorded.")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{page.base}/clinical/plans/{plan.pk}/edit/")
    expect(page.locator("[data-plan-agreement]")).to_contain_text(
        re.compile(r"Agreed by the patient on .*\(verbal, witnessed, witness Theo Marsh\)")
    )
    agreement = PlanAgreement.objects.get(plan=plan)
    assert (agreement.method, agreement.witness, agreement.recorded_by) == ("verbal", therapist, surgeon)

    # The front desk finds the task in their role's list and marks it done.
    page.context.clear_cookies()
    login(page, front_desk_user)
    page.goto(f"{page.base}/mdt/tasks/")
    row = page.locator("tbody tr").filter(has_text="Book a surgical consultation")
    expect(row).to_contain_text("Niamh Doyle")
    assert_accessible(page)
    row.get_by_role("button", name=re.compile("Mark done")).click()
    expect(page.get_by_text("No MDT tasks for you.")).to_be_visible()
