"""The API: forms and their versions, a consent's whole life (start, sign, countersign, PDF,
link, withdraw), refusals with stable codes, who may do what, the audit trail and FHIR."""

import hashlib

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent as FhirConsent

from clinic.models import AuditEvent
from consents.fhir import consent_resource
from consents.models import PatientConsent
from tests.consents.helpers import data_url, signed, start
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_a_consent_through_the_api_from_start_to_pdf(surgeon, injector, patient_factory=PatientFactory):
    patient = patient_factory()
    response = surgeon.post(
        "/api/v1/procedure-consents/",
        {"patient": patient.pk, "procedure": "gold_weight", "side": "right", "details": "1.2 g"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    consent = response.json()
    assert consent["status"] == "awaiting_patient" and consent["template_version"] == 1
    url = f"/api/v1/procedure-consents/{consent['id']}/"

    link = surgeon.post(url + "link/").json()
    assert "/p/consent/" in link["url"] and link["valid_days"] == 14

    # Countersigning first: 409 with a stable code.
    early = surgeon.post(url + "countersign/", {"signature_method": "typed"}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "consent_state"

    bad = surgeon.post(
        url + "sign/",
        {"name": "Pat", "signature_method": "drawn", "signature": "data:image/png;base64,AAAA"},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "signature_invalid"
    assert "signature" in bad.json()["fields"]

    signed_ = surgeon.post(
        url + "sign/",
        {"name": "Pat Example", "signature_method": "drawn", "signature": data_url()},
        format="json",
    )
    assert signed_.status_code == 200 and signed_.json()["status"] == "awaiting_countersignature"
    # An injector may not countersign a surgical consent.
    refused = injector.post(url + "countersign/", {"signature_method": "typed"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "consent_not_allowed"
    done = surgeon.post(url + "countersign/", {"signature_method": "typed"}, format="json").json()
    assert done["status"] == "signed" and done["pdf_available"] and len(done["content_sha256"]) == 64

    pdf = surgeon.get(url + "pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Cache-Control"].startswith("no-store")
    assert hashlib.sha256(pdf.content).hexdigest() == done["pdf_sha256"]
    assert pdf.content.startswith(b"%PDF-")

    again = surgeon.post(url + "countersign/", {"signature_method": "typed"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "consent_signed"

    withdrawn = surgeon.post(url + "withdraw/", {"reason": "Decided against surgery"}, format="json").json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawal_reason"] == "Decided against surgery"
    assert withdrawn["withdrawn_by"]["id"]
    actions = set(
        AuditEvent.objects.filter(patient_id=patient.pk, action__startswith="consent.").values_list(
            "action", flat=True
        )
    )
    assert {
        "consent.started",
        "consent.patient_signed",
        "consent.countersigned",
        "consent.pdf_viewed",
    } <= actions
    assert "consent.withdrawn" in actions


def test_bad_input_gets_field_errors_and_writes_nothing(surgeon):
    patient = PatientFactory()
    response = surgeon.post(
        "/api/v1/procedure-consents/", {"patient": patient.pk, "procedure": "brow_lift"}, format="json"
    )
    assert response.status_code == 400 and "side" in response.json()["fields"]
    response = surgeon.post(
        "/api/v1/procedure-consents/", {"patient": patient.pk, "procedure": "nose_job"}, format="json"
    )
    assert response.status_code == 400 and "procedure" in response.json()["fields"]
    assert not PatientConsent.objects.exists()


def test_a_new_form_version_through_the_api(surgeon, therapist):
    current = surgeon.get("/api/v1/consent-templates/", {"procedure": "muscle_transfer"}).json()["results"][0]
    body = {
        k: current[k]
        for k in ("procedure", "title", "description", "benefits", "alternatives", "what_to_expect")
    }
    body["risks"] = current["risks"] + "\nAnother risk."
    assert therapist.post("/api/v1/consent-templates/", body, format="json").status_code == 403
    response = surgeon.post("/api/v1/consent-templates/", body, format="json")
    assert response.status_code == 201 and response.json()["version"] == 2
    versions = surgeon.get("/api/v1/consent-templates/", {"procedure": "muscle_transfer"}).json()["results"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["risks"] == current["risks"]


@pytest.mark.parametrize("persona", ["front_desk", "manager", "anon_api"])
def test_front_desk_manager_and_anonymous_get_no_consent(request, persona, surgeon_user):
    consent = signed(PatientFactory(), surgeon_user)
    client = request.getfixturevalue(persona)
    for url in (
        "/api/v1/procedure-consents/",
        f"/api/v1/procedure-consents/{consent.pk}/",
        f"/api/v1/procedure-consents/{consent.pk}/pdf/",
        "/api/v1/consent-templates/",
    ):
        response = client.get(url)
        assert response.status_code in (401, 403), (persona, url, response.status_code)
        assert b"%PDF" not in response.content and consent.content_sha256.encode() not in response.content


@pytest.mark.parametrize("role", ["front_desk", "manager"])
def test_the_chart_shows_consents_to_clinicians_only(login_as, request, role, surgeon_user):
    patient = PatientFactory()
    signed(patient, surgeon_user, "dao_excision")
    other = login_as(request.getfixturevalue(f"{role}_user"))
    assert other.get(f"/patients/{patient.pk}/panels/procedure_consents/").status_code in (403, 404)
    assert other.get(f"/consents/patient/{patient.pk}/").status_code == 403
    page = login_as(surgeon_user).get(f"/patients/{patient.pk}/panels/procedure_consents/")
    assert page.status_code == 200 and "Depressor anguli oris" in page.content.decode()


def test_the_fhir_export_has_valid_consent_resources(surgeon, surgeon_user):
    patient = PatientFactory()
    done = signed(patient, surgeon_user, "selective_neurolysis")
    start(patient, surgeon_user)
    bundle = surgeon.get(f"/api/v1/fhir/Patient/{patient.pk}/$everything").json()
    Bundle.model_validate(bundle)
    consents = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"]
    assert [c["status"] for c in consents] == ["active", "proposed"]
    resource = FhirConsent.model_validate(consent_resource(done))
    assert resource.provision.code[0].coding[0].code == "selective_neurolysis"
    assert done.pdf_sha256 in resource.sourceAttachment.title
