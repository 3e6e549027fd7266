"""Lot recall outreach: message every patient who received a toxin lot, through the reminder
machinery (consent, quiet hours, opt-out and the message log all apply as for any message).

The text is the clinic's and carries no clinical detail by default (docs/domain.md: messages say what
is needed, not the product or the reason); staff explain on the phone.
"""

from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_record
from scheduling.models import Message
from scheduling.reminders.services import message_schedule

from .models import ToxinLot
from .selectors import lot_recipients

DEFAULT_SUBJECT = "Please contact the clinic"
DEFAULT_BODY = (
    "We would like to speak with you about your recent treatment at the clinic. "
    "Please call us at your earliest convenience."
)
DEFAULT_SMS = "Please call the clinic about your recent treatment."


@transaction.atomic
def lot_campaign_send(*, lot: ToxinLot, actor, subject: str, body: str, sms: str) -> dict:
    """Plan one campaign message per recipient and channel, due now. Sending twice on one day
    plans nothing new (the reminder machinery's dedupe key)."""
    recipients = lot_recipients(lot=lot)
    now = timezone.now()
    planned = 0
    context = {"subject": subject, "body": body, "sms": sms, "lot_campaign": lot.pk}
    for recipient in recipients:
        planned += message_schedule(
            patient=recipient["patient"],
            kind=Message.Kind.CAMPAIGN,
            due_at=now,
            target=f"lot_recall:{lot.pk}:patient:{recipient['patient'].pk}",
            context=context,
        )
    patient_ids = [r["patient"].pk for r in recipients]
    audit_record(
        actor=actor,
        action="toxin_lot.campaign_sent",
        target=lot,
        changes={"patients": patient_ids, "messages_planned": planned, "subject": subject},
    )
    return {"patients": len(patient_ids), "messages": planned}
