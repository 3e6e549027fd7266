"""Reads for the recall worklist and the message log."""

from datetime import date, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from clinic.paging import capped_counts
from clinic.queries import related_count

from ..models import Appointment, Message, Recall, RecallContact


class Bucket:
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    BOOKED = "booked"
    CLOSED = "closed"

    CHOICES = [
        (UPCOMING, "Upcoming"),
        (DUE, "Due"),
        (OVERDUE, "Overdue"),
        (BOOKED, "Booked"),
        (CLOSED, "Closed"),
    ]


def recall_bucket(recall: Recall, today: date) -> str:
    if recall.status == Recall.Status.BOOKED:
        return Bucket.BOOKED
    if recall.status != Recall.Status.OPEN:
        return Bucket.CLOSED
    if today >= recall.overdue_date:
        return Bucket.OVERDUE
    if today >= recall.due_date:
        return Bucket.DUE
    return Bucket.UPCOMING


def bucket_filter(bucket: str, today: date) -> Q:
    """The recalls in ``bucket`` (one of Bucket.CHOICES) on ``today``."""
    return {
        Bucket.UPCOMING: Q(status=Recall.Status.OPEN, due_date__gt=today),
        Bucket.DUE: Q(status=Recall.Status.OPEN, due_date__lte=today, overdue_date__gt=today),
        Bucket.OVERDUE: Q(status=Recall.Status.OPEN, overdue_date__lte=today),
        Bucket.BOOKED: Q(status=Recall.Status.BOOKED),
        Bucket.CLOSED: Q(status__in=[Recall.Status.COMPLETED, Recall.Status.CANCELLED]),
    }[bucket]


def recall_worklist(
    *,
    today: date,
    bucket: str | None = None,
    kind: str | None = None,
    provider_id: int | None = None,
    patient_id: int | None = None,
) -> QuerySet[Recall]:
    """Recalls with what the front desk needs on one row, in a fixed number of queries."""
    last_contact = RecallContact.objects.filter(recall=OuterRef("pk")).order_by("-at", "-id")
    # The patient's next booked appointment of any kind: the desk sees at once who is already
    # coming in (and a booking of the recalled kind has taken the recall off the due list).
    upcoming = Appointment.objects.filter(
        patient_id=OuterRef("patient_id"),
        status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
        starts_at__gte=timezone.now(),
    ).order_by("starts_at", "id")
    qs = Recall.objects.select_related(
        "patient", "appointment_type", "preferred_provider__user", "booked_appointment"
    ).annotate(
        last_contact_at=Subquery(last_contact.values("at")[:1]),
        last_contact_method=Subquery(last_contact.values("method")[:1]),
        last_contact_outcome=Subquery(last_contact.values("outcome")[:1]),
        next_appointment_at=Subquery(upcoming.values("starts_at")[:1]),
        next_appointment_type=Subquery(upcoming.values("appointment_type__name")[:1]),
        messages_sent=related_count(Message.objects.filter(status=Message.Status.SENT), to="recall"),
    )
    if bucket:
        qs = qs.filter(bucket_filter(bucket, today))
    if kind:
        qs = qs.filter(kind=kind)
    if provider_id:
        qs = qs.filter(preferred_provider_id=provider_id)
    if patient_id:
        qs = qs.filter(patient_id=patient_id)
    return qs.order_by("due_date", "id")


def recall_counts(*, today: date) -> dict[str, int | None]:
    """How many recalls are in each bucket (the worklist's tabs), each counted up to
    ``TAB_COUNT_CAP``: None means more than that ("1,000+"). One query, four bounded counts,
    each read from the worklist index (status, due_date, overdue_date): the cost stays the same
    however many recalls the clinic has (an exact count read every open recall, 37 ms at a
    million patients)."""
    open_ = Q(status=Recall.Status.OPEN)
    buckets = {
        Bucket.UPCOMING: open_ & Q(due_date__gt=today),
        Bucket.DUE: open_ & Q(due_date__lte=today, overdue_date__gt=today),
        Bucket.OVERDUE: open_ & Q(overdue_date__lte=today),
        Bucket.BOOKED: Q(status=Recall.Status.BOOKED),
    }
    return capped_counts(
        {name: Recall.objects.filter(where).order_by().values("due_date") for name, where in buckets.items()},
        cap=TAB_COUNT_CAP,
    )


# A tab reads "1,000+" beyond this: nobody works a list that long page by page.
TAB_COUNT_CAP = 1_000


def message_log(
    *,
    patient_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    channel: str | None = None,
) -> QuerySet[Message]:
    qs = Message.objects.select_related("patient")
    if patient_id:
        qs = qs.filter(patient_id=patient_id)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by("-due_at", "-id")


FAILURE_WINDOW = timedelta(days=7)


def message_failure_summary() -> list[dict]:
    """The last week's failures by reason: a dead provider shows up here the same day. A week,
    not all time: the count reads the week's failed rows (index ``scheduling_message_status``),
    not every failure since the clinic opened."""
    return list(
        Message.objects.filter(status=Message.Status.FAILED, due_at__gte=timezone.now() - FAILURE_WINDOW)
        .values("channel", "reason_code")
        .annotate(n=Count("id"))
        .order_by("-n")
    )


# --- What a booking tells the patient ------------------------------------------------------

_CHANNEL_WORDS = {"email": ("email", "email address"), "sms": ("SMS", "mobile number")}


def booking_notifications(*, appointment: Appointment) -> dict:
    """What the confirmation of a new booking does, channel by channel, and one sentence for the
    front desk: sent (queued for the sender, which checks consent again at send time) or why
    not (no contact details, no consent, consent withdrawn or given for another address).

    Reads the patient's consents in one query; the rule is the sender's (consent_current).
    """
    from patients.models import MessagingConsent
    from patients.selectors import consent_overview

    purpose = MessagingConsent.Purpose.APPOINTMENT_REMINDERS
    channels = []
    for state in consent_overview(patient=appointment.patient):
        if state.purpose != purpose or state.channel not in _CHANNEL_WORDS:
            continue
        label, noun = _CHANNEL_WORDS[state.channel]
        reason = {
            "granted": "",
            "no_address": f"no {noun}",
            "unknown": f"no consent to appointment messages by {label}",
            "withdrawn": f"consent to appointment messages by {label} withdrawn",
            "stale": f"consent by {label} was given for another {noun}",
        }[state.state]
        channels.append(
            {
                "channel": state.channel,
                "sent": state.granted,
                "address": state.address if state.granted else "",
                "reason": state.state if not state.granted else "",
                "reason_text": reason,
            }
        )
    sent = [c for c in channels if c["sent"]]
    unsent = [c for c in channels if not c["sent"]]
    if sent:
        ways = " and ".join(f"{_CHANNEL_WORDS[c['channel']][0]} to {c['address']}" for c in sent)
        summary = f"Confirmation sent to the patient by {ways}."
        if unsent:
            summary += (
                " Not by "
                + "; not by ".join(f"{_CHANNEL_WORDS[c['channel']][0]}: {c['reason_text']}" for c in unsent)
                + "."
            )
    else:
        summary = "Nothing was sent to the patient: " + "; ".join(c["reason_text"] for c in unsent) + "."
    return {"kind": "appointment_confirmation", "sent": bool(sent), "channels": channels, "summary": summary}
