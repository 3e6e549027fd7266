"""What a patient sees after following a link from a message. No login: the signed token is
the authority, for one patient, one action and one target only."""

import base64
import hashlib
import hmac
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from patients.models import MessagingConsent, Patient
from patients.services import consent_opt_out, consent_record

from .links import Action, LinkExpired, LinkInvalid, PatientLink, link_read

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
    handler = HANDLERS[link.action]
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


HANDLERS = {
    Action.UNSUBSCRIBE: _unsubscribe,
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
