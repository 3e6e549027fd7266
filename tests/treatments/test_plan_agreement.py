"""The patient's agreement to a plan version: tablet signature, verbal with a witness, the
patient's link; a new version needs a new agreement; the old one stays in the history."""

import re

import pytest
from django.test import Client

from clinic.audit import AuditEvent
from tests.consents.helpers import data_url
from treatments.agreements import agreement_link_url
from treatments.models import PlanAgreement, TreatmentPlan

from .test_api_assessments_plans_lots import plan_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(surgeon, patient):
    response = surgeon.post("/api/v1/treatment-plans/", plan_payload(patient), format="json")
    assert response.status_code == 201, response.json()
    return TreatmentPlan.objects.get(pk=response.json()["id"])


def agree(client, plan, **body):
    return client.post(f"/api/v1/treatment-plans/{plan.pk}/agreement/", body, format="json")


def test_a_new_plan_is_not_yet_agreed(surgeon, plan):
    body = surgeon.get(f"/api/v1/treatment-plans/{plan.pk}/").json()
    assert body["version"] == 1
    assert body["agreement"] is None
    assert body["agreements"] == []


def test_verbal_agreement_names_the_witness_and_is_read_back(surgeon, surgeon_user, therapist_user, plan):
    response = agree(surgeon, plan, method="verbal", witness=therapist_user.pk, version=1)
    assert response.status_code == 201, response.json()
    agreement = response.json()["agreement"]
    assert agreement["method"] == "verbal"
    assert agreement["witness"]["id"] == therapist_user.pk
    assert agreement["recorded_by"]["id"] == surgeon_user.pk
    assert agreement["plan_version"] == 1
    event = AuditEvent.objects.filter(action="treatment_plan.agreed").get()
    assert event.changes["method"] == "verbal"
    assert PlanAgreement.history.count() == 1


def test_verbal_agreement_needs_a_staff_witness(surgeon, plan):
    response = agree(surgeon, plan, method="verbal")
    assert response.status_code == 400
    assert "witness" in response.json()["fields"]


def test_tablet_signature_is_kept_as_a_png(surgeon, plan):
    response = agree(surgeon, plan, method="tablet", signer_name="Pat Example", signature=data_url())
    assert response.status_code == 201, response.json()
    stored = PlanAgreement.objects.get()
    assert bytes(stored.signature_png).startswith(b"\x89PNG")
    assert stored.signer_name == "Pat Example"


def test_tablet_signature_that_is_not_a_png_is_refused(surgeon, plan):
    response = agree(
        surgeon, plan, method="tablet", signer_name="Pat", signature="data:image/png;base64,AAAA"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "signature_invalid"


def test_twice_for_one_version_is_409(surgeon, therapist_user, plan):
    agree(surgeon, plan, method="verbal", witness=therapist_user.pk)
    response = agree(surgeon, plan, method="verbal", witness=therapist_user.pk)
    assert response.status_code == 409
    assert response.json()["code"] == "plan_already_agreed"


def test_a_new_version_needs_a_new_agreement_and_the_old_one_stays(surgeon, therapist_user, plan):
    agree(surgeon, plan, method="verbal", witness=therapist_user.pk)
    # The status is the clinic's: no new version.
    surgeon.patch(f"/api/v1/treatment-plans/{plan.pk}/", {"status": "on_hold"}, format="json")
    assert surgeon.get(f"/api/v1/treatment-plans/{plan.pk}/").json()["agreement"] is not None
    response = surgeon.patch(
        f"/api/v1/treatment-plans/{plan.pk}/", {"goals": "Close the eye fully"}, format="json"
    )
    body = response.json()
    assert body["version"] == 2
    assert body["agreement"] is None
    assert [a["plan_version"] for a in body["agreements"]] == [1]
    stale = agree(surgeon, plan, method="verbal", witness=therapist_user.pk, version=1)
    assert stale.status_code == 409
    assert stale.json()["code"] == "plan_changed"
    assert agree(surgeon, plan, method="verbal", witness=therapist_user.pk, version=2).status_code == 201


def test_writing_needs_record_consultation(front_desk, manager, therapist_user, plan):
    assert agree(front_desk, plan, method="verbal", witness=therapist_user.pk).status_code == 403
    assert agree(manager, plan, method="verbal", witness=therapist_user.pk).status_code == 403


def test_the_patients_link_reads_the_plan_and_agrees(plan):
    url = agreement_link_url(plan).split("://", 1)[1]
    path = "/" + url.split("/", 1)[1]
    public = Client()
    page = public.get(path)
    assert page.status_code == 200
    assert "Smile without the eye closing" in page.content.decode()
    assert public.post(path, {"name": "Pat"}).status_code == 400
    done = public.post(path, {"agree": "yes", "name": "Pat Example"})
    assert done.status_code == 200
    assert "you agreed to this plan" in done.content.decode()
    agreement = PlanAgreement.objects.get()
    assert (agreement.method, agreement.recorded_by, agreement.signer_name) == ("link", None, "Pat Example")


def test_a_link_to_an_old_version_does_not_agree_to_the_new_one(surgeon, plan):
    path = "/" + agreement_link_url(plan).split("://", 1)[1].split("/", 1)[1]
    surgeon.patch(f"/api/v1/treatment-plans/{plan.pk}/", {"goals": "Something else"}, format="json")
    page = Client().get(path)
    assert "has changed" in page.content.decode()
    response = Client().post(path, {"agree": "yes"})
    assert response.status_code == 409
    assert not PlanAgreement.objects.exists()


def test_plan_pages_show_the_agreement(login_as, surgeon_user, therapist_user, plan):
    client = login_as(surgeon_user)
    page = client.get(f"/clinical/plans/{plan.pk}/agreement/").content.decode()
    assert "Not yet agreed" in page
    response = client.post(
        f"/clinical/plans/{plan.pk}/agreement/",
        {"method": "verbal", "witness": therapist_user.pk, "version": 1},
    )
    assert response.status_code == 302
    edit = client.get(f"/clinical/plans/{plan.pk}/edit/").content.decode()
    assert re.search(r"Agreed by the patient on .* \(verbal, witnessed", edit)
    made = client.post(f"/clinical/plans/{plan.pk}/agreement/", {"method": "link"})
    assert made.status_code == 200


def test_a_link_made_for_another_patient_reaches_no_plan(plan):
    from scheduling.reminders.links import link_url
    from tests.factories import PatientFactory

    other = PatientFactory()
    url = link_url(patient_id=other.pk, action="plan_agreement", target=f"{plan.pk}:{plan.version}")
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    assert Client().get(path).status_code == 400
    assert Client().post(path, {"agree": "yes"}).status_code == 400
    assert not PlanAgreement.objects.exists()
