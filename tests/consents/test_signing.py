"""Template versions, the signing flows (tablet, link, API), the countersignature and its PDF,
withdrawal, and the database keeping signed consents as signed."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from clinic.errors import Invalid
from consents import documents, services
from consents.exceptions import ConsentNotAllowed, ConsentSigned, ConsentStateConflict, SignatureInvalid
from consents.links import consent_link_token
from consents.models import ConsentTemplate, PatientConsent, Procedure
from tests.consents.helpers import data_url, drawn_png, patient_signed, signed, start
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


# --- templates -------------------------------------------------------------------------------


def test_every_procedure_has_a_seeded_first_version_with_every_section():
    for procedure in Procedure.values:
        template = services.template_current(procedure)
        assert template.version == 1
        for _, text in template.sections:
            assert len(text) > 80


def test_editing_a_form_adds_a_version_and_keeps_the_signed_one(surgeon_user):
    patient = PatientFactory()
    consent = signed(patient, surgeon_user, "dao_excision")
    old = consent.template
    data = {name: getattr(old, name) for name in services.TEMPLATE_TEXT_FIELDS}
    data["risks"] = old.risks + "\nA new risk the clinic now mentions."
    new = services.template_revise(
        procedure="dao_excision", actor=surgeon_user, data={**data, "change_note": "x"}
    )
    assert new.version == 2
    assert services.template_current("dao_excision") == new
    old.refresh_from_db()
    assert "A new risk" not in old.risks
    consent.refresh_from_db()
    assert consent.template_id == old.pk
    # A consent started now uses the new version.
    assert start(patient, surgeon_user, "dao_excision").template == new


def test_an_unchanged_form_or_a_blank_section_is_not_a_version(surgeon_user):
    current = services.template_current("brow_lift")
    same = {name: getattr(current, name) for name in services.TEMPLATE_TEXT_FIELDS}
    with pytest.raises(Invalid):
        services.template_revise(procedure="brow_lift", actor=surgeon_user, data=same)
    with pytest.raises(Invalid) as exc:
        services.template_revise(procedure="brow_lift", actor=surgeon_user, data={**same, "risks": "  "})
    assert "risks" in exc.value.fields
    assert ConsentTemplate.objects.filter(procedure="brow_lift").count() == 1


def test_only_clinicians_of_the_procedure_edit_its_form(injector_user, therapist_user):
    current = services.template_current("muscle_transfer")
    data = {name: getattr(current, name) + " x" for name in services.TEMPLATE_TEXT_FIELDS}
    for user in (injector_user, therapist_user):
        with pytest.raises(ConsentNotAllowed):
            services.template_revise(procedure="muscle_transfer", actor=user, data=data)


def test_the_database_refuses_to_change_a_template_version():
    template = services.template_current("gold_weight")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentTemplate.objects.filter(pk=template.pk).update(risks="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentTemplate.objects.filter(pk=template.pk).delete()


# --- signing -----------------------------------------------------------------------------------


def test_start_needs_a_side_for_surgery_and_the_procedure_capability(
    surgeon_user, injector_user, therapist_user
):
    patient = PatientFactory()
    with pytest.raises(Invalid) as exc:
        services.consent_start(patient=patient, procedure="selective_neurolysis", actor=surgeon_user)
    assert "side" in exc.value.fields
    with pytest.raises(ConsentNotAllowed):
        start(patient, injector_user, "selective_neurolysis")
    with pytest.raises(ConsentNotAllowed):
        start(patient, therapist_user)
    assert start(patient, injector_user).status == PatientConsent.Status.AWAITING_PATIENT


def test_tablet_signing_and_countersigning_make_a_pdf_with_the_exact_text_and_hash(login_as, surgeon_user):
    patient = PatientFactory(first_name="Ada", last_name="Lovelace")
    consent = start(patient, surgeon_user, "dao_excision", details="left DAO")
    client = login_as(surgeon_user)
    page = client.get(reverse("consents:tablet", args=[consent.pk]))
    assert page.status_code == 200
    assert consent.template.risks.splitlines()[0][:40] in page.content.decode()
    response = client.post(
        reverse("consents:tablet", args=[consent.pk]),
        {"name": "Ada Lovelace", "method": "drawn", "signature": data_url(), "agree": "on"},
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    consent.refresh_from_db()
    assert consent.status == PatientConsent.Status.AWAITING_COUNTERSIGNATURE
    assert consent.patient_signed_via == "tablet"
    assert bytes(consent.patient_signature_png).startswith(b"\x89PNG")

    response = client.post(
        reverse("consents:countersign", args=[consent.pk]),
        {"name": "Dr S", "method": "typed", "typed_confirm": "on"},
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.status == PatientConsent.Status.SIGNED
    assert consent.content_sha256 == documents.content_hash(consent)

    response = client.get(reverse("consents:pdf", args=[consent.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    body = response.content
    assert hashlib.sha256(body).hexdigest() == consent.pdf_sha256
    text = _pdf_text(body)
    assert consent.content_sha256 in text.replace("\n", "")
    assert "Ada Lovelace" in text
    assert f"version {consent.template.version}" in text
    # The exact wording of the version signed (whitespace aside: the PDF wraps lines).
    flat = " ".join(text.split())
    for _, section in consent.template.sections:
        assert " ".join(section.split())[:120] in flat
    # The drawn patient signature is an image in it (the typed countersignature is text).
    reader = PdfReader(io.BytesIO(body))
    assert sum(len(page.images) for page in reader.pages) >= 1
    assert patient.mrn in text


def test_a_patient_signs_through_their_link_and_fetches_the_pdf_once_countersigned(client, surgeon_user):
    patient = PatientFactory()
    consent = start(patient, surgeon_user)
    url = reverse(
        "consent_links:sign", args=[consent_link_token(patient_id=patient.pk, consent_id=consent.pk)]
    )
    page = client.get(url)
    assert page.status_code == 200
    assert "Sign the consent form" in page.content.decode()
    # Not yet agreed: a form error, nothing signed.
    response = client.post(url, {"name": "Pat", "method": "typed", "typed_confirm": "on"})
    assert response.status_code == 400
    consent.refresh_from_db()
    assert consent.status == PatientConsent.Status.AWAITING_PATIENT
    response = client.post(url, {"name": "Pat", "method": "typed", "typed_confirm": "on", "agree": "on"})
    assert response.status_code == 200
    consent.refresh_from_db()
    assert consent.status == PatientConsent.Status.AWAITING_COUNTERSIGNATURE
    assert consent.patient_signed_via == "link" and consent.patient_signature_png is None
    pdf_url = reverse("consent_links:pdf", args=[url.split("/")[-2]])
    assert client.get(pdf_url).status_code == 404
    services.consent_countersign(
        consent=consent, actor=surgeon_user, method="drawn", signature_png=drawn_png()
    )
    response = client.get(pdf_url)
    assert response.status_code == 200 and response["Cache-Control"].startswith("no-store")
    assert "Pat" in _pdf_text(response.content)


def test_a_link_reaches_only_its_own_patient_and_expires(client, surgeon_user, settings):
    consent = start(PatientFactory(), surgeon_user)
    other = PatientFactory()
    forged = consent_link_token(patient_id=other.pk, consent_id=consent.pk)
    assert client.get(reverse("consent_links:sign", args=[forged])).status_code == 400
    assert client.get(reverse("consent_links:sign", args=["not-a-token"])).status_code == 400
    token = consent_link_token(patient_id=consent.patient_id, consent_id=consent.pk)
    settings.CONSENT_LINK_MAX_AGE_DAYS = 0
    import time_machine

    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert client.get(reverse("consent_links:sign", args=[token])).status_code == 410


def test_bad_signatures_are_refused_with_a_form_error(login_as, surgeon_user):
    consent = start(PatientFactory(), surgeon_user)
    client = login_as(surgeon_user)
    url = reverse("consents:tablet", args=[consent.pk])
    blank = io.BytesIO()
    from PIL import Image

    Image.new("RGBA", (50, 20), (0, 0, 0, 0)).save(blank, format="PNG")
    for signature in (
        "",
        "data:image/png;base64,AAAA",
        data_url(blank.getvalue()),
        "data:image/jpeg;base64,/9j/",
    ):
        response = client.post(url, {"name": "Pat", "method": "drawn", "signature": signature, "agree": "on"})
        assert response.status_code == 400
    # Typed without the confirmation.
    response = client.post(url, {"name": "Pat", "method": "typed", "agree": "on"})
    assert response.status_code == 400
    consent.refresh_from_db()
    assert consent.status == PatientConsent.Status.AWAITING_PATIENT


def test_signature_png_checks():
    from consents.signatures import png_from_data_url

    assert png_from_data_url(data_url()).startswith(b"\x89PNG")
    truncated = drawn_png()[:60]
    for bad in (data_url(truncated), "data:image/png;base64,!!!", "x"):
        with pytest.raises(SignatureInvalid):
            png_from_data_url(bad)


def test_countersign_needs_the_patient_first_and_happens_once(surgeon_user, injector_user):
    patient = PatientFactory()
    consent = start(patient, surgeon_user, "brow_lift")
    with pytest.raises(ConsentStateConflict):
        services.consent_countersign(
            consent=consent, actor=surgeon_user, method="drawn", signature_png=drawn_png()
        )
    consent = patient_signed(patient, surgeon_user, "brow_lift")
    with pytest.raises(ConsentNotAllowed):
        services.consent_countersign(
            consent=consent, actor=injector_user, method="drawn", signature_png=drawn_png()
        )
    services.consent_countersign(
        consent=consent, actor=surgeon_user, method="drawn", signature_png=drawn_png()
    )
    with pytest.raises(ConsentSigned):
        services.consent_countersign(
            consent=consent, actor=surgeon_user, method="drawn", signature_png=drawn_png()
        )


def test_a_signed_consent_never_changes_but_its_withdrawal_is_recorded(surgeon_user, therapist_user):
    consent = signed(PatientFactory(), surgeon_user)
    stored = storages["private"].open(consent.pdf_name, "rb").read()
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientConsent.objects.filter(pk=consent.pk).update(details="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientConsent.objects.filter(pk=consent.pk).delete()
    with pytest.raises(Invalid):
        services.consent_withdraw(consent=consent, actor=therapist_user, reason=" ")
    withdrawn = services.consent_withdraw(
        consent=consent, actor=therapist_user, reason="Patient changed their mind"
    )
    assert withdrawn.status == PatientConsent.Status.WITHDRAWN
    assert withdrawn.withdrawn_by == therapist_user and withdrawn.withdrawn_at is not None
    # The PDF is as it was signed.
    assert services.consent_pdf_read(consent=withdrawn) == stored
    with pytest.raises(ConsentStateConflict):
        services.consent_withdraw(consent=withdrawn, actor=therapist_user, reason="again")
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientConsent.objects.filter(pk=consent.pk).update(withdrawal_reason="changed")


def test_a_pdf_changed_in_storage_is_not_served(login_as, surgeon_user):
    consent = signed(PatientFactory(), surgeon_user)
    storage = storages["private"]
    with open(storage.path(consent.pdf_name), "ab") as handle:
        handle.write(b"%tampered")
    response = login_as(surgeon_user).get(reverse("consents:pdf", args=[consent.pk]))
    assert response.status_code == 404


def test_the_pdf_is_private(surgeon_user, client):
    consent = signed(PatientFactory(), surgeon_user)
    # Stored under the private storage's directory, not under MEDIA_ROOT or a static root.
    assert storages["private"].exists(consent.pdf_name)
    assert client.get("/media/" + consent.pdf_name).status_code == 404


def test_a_patient_merge_moves_signed_consents_to_the_survivor(surgeon_user, manager_user):
    from patients.services import patient_merge

    survivor, duplicate = PatientFactory(), PatientFactory()
    consent = signed(duplicate, surgeon_user)
    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)
    consent.refresh_from_db()
    assert consent.patient_id == survivor.pk and consent.status == PatientConsent.Status.SIGNED
    # Outside a merge, the signed consent still cannot change patient.
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientConsent.objects.filter(pk=consent.pk).update(patient_id=duplicate.pk)
