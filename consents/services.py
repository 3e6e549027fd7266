"""Everything that changes a consent form or a patient's consent. Pages, the API and the patient
link all call these; each checks who may act, refuses what the state does not allow (a stable
code, clinic.errors), keeps history and writes the audit trail.

Who may act (docs/consents.md): a consent for botulinum toxin is started, taken on the tablet and
countersigned by clinicians who may record toxin sessions (clinic.record_toxin); a surgical
consent by those who may record surgery (clinic.record_surgery). Any clinician may record a
withdrawal. Front desk and the practice manager do none of this: a consent names a procedure,
which is clinical content.
"""

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from clinic.audit import acting_user, attribute, audit_record
from clinic.errors import Invalid
from clinic.models import ClinicSettings

from . import documents
from .exceptions import ConsentNotAllowed, ConsentPdfDamaged, ConsentSigned, ConsentStateConflict
from .models import SECTIONS, SURGICAL_PROCEDURES, ConsentTemplate, PatientConsent, Procedure, Side

logger = logging.getLogger(__name__)

Status = PatientConsent.Status
Method = PatientConsent.SignatureMethod
Via = PatientConsent.Via
TEMPLATE_TEXT_FIELDS = ("title", *(name for name, _ in SECTIONS))
TEMPLATE_LIMITS = {"title": 200, "change_note": 300}
TEXT_MAX = 20_000


def capability_for(procedure: str) -> str:
    return "clinic.record_surgery" if procedure in SURGICAL_PROCEDURES else "clinic.record_toxin"


def may_take_consent(user, procedure: str) -> bool:
    """Start, take on the tablet, countersign, and edit the form of ``procedure``."""
    return bool(
        user and user.is_authenticated and user.has_perms(["clinic.view_clinical", capability_for(procedure)])
    )


def may_withdraw(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.has_perms(["clinic.view_clinical", "clinic.record_consultation"])
    )


def _check_procedure(procedure) -> str:
    if procedure not in Procedure.values:
        raise Invalid(fields={"procedure": ["Choose one of the procedures that have a consent form."]})
    return procedure


# --- templates ------------------------------------------------------------------------------------


def template_current(procedure: str) -> ConsentTemplate:
    template = (
        ConsentTemplate.objects.filter(procedure=_check_procedure(procedure)).order_by("-version").first()
    )
    if template is None:
        raise Invalid(fields={"procedure": ["This procedure has no consent form yet."]})
    return template


@transaction.atomic
def template_revise(*, procedure: str, actor, data: dict) -> ConsentTemplate:
    """A new version of a procedure's form (``data``: title, the sections, change_note). The
    versions before it never change; consents already started keep the version they show."""
    _check_procedure(procedure)
    if not may_take_consent(actor, procedure):
        raise ConsentNotAllowed()
    errors: dict[str, list[str]] = {}
    values = {}
    for name in (*TEMPLATE_TEXT_FIELDS, "change_note"):
        value = data.get(name, "")
        value = value.strip() if isinstance(value, str) else ""
        limit = TEMPLATE_LIMITS.get(name, TEXT_MAX)
        if not value and name != "change_note":
            errors[name] = ["This field is required."]
        elif len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
        values[name] = value
    if errors:
        raise Invalid(fields=errors)
    # Versions of one form are numbered in turn: lock the form's rows while taking the next.
    versions = list(
        ConsentTemplate.objects.select_for_update()
        .filter(procedure=procedure)
        .values_list("version", flat=True)
    )
    current = ConsentTemplate.objects.filter(procedure=procedure).order_by("-version").first()
    if current is not None and all(getattr(current, f) == values[f] for f in TEMPLATE_TEXT_FIELDS):
        raise Invalid("Nothing changed: the form is the same as its current version.", fields={})
    template = ConsentTemplate.objects.create(
        procedure=procedure, version=max(versions, default=0) + 1, created_by=acting_user(actor), **values
    )
    audit_record(
        actor=actor, action="consent_template.created", target=template, changes={"version": template.version}
    )
    return template


# --- consents -------------------------------------------------------------------------------------


def _lock(consent: PatientConsent) -> PatientConsent:
    return PatientConsent.objects.select_for_update().select_related("template", "patient").get(pk=consent.pk)


def _save(consent: PatientConsent, actor, *, action: str, changes: dict | None = None) -> None:
    attribute(consent, actor)
    consent.save()
    audit_record(actor=actor, action=action, target=consent, patient_id=consent.patient_id, changes=changes)


@transaction.atomic
def consent_start(*, patient, procedure: str, actor, side: str = "", details: str = "") -> PatientConsent:
    """A consent on the current version of ``procedure``'s form, waiting for the patient."""
    template = template_current(procedure)
    if not may_take_consent(actor, procedure):
        raise ConsentNotAllowed()
    errors = {}
    if patient.status != patient.Status.ACTIVE:
        errors["patient"] = ["This patient's record is not active."]
    if side and side not in Side.values:
        errors["side"] = ["Choose left, right or both sides."]
    if procedure in SURGICAL_PROCEDURES and not side:
        errors["side"] = ["Say which side the operation is on."]
    details = (details or "").strip()
    if len(details) > 300:
        errors["details"] = ["At most 300 characters."]
    if errors:
        raise Invalid(fields=errors)
    consent = PatientConsent(
        patient=patient,
        template=template,
        procedure=procedure,
        side=side,
        details=details,
        created_by=acting_user(actor),
    )
    _save(
        consent,
        actor,
        action="consent.started",
        changes={"procedure": procedure, "version": template.version},
    )
    return consent


def _signature(method: str, name: str, png: bytes | None, *, field: str) -> tuple[str, bytes | None]:
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = ["Type the name of the person signing."]
    elif len(name) > 200:
        errors["name"] = ["At most 200 characters."]
    if method == Method.DRAWN:
        if not png:
            errors[field] = ["Draw the signature, or type the name and confirm instead."]
    elif method == Method.TYPED:
        png = None
    else:
        errors["method"] = ["Sign by drawing, or by typing the name and confirming."]
    if errors:
        raise Invalid(fields=errors)
    return name, png


@transaction.atomic
def consent_patient_sign(
    *, consent: PatientConsent, name: str, method: str, signature_png: bytes | None, via: str, actor=None
) -> PatientConsent:
    """The patient's signature (or their representative's; ``name`` says who signed).

    ``via`` is tablet (at the clinic, a clinician who may take this consent holds the session),
    link (the patient's own signed link: no user), or api."""
    consent = _lock(consent)
    if via in (Via.TABLET, Via.API) and not may_take_consent(actor, consent.procedure):
        raise ConsentNotAllowed()
    if consent.status != Status.AWAITING_PATIENT:
        raise ConsentStateConflict("This consent is not waiting for the patient's signature.")
    name, png = _signature(method, name, signature_png, field="signature")
    consent.patient_signed_at = timezone.now()
    consent.patient_signed_name = name
    consent.patient_signature_method = method
    consent.patient_signature_png = png
    consent.patient_signed_via = via
    consent.status = Status.AWAITING_COUNTERSIGNATURE
    _save(consent, actor, action="consent.patient_signed", changes={"via": via, "method": method})
    return consent


@transaction.atomic
def consent_countersign(
    *, consent: PatientConsent, actor, method: str, signature_png: bytes | None
) -> PatientConsent:
    """The clinician's countersignature: the consent is complete. Its PDF is made now, stored in
    the private storage with its hash, and never made again."""
    consent = _lock(consent)
    if not may_take_consent(actor, consent.procedure):
        raise ConsentNotAllowed()
    if consent.status == Status.SIGNED:
        raise ConsentSigned()
    if consent.status != Status.AWAITING_COUNTERSIGNATURE:
        raise ConsentStateConflict("The patient has not signed this consent yet, or it was withdrawn.")
    name = actor.get_full_name() or actor.get_username()
    _, png = _signature(method, name, signature_png, field="signature")
    consent.countersigned_at = timezone.now()
    consent.countersigned_by = actor
    consent.countersignature_method = method
    consent.countersignature_png = png
    consent.content_sha256 = documents.content_hash(consent)
    pdf = documents.render_pdf(
        consent, content_sha256=consent.content_sha256, clinic_name=ClinicSettings.load().display_name
    )
    storage = storages["private"]
    stored = storage.save(
        f"consents/{consent.patient_id}/consent-{consent.pk}-{consent.content_sha256[:16]}.pdf",
        ContentFile(pdf),
    )
    try:
        consent.pdf_name = stored
        consent.pdf_sha256 = documents.hashlib.sha256(pdf).hexdigest()
        consent.status = Status.SIGNED
        _save(
            consent, actor, action="consent.countersigned", changes={"content_sha256": consent.content_sha256}
        )
    except BaseException:
        # The row was not saved: no file without its row.
        storage.delete(stored)
        raise
    return consent


@transaction.atomic
def consent_withdraw(*, consent: PatientConsent, actor, reason: str, via: str = Via.STAFF) -> PatientConsent:
    """Record a withdrawal (reason, who, when). The consent and its PDF stay as they were signed."""
    consent = _lock(consent)
    if via == Via.STAFF and not may_withdraw(actor):
        raise ConsentNotAllowed()
    if consent.status == Status.WITHDRAWN:
        raise ConsentStateConflict("This consent is already withdrawn.")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(fields={"reason": ["Say why the consent is withdrawn."]})
    if len(reason) > 2000:
        raise Invalid(fields={"reason": ["At most 2000 characters."]})
    consent.status = Status.WITHDRAWN
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = acting_user(actor)
    consent.withdrawal_reason = reason
    consent.withdrawal_via = via
    _save(consent, actor, action="consent.withdrawn", changes={"via": via})
    return consent


def consent_pdf_read(*, consent: PatientConsent) -> bytes:
    """The stored PDF, checked against the hash recorded when it was made."""
    if not consent.pdf_name:
        raise ConsentStateConflict("This consent has no signed PDF: it is not countersigned yet.")
    with storages["private"].open(consent.pdf_name, "rb") as handle:
        data = handle.read()
    if documents.hashlib.sha256(data).hexdigest() != consent.pdf_sha256:
        logger.error("consent %s: stored PDF does not match its hash", consent.pk)
        raise ConsentPdfDamaged()
    return data
