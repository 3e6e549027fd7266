"""Everything that changes a clinic letter: draft it from the record, edit the draft, sign it
(which makes its PDF), send it by email, and deliver each email once. Pages, the API and the
worker call these; each checks who may act, refuses what the state does not allow (a stable
code, letters.exceptions), keeps history and writes the audit trail.

Who may act: clinicians (clinic.view_clinical and clinic.record_consultation). The front desk
and the practice manager neither read nor write letters: they are clinical content.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from clinic.audit import acting_user, attribute, audit_record
from clinic.errors import Invalid
from clinic.models import ClinicSettings
from patients.models import Patient
from scheduling.reminders import channels
from treatments.models import Encounter

from . import documents, filling
from .exceptions import (
    LetterNotAllowed,
    LetterNotSigned,
    LetterPdfDamaged,
    LetterSigned,
    NoRecipient,
    RecipientEmailMissing,
)
from .models import BODY_MAX, SUBJECT_MAX, Letter, LetterDelivery

logger = logging.getLogger(__name__)

Status = Letter.Status
Recipient = LetterDelivery.Recipient
Delivery = LetterDelivery.Status
PERMISSIONS = ("clinic.view_clinical", "clinic.record_consultation")
ERROR_MAX = 300


def may_write_letters(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_perms(PERMISSIONS))


def _check(actor: Any) -> None:
    if not may_write_letters(actor):
        raise LetterNotAllowed()


def _lock(letter: Letter) -> Letter:
    return Letter.objects.select_for_update().select_related("patient").get(pk=letter.pk)


def _save(letter: Letter, actor: Any, *, action: str, changes: dict[str, Any] | None = None) -> None:
    attribute(letter, actor)
    letter.save()
    audit_record(actor=actor, action=action, target=letter, patient_id=letter.patient_id, changes=changes)


def _text(data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name, limit in (("subject", SUBJECT_MAX), ("body", BODY_MAX)):
        if name not in data:
            continue
        value = data[name]
        value = value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""
        if not value:
            errors[name] = ["This field is required."]
        elif len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
        elif "\x00" in value:
            errors[name] = ["Text cannot contain the NUL character."]
        values[name] = value
    if errors:
        raise Invalid(fields=errors)
    return values


@transaction.atomic
def letter_draft(
    *,
    actor: Any,
    patient: Patient,
    kind: str = "",
    encounter: Encounter | None = None,
    amends: Letter | None = None,
) -> Letter:
    """A new draft letter filled from the record (letters.filling), or, with ``amends``, a
    correction of a signed letter that starts from its text."""
    _check(actor)
    if amends is not None:
        if amends.patient_id != patient.pk:
            raise Invalid(fields={"amends": ["That letter is another patient's."]})
        if amends.status != Status.SIGNED:
            raise Invalid(fields={"amends": ["Only a signed letter is corrected: edit the draft instead."]})
        kind, encounter = amends.kind, amends.encounter
        subject = f"Correction: {amends.subject}"[:SUBJECT_MAX]
        body = amends.body
    else:
        if kind not in Letter.Kind.values:
            raise Invalid(fields={"kind": ["Choose a consultation, procedure or toxin course summary."]})
        encounter = filling.choose_encounter(patient=patient, kind=kind, encounter=encounter)
        subject = filling.subject_for(patient=patient, kind=kind, encounter=encounter)
        body = filling.body_for(patient=patient, kind=kind, encounter=encounter)[:BODY_MAX]
    if patient.status != Patient.Status.ACTIVE:
        raise Invalid(fields={"patient": ["This patient's record is not active."]})
    letter = Letter(
        patient=patient,
        kind=kind,
        encounter=encounter,
        amends=amends,
        subject=subject,
        body=body,
        created_by=acting_user(actor),
    )
    _save(
        letter,
        actor,
        action="letter.drafted",
        changes={"kind": kind, "encounter": encounter.pk if encounter else None, "amends": letter.amends_id},
    )
    return letter


@transaction.atomic
def letter_update(*, actor: Any, letter: Letter, data: dict[str, Any]) -> Letter:
    """Edit a draft's subject and text (``data``: either or both)."""
    _check(actor)
    letter = _lock(letter)
    if letter.status == Status.SIGNED:
        raise LetterSigned()
    values = _text(data)
    changed = [name for name, value in values.items() if getattr(letter, name) != value]
    for name in changed:
        setattr(letter, name, values[name])
    if changed:
        _save(letter, actor, action="letter.updated", changes={"fields": changed})
    return letter


@transaction.atomic
def letter_sign(*, actor: Any, letter: Letter) -> Letter:
    """Sign the letter: its PDF is made now, stored in the private storage with its hash, and
    never made again. From now on the letter is read-only."""
    _check(actor)
    letter = _lock(letter)
    if letter.status == Status.SIGNED:
        raise LetterSigned("This letter is already signed.")
    _text({"subject": letter.subject, "body": letter.body})
    letter.signed_at = timezone.now()
    letter.signed_by = actor
    letter.content_sha256 = documents.content_hash(letter)
    pdf = documents.render_pdf(letter, content_sha256=letter.content_sha256)
    storage = storages["private"]
    stored = storage.save(
        f"letters/{letter.patient_id}/letter-{letter.pk}-{letter.content_sha256[:16]}.pdf", ContentFile(pdf)
    )
    try:
        letter.pdf_name = stored
        letter.pdf_sha256 = documents.sha256(pdf)
        letter.status = Status.SIGNED
        _save(letter, actor, action="letter.signed", changes={"content_sha256": letter.content_sha256})
    except BaseException:
        # The row was not saved: no file without its row.
        storage.delete(stored)
        raise
    return letter


def letter_pdf_read(*, letter: Letter) -> bytes:
    """The signed PDF as stored, checked against the hash recorded when it was made."""
    if not letter.pdf_name:
        raise LetterNotSigned("This letter has no PDF yet: it is not signed.")
    with storages["private"].open(letter.pdf_name, "rb") as handle:
        data: bytes = handle.read()
    if documents.sha256(data) != letter.pdf_sha256:
        logger.error("letter %s: stored PDF does not match its hash", letter.pk)
        raise LetterPdfDamaged()
    return data


def letter_preview_pdf(*, letter: Letter) -> bytes:
    """A draft as it would print, marked as a draft; nothing is stored."""
    return documents.render_pdf(letter, draft=True)


def recipients_of(patient: Patient) -> dict[str, tuple[str, str]]:
    """{recipient: (name, email)} as the patient record holds them today."""
    gp = ", ".join(part for part in (patient.gp_name, patient.gp_practice) if part)
    return {
        Recipient.GP: (gp, patient.gp_email),
        Recipient.REFERRER: (patient.referring_clinician, patient.referrer_email),
        Recipient.PATIENT: (f"{patient.first_name} {patient.last_name}", patient.email),
    }


MISSING = {
    Recipient.GP: "The patient record has no email address for the GP: add it on the patient's details.",
    Recipient.REFERRER: "The patient record has no email address for the referrer: add it on the "
    "patient's details.",
    Recipient.PATIENT: "The patient record has no email address for the patient.",
}
FIELD = {Recipient.GP: "to_gp", Recipient.REFERRER: "to_referrer", Recipient.PATIENT: "to_patient"}


@transaction.atomic
def letter_send(
    *, actor: Any, letter: Letter, to_gp: bool = False, to_referrer: bool = False, to_patient: bool = False
) -> list[LetterDelivery]:
    """Email the signed letter, its PDF attached, to the recipients chosen: the GP and the
    referrer held on the patient record and, by the clinician's choice, a copy to the patient.
    One delivery per recipient is queued; the worker sends each once, after this commits."""
    _check(actor)
    letter = _lock(letter)
    if letter.status != Status.SIGNED:
        raise LetterNotSigned()
    chosen = [
        r
        for r, wanted in (
            (Recipient.GP, to_gp),
            (Recipient.REFERRER, to_referrer),
            (Recipient.PATIENT, to_patient),
        )
        if wanted
    ]
    if not chosen:
        raise NoRecipient(fields={"recipients": [NoRecipient.default_detail]})
    known = recipients_of(letter.patient)
    missing = {FIELD[r]: [MISSING[r]] for r in chosen if not known[r][1]}
    if missing:
        raise RecipientEmailMissing(fields=missing)
    deliveries = []
    for recipient in chosen:
        name, address = known[recipient]
        delivery = LetterDelivery(
            letter=letter,
            recipient=recipient,
            name=name[:200],
            address=address,
            created_by=acting_user(actor),
        )
        attribute(delivery, actor)
        delivery.save()
        deliveries.append(delivery)
    audit_record(
        actor=actor,
        action="letter.sent",
        target=letter,
        patient_id=letter.patient_id,
        changes={"recipients": [str(r) for r in chosen], "deliveries": [d.pk for d in deliveries]},
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))
    return deliveries


@transaction.atomic
def letter_print(*, actor: Any, letter: Letter) -> bytes:
    """The signed PDF for printing (recorded: a printed letter leaves the clinic too)."""
    _check(actor)
    data = letter_pdf_read(letter=letter)
    audit_record(actor=actor, action="letter.printed", target=letter, patient_id=letter.patient_id)
    return data


def _enqueue(ids: list[int]) -> None:
    from .tasks import letter_delivery_task

    for delivery_id in ids:
        try:
            letter_delivery_task.delay(delivery_id)
        except Exception:  # the broker is down: the beat task picks the delivery up later
            logger.exception("could not queue a letter delivery", extra={"delivery": delivery_id})


# --- delivery (the worker) -------------------------------------------------------------------


def _claim(delivery_id: int) -> bool:
    """queued -> sending, for one worker only: the UPDATE's condition is re-checked when a
    concurrent claim commits, so a second worker finds no row."""
    now = timezone.now()
    claimed = LetterDelivery.objects.filter(pk=delivery_id, status=Delivery.QUEUED).update(
        status=Delivery.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    return claimed == 1


def _finish(delivery: LetterDelivery, *, status: str, error: str = "", message_id: str = "") -> None:
    delivery.status = status
    delivery.error = error[:ERROR_MAX]
    delivery.message_id = message_id[:300]
    if status == Delivery.SENT:
        delivery.sent_at = timezone.now()
    attribute(delivery, None)
    delivery.save(update_fields=["status", "error", "message_id", "sent_at"])
    audit_record(
        actor=None,
        action="letter.delivered" if status == Delivery.SENT else "letter.delivery_" + status,
        target=delivery,
        patient_id=delivery.letter.patient_id,
        changes={"letter": delivery.letter_id, "recipient": delivery.recipient, "error": delivery.error},
    )


def email_content(delivery: LetterDelivery, pdf: bytes) -> channels.EmailContent:
    """The email: the letter is the attachment. Neither the subject nor the text names the
    patient or says anything clinical; the PDF does, for the reader it is addressed to."""
    letter = delivery.letter
    context = {
        "delivery": delivery,
        "letter": letter,
        "clinic_name": ClinicSettings.load().display_name,
        "to_patient": delivery.recipient == Recipient.PATIENT,
    }
    subject = " ".join(render_to_string("letters/email.subject.txt", context).split())
    return channels.EmailContent(
        to=delivery.address,
        subject=subject,
        text=render_to_string("letters/email.txt", context),
        attachments=[(f"letter-{letter.pk}.pdf", pdf, "application/pdf")],
    )


def letter_deliver(*, delivery_id: int) -> str:
    """Send one delivery if it is still ours to send; returns its status afterwards.

    A provider that is down for a while puts the delivery back in the queue (``queued``: the
    task tries again later); a refusal fails it for good. A delivery that was claimed and then
    lost (a worker killed mid-send) stays ``sending`` and is never sent again by itself: it may
    have gone out."""
    if not _claim(delivery_id):
        return "not_claimed"
    delivery = LetterDelivery.objects.select_related("letter", "letter__patient").get(pk=delivery_id)
    try:
        pdf = letter_pdf_read(letter=delivery.letter)
        message_id = channels.send_email(email_content(delivery, pdf))
    except channels.TransientSendError as exc:
        LetterDelivery.objects.filter(pk=delivery_id, status=Delivery.SENDING).update(
            status=Delivery.QUEUED, error=str(exc)[:ERROR_MAX]
        )
        raise
    except (channels.SendError, LetterPdfDamaged) as exc:
        _finish(delivery, status=Delivery.FAILED, error=str(exc) or exc.__class__.__name__)
        return Delivery.FAILED
    _finish(delivery, status=Delivery.SENT, message_id=message_id)
    return Delivery.SENT


def letter_delivery_give_up(*, delivery_id: int, error: str) -> None:
    """After the last retry: a queued delivery that never went out is failed, for a person to see."""
    delivery = LetterDelivery.objects.select_related("letter").filter(pk=delivery_id).first()
    if delivery is not None and _claim(delivery_id):
        delivery.refresh_from_db()
        _finish(delivery, status=Delivery.FAILED, error=error)


def deliveries_due(*, older_than_seconds: int = 120) -> list[int]:
    """Queued deliveries whose nudge was lost (the broker was down when they were queued)."""
    before = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        LetterDelivery.objects.filter(status=Delivery.QUEUED, created_at__lt=before)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
