"""What a patient sees after following a link from a message. No login: the signed token is
the authority, for one patient, one action and one target only."""

import base64
import hashlib
import hmac
import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinic.errors import DomainError
from patients.models import MessagingConsent, Patient
from patients.services import consent_opt_out, consent_record

from ..models import Appointment, Message, Provider, Recall, Room
from ..selectors import availability_for
from ..services import (
    VIA_PATIENT_LINK,
    appointment_book,
    appointment_cancel,
    appointment_confirm,
    appointment_reschedule,
    recall_upcoming_booking,
)
from .links import Action, LinkExpired, LinkInvalid, PatientLink, link_read, link_token, registered_view
from .questionnaires import questionnaire_for
from .services import AFTERCARE_TOPIC

logger = logging.getLogger(__name__)


def _problem(request, *, expired: bool):
    return render(
        request,
        "links/problem.html",
        {"expired": expired},
        status=410 if expired else 400,
    )


@never_cache
def open_link(request, token: str):
    try:
        link = link_read(token)
    except LinkExpired:
        return _problem(request, expired=True)
    except LinkInvalid:
        return _problem(request, expired=False)
    patient = Patient.objects.filter(pk=link.patient_id, status=Patient.Status.ACTIVE).first()
    if patient is None:
        return _problem(request, expired=False)
    handler = HANDLERS.get(link.action) or registered_view(link.action)
    if handler is None:
        return _problem(request, expired=False)
    return handler(request, link=link, patient=patient, token=token)


def _unsubscribe(request, *, link: PatientLink, patient: Patient, token: str):
    channel, _, purpose = link.target.partition(":")
    if channel not in MessagingConsent.Channel.values or purpose not in MessagingConsent.Purpose.values:
        return _problem(request, expired=False)
    purposes = [purpose]
    if request.method == "POST":
        if request.POST.get("scope") == "all":
            purposes = list(MessagingConsent.Purpose.values)
        with transaction.atomic():
            for each in purposes:
                consent_record(
                    patient=patient,
                    channel=channel,
                    purpose=each,
                    granted=False,
                    method=MessagingConsent.Method.LINK,
                    actor=None,
                )
        return render(
            request,
            "links/unsubscribed.html",
            {
                "channel": MessagingConsent.Channel(channel).label,
                "purposes": [MessagingConsent.Purpose(p).label for p in purposes],
            },
        )
    return render(
        request,
        "links/unsubscribe.html",
        {
            "token": token,
            "channel": MessagingConsent.Channel(channel).label,
            "purpose": MessagingConsent.Purpose(purpose).label,
        },
    )


ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


@csrf_exempt  # RFC 8058: the mailbox provider POSTs with no cookie; the signed token is the authority.
@never_cache
def one_click(request, token: str):
    """One-click unsubscribe (RFC 8058), the URL of a bulk email's List-Unsubscribe header.

    A POST (``List-Unsubscribe=One-Click``, as mailbox providers send it) withdraws the consent
    the link names (one purpose on one channel), recorded and audited like an unsubscribe page's
    (method ``link``). A GET changes nothing (link scanners follow URLs): it goes to the
    unsubscribe page, which asks first. Answers are plain text, for machines."""
    try:
        link = link_read(token)
    except LinkExpired:
        return HttpResponse("This link has expired.\n", status=410, content_type="text/plain")
    except LinkInvalid:
        link = None
    if link is None or link.action != Action.UNSUBSCRIBE:
        return HttpResponse("This link is not valid.\n", status=400, content_type="text/plain")
    if request.method == "GET":
        return HttpResponseRedirect(reverse("links:open", kwargs={"token": token}))
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    channel, _, purpose = link.target.partition(":")
    patient = Patient.objects.filter(pk=link.patient_id).first()
    if (
        patient is None
        or channel not in MessagingConsent.Channel.values
        or purpose not in MessagingConsent.Purpose.values
    ):
        return HttpResponse("This link is not valid.\n", status=400, content_type="text/plain")
    consent_record(
        patient=patient,
        channel=channel,
        purpose=purpose,
        granted=False,
        method=MessagingConsent.Method.LINK,
        actor=None,
        note="One-click unsubscribe from an email",
    )
    return HttpResponse("Unsubscribed.\n", content_type="text/plain")


def _appointment_for(link: PatientLink, patient: Patient) -> Appointment | None:
    if not link.target.isdigit():
        return None
    return (
        Appointment.objects.select_related("room__location", "provider__user", "appointment_type")
        .filter(pk=int(link.target), patient=patient)
        .first()
    )


def _confirm(request, *, link: PatientLink, patient: Patient, token: str):
    appointment = _appointment_for(link, patient)
    if appointment is None:
        return _problem(request, expired=False)
    error = ""
    if request.method == "POST" and appointment.status == Appointment.Status.BOOKED:
        try:
            appointment = appointment_confirm(appointment=appointment, actor=None, via=VIA_PATIENT_LINK)
        except DomainError as exc:
            error = exc.detail
    return render(
        request,
        "links/confirm.html",
        {"appointment": appointment, "when": _local(appointment.starts_at), "error": error},
    )


CANCEL_REASONS = [
    ("cannot_attend", "I cannot come at that time"),
    ("unwell", "I am unwell"),
    ("no_longer_needed", "I no longer need the appointment"),
    ("other", "Another reason"),
]


def _cancel(request, *, link: PatientLink, patient: Patient, token: str):
    appointment = _appointment_for(link, patient)
    if appointment is None:
        return _problem(request, expired=False)
    error = ""
    cancellable = appointment.status in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED)
    if request.method == "POST" and cancellable:
        reason = dict(CANCEL_REASONS).get(request.POST.get("reason", ""), "Cancelled by the patient")
        try:
            appointment = appointment_cancel(
                appointment=appointment,
                reason=f"Patient link: {reason}",
                actor=None,
                cancelled_by="patient",
                via=VIA_PATIENT_LINK,
            )
        except DomainError as exc:
            error = exc.detail
    return render(
        request,
        "links/cancel.html",
        {
            "appointment": appointment,
            "when": _local(appointment.starts_at),
            "reasons": CANCEL_REASONS,
            "error": error,
            "token": token,
        },
    )


def _local(moment):
    return timezone.localtime(moment)


def _slot_value(slot) -> str:
    return f"{slot.start.isoformat()}|{slot.provider.pk}|{slot.room.pk}"


def recall_slots(*, recall: Recall, patient: Patient, from_day: date, days: int = 14) -> list:
    """Slots a patient may pick for a recall: never before its earliest date; their usual
    clinician's first, then everyone else's."""
    first_day = max(from_day, recall.earliest_date, timezone.localdate())
    last_day = first_day + timedelta(days=days - 1)
    preferred = []
    if recall.preferred_provider_id:
        preferred = availability_for(
            appointment_type=recall.appointment_type,
            date_from=first_day,
            date_to=last_day,
            provider=recall.preferred_provider,
            patient=patient,
        )
    others = [
        slot
        for slot in availability_for(
            appointment_type=recall.appointment_type, date_from=first_day, date_to=last_day, patient=patient
        )
        if slot.provider.pk != recall.preferred_provider_id
    ]
    return preferred + others


CHOOSE_AGAIN = "Please choose one of the times below."
TAKEN = "Sorry, that time has just been taken. Please choose another."


def _chosen_slot(request, recall: Recall):
    """The (start, provider, room) the patient picked, or None for anything that is not one of
    the offered times (a tampered value, a time before the recall's earliest date)."""
    start, provider_id, room_id = (request.POST.get("slot", "") + "||").split("|")[:3]
    try:
        starts_at = datetime.fromisoformat(start)
        provider = Provider.objects.get(pk=int(provider_id))
        room = Room.objects.get(pk=int(room_id))
    except (ValueError, Provider.DoesNotExist, Room.DoesNotExist):
        return None
    if starts_at.tzinfo is None or starts_at.date() < recall.earliest_date:
        return None
    return starts_at, provider, room


def _from_day(request, recall: Recall) -> date:
    try:
        return date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        return recall.earliest_date


def _slot_days(slots) -> list:
    """The offered times grouped by local day, as the booking page lists them."""
    days: dict = {}
    for slot in slots:
        days.setdefault(_local(slot.start).date(), []).append(
            {"value": _slot_value(slot), "time": _local(slot.start), "provider": slot.provider}
        )
    return sorted(days.items())


def _book(request, *, link: PatientLink, patient: Patient, token: str):
    recall = (
        Recall.objects.select_related(
            "appointment_type", "preferred_provider__user", "booked_appointment__room__location"
        )
        .filter(pk=int(link.target) if link.target.isdigit() else 0, patient=patient)
        .first()
    )
    if recall is None:
        return _problem(request, expired=False)
    booked = _recall_booking(recall)
    if booked is not None:
        # Already booked (by the desk, the API or an earlier visit to this link): show the booking
        # with its change and cancel actions, never a page of slots the booking itself blocks.
        return _change(request, recall=recall, appointment=booked, patient=patient)
    if recall.status != Recall.Status.OPEN:
        return render(request, "links/book_done.html", {"appointment": None, "already": True})
    error = ""
    if request.method == "POST":
        chosen = _chosen_slot(request, recall)
        if chosen is None:
            error = CHOOSE_AGAIN
        else:
            starts_at, provider, room = chosen
            try:
                appointment = appointment_book(
                    patient=patient,
                    appointment_type=recall.appointment_type,
                    provider=provider,
                    starts_at=starts_at,
                    room=room,
                    actor=None,
                    via=VIA_PATIENT_LINK,
                )
            except DomainError:
                error = TAKEN
            else:
                return render(
                    request,
                    "links/book_done.html",
                    {"appointment": appointment, "when": _local(appointment.starts_at), "already": False},
                )
    from_day = _from_day(request, recall)
    slots = recall_slots(recall=recall, patient=patient, from_day=from_day)
    first_day = max(from_day, recall.earliest_date, timezone.localdate())
    return render(
        request,
        "links/book.html",
        {
            "recall": recall,
            "days": _slot_days(slots[:60]),
            "error": error,
            "next_from": (first_day + timedelta(days=14)).isoformat(),
            "earliest": recall.earliest_date,
        },
    )


def _recall_booking(recall: Recall) -> Appointment | None:
    """The upcoming appointment that answers ``recall``, if the patient has one."""
    if recall.status == Recall.Status.BOOKED:
        appointment = recall.booked_appointment
        if appointment and appointment.is_active and appointment.starts_at > timezone.now():
            return appointment
        return None
    if recall.status == Recall.Status.OPEN:
        return recall_upcoming_booking(recall)
    return None


def _change(request, *, recall: Recall, appointment: Appointment, patient: Patient):
    """The booked patient's page: the appointment, a cancel link, and other times to move to."""
    error = ""
    if request.method == "POST":
        chosen = _chosen_slot(request, recall)
        if chosen is None:
            error = CHOOSE_AGAIN
        else:
            starts_at, provider, room = chosen
            try:
                moved = appointment_reschedule(
                    appointment=appointment,
                    starts_at=starts_at,
                    provider=provider,
                    room=room,
                    actor=None,
                    reason="Moved by the patient from their booking link",
                    via=VIA_PATIENT_LINK,
                )
            except DomainError:
                error = TAKEN
            else:
                return render(
                    request,
                    "links/book_done.html",
                    {"appointment": moved, "when": _local(moved.starts_at), "moved": True},
                )
    first_day = max(_from_day(request, recall), recall.earliest_date, timezone.localdate())
    slots = availability_for(
        appointment_type=appointment.appointment_type,
        date_from=first_day,
        date_to=first_day + timedelta(days=13),
        patient=patient,
        exclude_appointment_id=appointment.pk,
        limit=60,
    )
    cancel_token = link_token(patient_id=patient.pk, action=Action.CANCEL, target=appointment.pk)
    return render(
        request,
        "links/book.html",
        {
            "recall": recall,
            "booked": appointment,
            "when": _local(appointment.starts_at),
            "cancel_url": reverse("links:open", kwargs={"token": cancel_token}),
            "days": _slot_days(slots),
            "error": error,
            "next_from": (first_day + timedelta(days=14)).isoformat(),
            "earliest": recall.earliest_date,
        },
    )


def _questionnaire(request, *, link: PatientLink, patient: Patient, token: str):
    message = Message.objects.filter(
        pk=int(link.target) if link.target.isdigit() else 0, patient=patient, kind=Message.Kind.QUESTIONNAIRE
    ).first()
    questionnaire = questionnaire_for((message.context or {}).get("instrument", "")) if message else None
    if message is None or questionnaire is None:
        return _problem(request, expired=False)
    if message.context.get("answered_at"):
        return render(
            request, "links/questionnaire_done.html", {"questionnaire": questionnaire, "already": True}
        )
    answers: dict[str, int | str] = {}
    missing: list[str] = []
    if request.method == "POST":
        for key, _question in questionnaire.items:
            raw = request.POST.get(key, "")
            # The answer is stored as the value offered, never as what was posted.
            chosen = [value for value, _ in questionnaire.choices_for(key) if str(value) == raw]
            if chosen:
                answers[key] = chosen[0]
            else:
                missing.append(key)
        if not missing:
            with transaction.atomic():
                # Lock the request row: a double submit stores one set of answers.
                locked = Message.objects.select_for_update().get(pk=message.pk)
                if not locked.context.get("answered_at"):
                    now = timezone.now()
                    questionnaire.save(
                        patient=patient, items=answers, answered_at=now, source=f"message:{message.pk}"
                    )
                    Message.objects.filter(pk=message.pk).update(
                        context={**locked.context, "answered_at": now.isoformat()}
                    )
            return render(request, "links/questionnaire_done.html", {"questionnaire": questionnaire})
    return render(
        request,
        "links/questionnaire.html",
        {
            "questionnaire": questionnaire,
            "rows": [
                {
                    "key": key,
                    "question": question,
                    "choices": questionnaire.choices_for(key),
                    "value": answers.get(key),
                    "missing": key in missing,
                }
                for key, question in questionnaire.questions()
            ],
            "missing": bool(missing),
        },
    )


def _aftercare(request, *, link: PatientLink, patient: Patient, token: str):
    """The aftercare advice a message pointed to: one section per topic, in the patient's
    language where translated (templates/aftercare/[<language>/]<topic>.html). Read-only."""
    message = Message.objects.filter(
        pk=int(link.target) if link.target.isdigit() else 0, patient=patient, kind=Message.Kind.AFTERCARE
    ).first()
    if message is None:
        return _problem(request, expired=False)
    sections = []
    for topic in (message.context or {}).get("topics", []):
        if not AFTERCARE_TOPIC.match(str(topic)):
            continue
        names = [f"aftercare/{topic}.html"]
        if patient.language and patient.language != "en":
            names.insert(0, f"aftercare/{patient.language}/{topic}.html")
        try:
            sections.append(select_template(names).render({"first_name": patient.first_name}, request))
        except TemplateDoesNotExist:
            logger.warning("no aftercare template", extra={"topic": topic})
    if not sections:
        sections.append(render_to_string("aftercare/general.html", {}, request))
    return render(
        request,
        "links/aftercare.html",
        {"sections": sections, "given_on": timezone.localtime(message.created_at).date()},
    )


HANDLERS = {
    Action.UNSUBSCRIBE: _unsubscribe,
    Action.CONFIRM: _confirm,
    Action.CANCEL: _cancel,
    Action.BOOK: _book,
    Action.QUESTIONNAIRE: _questionnaire,
    Action.AFTERCARE: _aftercare,
}


# --------------------------------------------------------------------------------------------
# SMS replies: STOP must take effect at once.

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}


def twilio_signature_valid(request) -> bool:
    """Twilio signs the full URL plus the sorted POST parameters with the account's auth token."""
    token = settings.TWILIO_AUTH_TOKEN
    given = request.headers.get("X-Twilio-Signature", "")
    if not token or not given:
        return False
    url = settings.SITE_URL + request.get_full_path()
    payload = url + "".join(f"{key}{value}" for key, value in sorted(request.POST.items()))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode()
    return hmac.compare_digest(expected, given)


@csrf_exempt  # Called by the SMS provider, authenticated by its signature instead.
@require_POST
def twilio_inbound(request):
    if not twilio_signature_valid(request):
        return HttpResponse(status=403)
    sender = request.POST.get("From", "")[:32]
    word = request.POST.get("Body", "").strip().upper()
    if word in STOP_WORDS and sender:
        try:
            withdrawn = consent_opt_out(
                channel=MessagingConsent.Channel.SMS, address=sender, method=MessagingConsent.Method.SMS_REPLY
            )
        except ValidationError:
            withdrawn = []  # Not a number we could have written to.
        logger.info("sms opt-out received", extra={"consents_withdrawn": len(withdrawn)})
    # An empty TwiML response: Twilio itself answers STOP with its standard confirmation.
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml"
    )
