"""Everything that changes a consultation request. The public page, the triage pages and the
API all call these; each refuses what the state does not allow (a stable code, clinic.errors),
keeps history and writes the audit trail.

- ``consultation_request_submit``: the public form (a prospective patient, no login).
- ``consultation_request_refer``: the desk enters a clinician's referral.
- ``consultation_request_accept``: register the requester (or link the matching patient) and
  book the consultation, in one transaction; the patient and appointment go through the
  registry's and the calendar's own services (patient_register, appointment_book).
- ``consultation_request_decline``: with a message, emailed to the requester exactly once
  after commit (``decline_email_send``).

The request row is locked (SELECT ... FOR UPDATE) before any decision, so of two desks
accepting the same request at once one wins and the other is refused (409 request_not_open).
"""

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from clinic.audit import acting_user, attribute, audit_record
from clinic.models import ClinicSettings
from patients.models import Patient
from patients.services import patient_register
from patients.validators import validate_mobile, validate_no_control_characters
from scheduling.models import Appointment, AppointmentType, Provider, Room
from scheduling.reminders.channels import EmailContent, SendError, send_email
from scheduling.services import appointment_book

from .exceptions import RequestInvalid, RequestNotOpen
from .models import DECLINE_MESSAGE_MAX, ConsultationRequest

logger = logging.getLogger(__name__)

Status = ConsultationRequest.Status
Source = ConsultationRequest.Source
EmailStatus = ConsultationRequest.EmailStatus

# What a request holds, as the public form and a referral give it.
REQUEST_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "problem",
    "affected_side",
    "duration",
    "prior_treatments",
    "consent_to_contact",
)
REFERRAL_FIELDS = (*REQUEST_FIELDS, "referrer_name", "referrer_contact")
_SIDES = {"left": Patient.Side.LEFT, "right": Patient.Side.RIGHT, "both": Patient.Side.BILATERAL}


def _clean(data: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name not in allowed:
            errors[name] = ["This field cannot be set here."]
            continue
        if isinstance(value, str):
            value = value.strip()
            try:
                validate_no_control_characters(value)
            except ValidationError as exc:
                errors[name] = list(exc.messages)
                continue
        if name == "email" and value:
            value = value.lower()
        cleaned[name] = "" if value is None and name in ("email", "phone") else value
    if errors:
        raise RequestInvalid(fields=errors)
    return cleaned


def _save_new(request: ConsultationRequest, actor: Any) -> ConsultationRequest:
    errors: dict[str, list[str]] = {}
    try:
        request.full_clean(exclude=["patient", "appointment", "created_by", "decided_by"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not request.email and not request.phone:
        errors.setdefault("email", []).append("Give an email address or a phone number.")
    if errors:
        raise RequestInvalid(fields=errors)
    attribute(request, actor)
    request.save()
    audit_record(
        actor=actor,
        action="consultation_request.received",
        target=request,
        changes={"source": request.source},
    )
    return request


@transaction.atomic
def consultation_request_submit(*, data: dict[str, Any], client_address: str | None) -> ConsultationRequest:
    """A request from the public form. The requester must agree to be contacted."""
    request = ConsultationRequest(
        **_clean(data, REQUEST_FIELDS), source=Source.PUBLIC, client_address=client_address
    )
    if not request.consent_to_contact:
        raise RequestInvalid(fields={"consent_to_contact": ["Tick the box to let the clinic contact you."]})
    return _save_new(request, None)


@transaction.atomic
def consultation_request_refer(*, data: dict[str, Any], actor: Any) -> ConsultationRequest:
    """A referral from a clinician, entered by staff: the referrer's name is required."""
    request = ConsultationRequest(
        **_clean(data, REFERRAL_FIELDS), source=Source.REFERRAL, created_by=acting_user(actor)
    )
    if not request.referrer_name:
        raise RequestInvalid(fields={"referrer_name": ["Name the clinician who referred the patient."]})
    return _save_new(request, actor)


def _locked_open(request: ConsultationRequest) -> ConsultationRequest:
    locked = ConsultationRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != Status.NEW:
        raise RequestNotOpen(
            f"This request was {locked.get_status_display().lower()} already.", status_now=locked.status
        )
    return locked


def _mobile(value: Any) -> str:
    """The requester's phone as a patient's mobile, when it is one (landlines are not kept)."""
    if not isinstance(value, PhoneNumber) or not value.is_valid():
        return ""
    try:
        validate_mobile(value)
    except ValidationError:
        return ""
    return str(value.as_e164)


def registration_data(request: ConsultationRequest) -> dict[str, Any]:
    """The patient record a request gives (patients.services.patient_register's fields)."""
    data: dict[str, Any] = {
        "first_name": request.first_name,
        "last_name": request.last_name,
        "date_of_birth": request.date_of_birth,
        "email": request.email,
        "mobile": _mobile(request.phone),
        "referring_clinician": request.referrer_name,
        "previous_treatments": request.prior_treatments,
    }
    if request.affected_side in _SIDES:
        data["affected_side"] = _SIDES[request.affected_side]
    return {k: v for k, v in data.items() if v not in ("", None)}


@transaction.atomic
def consultation_request_accept(
    *,
    request: ConsultationRequest,
    actor: Any,
    appointment_type: AppointmentType,
    provider: Provider,
    starts_at: datetime,
    room: Room | None = None,
    patient: Patient | None = None,
    confirm_not_duplicate: bool = False,
) -> ConsultationRequest:
    """Accept: link ``patient`` (a match from the registry) or register the requester, then
    book the consultation. Either everything happens, once, or nothing does."""
    locked = _locked_open(request)
    if patient is None:
        patient = patient_register(
            data=registration_data(locked), actor=actor, confirm_not_duplicate=confirm_not_duplicate
        )
        registered = True
    else:
        registered = False
    appointment: Appointment = appointment_book(
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        starts_at=starts_at,
        room=room,
        actor=actor,
        notes=f"Consultation request {locked.pk}",
    )
    locked.status = Status.ACCEPTED
    locked.patient = patient
    locked.appointment = appointment
    locked.decided_at = timezone.now()
    locked.decided_by = acting_user(actor)
    attribute(locked, actor)
    locked.save()
    audit_record(
        actor=actor,
        action="consultation_request.accepted",
        target=locked,
        patient_id=patient.pk,
        changes={"appointment": appointment.pk, "registered": registered},
    )
    return locked


@transaction.atomic
def consultation_request_decline(
    *, request: ConsultationRequest, actor: Any, message: str
) -> ConsultationRequest:
    """Decline with ``message`` to the requester, emailed once after commit (a requester who
    gave no email address is told by the desk: email_status no_address)."""
    message = (message or "").strip()
    if not message:
        raise RequestInvalid(fields={"message": ["Write the message the requester will receive."]})
    try:
        validate_no_control_characters(message)
    except ValidationError as exc:
        raise RequestInvalid(fields={"message": list(exc.messages)}) from exc
    if len(message) > DECLINE_MESSAGE_MAX:
        raise RequestInvalid(
            fields={"message": [f"Keep the message under {DECLINE_MESSAGE_MAX} characters."]}
        )
    locked = _locked_open(request)
    locked.status = Status.DECLINED
    locked.decline_message = message
    locked.decided_at = timezone.now()
    locked.decided_by = acting_user(actor)
    locked.email_status = EmailStatus.PENDING if locked.email else EmailStatus.NO_ADDRESS
    attribute(locked, actor)
    locked.save()
    audit_record(actor=actor, action="consultation_request.declined", target=locked)
    if locked.email_status == EmailStatus.PENDING:
        pk = locked.pk
        transaction.on_commit(lambda: decline_email_send(request_id=pk))
    return locked


def decline_email_content(request: ConsultationRequest) -> EmailContent:
    clinic = ClinicSettings.load()
    lines = [f"Dear {request.first_name},", "", request.decline_message, "", clinic.display_name]
    if clinic.clinic_phone:
        lines.append(clinic.clinic_phone)
    return EmailContent(
        to=request.email,
        subject=f"Your consultation request to {clinic.display_name}",
        text="\n".join(lines) + "\n",
    )


def decline_email_send(*, request_id: int) -> str:
    """Send a declined request's message, once: the row is claimed (pending -> sending) by one
    conditional update, so a second call sends nothing. Returns the email's status."""
    claimed = ConsultationRequest.objects.filter(pk=request_id, email_status=EmailStatus.PENDING).update(
        email_status=EmailStatus.SENDING, updated_at=timezone.now()
    )
    if not claimed:
        return ""
    request = ConsultationRequest.objects.get(pk=request_id)
    try:
        message_id = send_email(decline_email_content(request))
    except SendError as exc:
        # Never resent by itself (the message may have gone out): the desk sees the failure.
        logger.warning("decline email for request %s failed: %s", request_id, exc.code)
        request.email_status = EmailStatus.FAILED
        request.email_error = f"{exc.code}: {exc}"[:300]
        attribute(request, None)
        request.save(update_fields=["email_status", "email_error", "updated_at"])
        audit_record(actor=None, action="consultation_request.email_failed", target=request)
        return request.email_status
    request.email_status = EmailStatus.SENT
    request.email_sent_at = timezone.now()
    request.email_message_id = message_id[:200]
    attribute(request, None)
    request.save(update_fields=["email_status", "email_sent_at", "email_message_id", "updated_at"])
    audit_record(actor=None, action="consultation_request.email_sent", target=request)
    return request.email_status
