"""A letter as a document: its canonical content, the SHA-256 of that content, and the PDF made
from it with WeasyPrint (as consents.documents makes the signed consent).

The content hash covers what was signed: the letter's kind, subject and text, the patient, the
recipients' names as the record held them, the signer and the time. It is printed at the foot of
the PDF, so a printed copy can be checked against the record; the PDF file's own SHA-256
(``pdf_sha256``) is checked every time the file is read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from clinic.models import ClinicSettings

from .models import Letter


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_content(letter: Letter) -> dict[str, Any]:
    patient = letter.patient
    signer = letter.signed_by
    return {
        "letter": letter.pk,
        "kind": letter.kind,
        "amends": letter.amends_id,
        "encounter": letter.encounter_id,
        "patient": {
            "id": patient.pk,
            "mrn": patient.mrn,
            "name": f"{patient.first_name} {patient.last_name}",
            "date_of_birth": patient.date_of_birth.isoformat(),
        },
        "to": {"gp": [patient.gp_name, patient.gp_practice], "referrer": patient.referring_clinician},
        "subject": letter.subject,
        "body": letter.body,
        "signed_by": {"id": signer.pk, "name": signer.get_full_name() or signer.get_username()}
        if signer
        else None,
        "signed_at": letter.signed_at.astimezone(UTC).isoformat() if letter.signed_at else "",
    }


def content_hash(letter: Letter) -> str:
    text = json.dumps(canonical_content(letter), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return sha256(text.encode("utf-8"))


def letter_context(letter: Letter) -> dict[str, Any]:
    """What the letter's page preview and its PDF both show (templates/letters/_letter.html)."""
    clinic = ClinicSettings.load()
    signer = letter.signed_by
    return {
        "letter": letter,
        "patient": letter.patient,
        "clinic_name": clinic.display_name,
        "clinic_address": clinic.clinic_address,
        "clinic_phone": clinic.clinic_phone,
        "dated": timezone.localdate(letter.signed_at) if letter.signed_at else timezone.localdate(),
        "signer": (signer.get_full_name() or signer.get_username()) if signer else "",
        "paragraphs": [p for p in letter.body.split("\n\n") if p.strip()],
    }


def _fetcher() -> Any:
    """WeasyPrint fetches nothing from the network or the disk: the letter has no images."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), fail_on_errors=True)


def render_pdf(letter: Letter, *, content_sha256: str = "", draft: bool = False) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "letters/pdf.html", {**letter_context(letter), "content_sha256": content_sha256, "draft": draft}
    )
    identifier = (content_sha256 or "0" * 32)[:32].encode()
    pdf: bytes = HTML(string=html, url_fetcher=_fetcher()).write_pdf(pdf_identifier=identifier)
    return pdf
