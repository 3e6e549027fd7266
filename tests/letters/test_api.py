"""The API: a letter's life (draft from the record, edit, sign, send, PDF), refusals with stable
codes, who may do what, and the pages' refusals shown as form errors."""

import hashlib

import pytest

from clinic.models import AuditEvent
from letters.models import LetterDelivery
from tests.letters import helpers

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(surgeon_user):
    patient = helpers.patient()
    encounter = helpers.consultation(patient, surgeon_user)
    return patient, encounter


def test_a_letter_through_the_api_from_draft_to_email(surgeon, record, django_capture_on_commit_callbacks):
    patient, encounter = record
    response = surgeon.post(
        "/api/v1/letters/",
        {"patient": patient.pk, "kind": "consultation", "encounter": encounter.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    letter = response.json()
    assert letter["status"] == "draft" and letter["encounter"] == encounter.pk
    assert "Examination: Oral-ocular synkinesis" in letter["body"]
    url = f"/api/v1/letters/{letter['id']}/"

    # Sending a draft: 409, stable code.
    early = surgeon.post(url + "send/", {"to_gp": True}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "letter_not_signed"
    assert surgeon.get(url + "pdf/").json()["code"] == "letter_not_signed"

    edited = surgeon.patch(url, {"body": letter["body"] + "\n\nAdded by hand."}, format="json")
    assert edited.status_code == 200 and edited.json()["body"].endswith("Added by hand.")
    assert surgeon.patch(url, {"subject": ""}, format="json").status_code == 400

    signed = surgeon.post(url + "sign/")
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    again = surgeon.patch(url, {"body": "Changed after signing."}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "letter_signed"

    pdf = surgeon.get(url + "pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "no-store" in pdf["Cache-Control"]
    assert hashlib.sha256(pdf.content).hexdigest() == signed.json()["pdf_sha256"]

    with django_capture_on_commit_callbacks():
        sent = surgeon.post(url + "send/", {"to_gp": True, "to_patient": True}, format="json")
    assert sent.status_code == 200, sent.json()
    assert sorted(d["recipient"] for d in sent.json()["deliveries"]) == ["gp", "patient"]

    listed = surgeon.get("/api/v1/letters/", {"patient": patient.pk}).json()
    assert [row["id"] for row in listed["results"]] == [letter["id"]]
    assert surgeon.get("/api/v1/letters/", {"patient": patient.pk, "status": "draft"}).json()["count"] == 0
    actions = set(AuditEvent.objects.filter(patient_id=patient.pk).values_list("action", flat=True))
    expected = {"drafted", "updated", "signed", "sent", "listed", "pdf_viewed"}
    assert {f"letter.{action}" for action in expected} <= actions


def test_no_recipient_email_is_a_clear_400(surgeon, surgeon_user, record):
    patient, _ = record
    patient.referrer_email = ""
    patient.save()
    letter = helpers.signed_letter(patient, surgeon_user)
    response = surgeon.post(f"/api/v1/letters/{letter.pk}/send/", {"to_referrer": True}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "recipient_email_missing" and "to_referrer" in body["fields"]
    nobody = surgeon.post(f"/api/v1/letters/{letter.pk}/send/", {}, format="json")
    assert nobody.status_code == 400 and nobody.json()["code"] == "letter_no_recipient"
    assert not LetterDelivery.objects.exists()


def test_nothing_to_summarise_and_a_correction(surgeon, surgeon_user, record):
    patient, _ = record
    nothing = surgeon.post("/api/v1/letters/", {"patient": patient.pk, "kind": "procedure"}, format="json")
    assert nothing.status_code == 400 and nothing.json()["code"] == "letter_nothing_to_summarise"
    letter = helpers.signed_letter(patient, surgeon_user)
    correction = surgeon.post("/api/v1/letters/", {"patient": patient.pk, "amends": letter.pk}, format="json")
    assert correction.status_code == 201 and correction.json()["amends"] == letter.pk
    assert correction.json()["kind"] == "consultation"


@pytest.mark.parametrize(
    ("persona", "may"),
    [("surgeon", True), ("injector", True), ("therapist", True), ("front_desk", False), ("manager", False)],
)
def test_clinicians_only(request, persona, may, record):
    patient, _ = record
    client = request.getfixturevalue(persona)
    listed = client.get("/api/v1/letters/")
    drafted = client.post("/api/v1/letters/", {"patient": patient.pk, "kind": "consultation"}, format="json")
    assert listed.status_code == (200 if may else 403)
    assert drafted.status_code == (201 if may else 403)


def test_pages_draft_edit_sign_and_refuse_a_send_without_an_address(client, surgeon_user, record):
    patient, encounter = record
    patient.gp_email = ""
    patient.save()
    client.force_login(surgeon_user)
    page = client.get(f"/letters/patient/{patient.pk}/?encounter={encounter.pk}")
    assert page.status_code == 200 and b"Write draft" in page.content
    created = client.post(
        f"/letters/patient/{patient.pk}/", {"kind": "consultation", "encounter": encounter.pk}
    )
    assert created.status_code == 302
    url = created["Location"]
    saved = client.post(url, {"subject": "Consultation summary", "body": "Dear Dr Gill,\n\nAll well."})
    assert saved.status_code == 302
    assert client.get(url + "pdf/").content.startswith(b"%PDF")  # the draft's preview
    assert client.post(url + "sign/").status_code == 302
    refused = client.post(url + "send/", {"to_gp": "on"})
    assert refused.status_code == 400
    assert b"no email address for the GP" in refused.content
    assert client.post(url, {"subject": "x", "body": "y"}).status_code == 400  # signed: read-only
    chart_panel = client.get(f"/patients/{patient.pk}/panels/letters/")
    assert chart_panel.status_code == 200 and b"Consultation summary" in chart_panel.content
