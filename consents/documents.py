"""The signed consent as a document: its canonical content, the SHA-256 of that content, and
the PDF made from it with WeasyPrint.

The content hash covers what was agreed: the exact template version's text, the patient, the
procedure and side, both signatures (the SHA-256 of each image, or the typed name) and their
times. It is printed in the PDF, so a printed copy can be checked against the record
(``content_sha256``); the PDF file's own SHA-256 (``pdf_sha256``) is checked every time the
file is served.
"""

import hashlib
import json
from datetime import UTC

from django.template.loader import render_to_string
from django.utils import timezone

from .models import PatientConsent
from .signatures import data_url


def _sha(data) -> str:
    return hashlib.sha256(bytes(data)).hexdigest() if data else ""


def _when(moment) -> str:
    return moment.astimezone(UTC).isoformat() if moment else ""


def canonical_content(consent: PatientConsent) -> dict:
    template = consent.template
    patient = consent.patient
    countersigner = consent.countersigned_by
    return {
        "consent": consent.pk,
        "patient": {
            "id": patient.pk,
            "mrn": patient.mrn,
            "name": f"{patient.first_name} {patient.last_name}",
            "date_of_birth": patient.date_of_birth.isoformat(),
        },
        "template": {
            "procedure": template.procedure,
            "version": template.version,
            "title": template.title,
            "sections": [[heading, text] for heading, text in template.sections],
        },
        "side": consent.side,
        "details": consent.details,
        "patient_signature": {
            "name": consent.patient_signed_name,
            "method": consent.patient_signature_method,
            "image_sha256": _sha(consent.patient_signature_png),
            "at": _when(consent.patient_signed_at),
            "via": consent.patient_signed_via,
        },
        "countersignature": {
            "clinician_id": countersigner.pk if countersigner else None,
            "clinician": countersigner.get_full_name() or countersigner.get_username()
            if countersigner
            else "",
            "method": consent.countersignature_method,
            "image_sha256": _sha(consent.countersignature_png),
            "at": _when(consent.countersigned_at),
        },
    }


def content_hash(consent: PatientConsent) -> str:
    text = json.dumps(canonical_content(consent), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fetcher():
    """WeasyPrint fetches nothing from the network or the disk: the document's only images are
    inline data URLs."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), fail_on_errors=True)


def render_pdf(consent: PatientConsent, *, content_sha256: str, clinic_name: str) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "consents/pdf.html",
        {
            "consent": consent,
            "template": consent.template,
            "patient": consent.patient,
            "patient_signature": data_url(consent.patient_signature_png),
            "countersignature": data_url(consent.countersignature_png),
            "content_sha256": content_sha256,
            "clinic_name": clinic_name,
            "signed_at": timezone.localtime(consent.patient_signed_at),
            "countersigned_at": timezone.localtime(consent.countersigned_at),
        },
    )
    return HTML(string=html, url_fetcher=_fetcher()).write_pdf(pdf_identifier=content_sha256[:32].encode())
