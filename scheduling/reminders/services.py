"""Reminders and recalls: planning message rows, dispatching the due ones, sending each once.

Three steps, each safe to repeat:

1. *Planning* (``messages_plan_*``): a booking, a recall or a toxin session creates message rows
   with a due time. ``dedupe_key`` is unique per (target, kind, channel, due date), so planning
   twice plans nothing new.
2. *Dispatching* (``messages_dispatch``, every minute from Celery beat): claims due rows with
   ``SELECT ... FOR UPDATE SKIP LOCKED`` and marks them ``queued``; two dispatchers never claim
   the same row. The claimed ids go to send tasks in batches (MESSAGE_BATCH_SIZE).
3. *Sending* (``messages_send_batch``): a batch goes out a *window* at a time, the window being
   MESSAGE_SEND_CONCURRENCY messages. For each window, one ``UPDATE ... SET status = 'sending'
   WHERE id IN (window) AND status = 'queued' RETURNING id`` claims the rows still queued; only
   the worker whose update hit a row gets it back, so only that worker calls the provider for
   it. Then one query loads the claimed rows with their patients, one reads the patients'
   current consent, the provider calls of the window run side by side on a small thread pool
   (the threads do HTTP or SMTP, never the database), and one UPDATE records how each ended.
   Consent, contact details and the target's state are checked now, at send time, not when
   planned.

A worker killed mid-batch leaves rows ``queued`` (never attempted: put back to ``scheduled``)
or ``sending`` (the provider may have taken it: marked failed as "interrupted", never resent,
since a duplicate reminder is worse than a visible failure the front desk can follow up).

Why a window and not the whole batch: claiming all 50 rows of a batch in one statement would
save a few statements, but a worker killed a second later would leave all 50 ``sending``, and
every one of them would end "interrupted" although most were never offered to the provider.
Claiming per message would make "interrupted" as rare as possible, at the price of two
committed statements per message, which were most of the cost of sending. The window is the
set of provider calls that are in flight together anyway, so a killed worker leaves at most
one window "interrupted" (MESSAGE_SEND_CONCURRENCY rows per worker process, 8 by default),
every one of them a message whose provider call may really have started, and never a
duplicate: no row is ever moved back from ``sending`` to a state that could send it again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Prefetch
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import ClinicSettings
from patients.models import MessagingConsent, Patient
from patients.selectors import consent_applies, consent_newest

from .. import ics
from ..exceptions import RecallNotOpen
from ..models import Appointment, Message, Recall, RecallContact
from . import channels
from .links import Action, action_known, link_url, one_click_unsubscribe_url

logger = logging.getLogger(__name__)

Kind = Message.Kind
Status = Message.Status
Purpose = MessagingConsent.Purpose

PURPOSE_FOR_KIND = {
    Kind.APPOINTMENT_CONFIRMATION: Purpose.APPOINTMENT_REMINDERS,
    Kind.APPOINTMENT_CHANGED: Purpose.APPOINTMENT_REMINDERS,
    Kind.APPOINTMENT_CANCELLED: Purpose.APPOINTMENT_REMINDERS,
    Kind.APPOINTMENT_REMINDER: Purpose.APPOINTMENT_REMINDERS,
    Kind.RECALL_DUE: Purpose.RECALLS,
    Kind.RECALL_SECOND: Purpose.RECALLS,
    Kind.QUESTIONNAIRE: Purpose.QUESTIONNAIRES,
    Kind.CAMPAIGN: Purpose.RECALLS,
    # Advice about the visit the patient has just had: a message about their appointment.
    Kind.AFTERCARE: Purpose.APPOINTMENT_REMINDERS,
    # The home programme a therapy visit set: about the visit, like aftercare.
    Kind.HOME_PROGRAMME: Purpose.APPOINTMENT_REMINDERS,
    # "How did the exercises go?": a short patient-reported check-in, like a questionnaire.
    Kind.PROGRAMME_CHECKIN: Purpose.QUESTIONNAIRES,
}


# Reminders about a visit or a recall go out at this local time of their due day.
SEND_AT_LOCAL = time(10, 0)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_datetime(day: date, at: time = SEND_AT_LOCAL) -> datetime:
    """A wall-clock time in the clinic's zone on ``day``, as an aware datetime."""
    return datetime.combine(day, at, tzinfo=_tz())


# --------------------------------------------------------------------------------------------
# Planning


def _channels_for(patient: Patient) -> list[str]:
    found = []
    if patient.email:
        found.append(Message.Channel.EMAIL)
    if patient.mobile:
        found.append(Message.Channel.SMS)
    # A patient with no contact details still gets a row, skipped at send time with its reason,
    # so that the front desk sees who could not be reached.
    return found or [Message.Channel.EMAIL]


def message_schedule(
    *,
    patient: Patient,
    kind: str,
    due_at: datetime,
    target: str,
    appointment: Appointment | None = None,
    recall: Recall | None = None,
    context: dict | None = None,
    channels_: list[str] | None = None,
) -> int:
    """Plan one message per channel. Returns how many rows were new (0 when planned before)."""
    due_day = timezone.localtime(due_at, _tz()).date().isoformat()
    rows = [
        Message(
            patient=patient,
            kind=kind,
            channel=channel,
            purpose=PURPOSE_FOR_KIND[kind],
            due_at=due_at,
            appointment=appointment,
            recall=recall,
            context=context or {},
            dedupe_key=f"{target}:{kind}:{channel}:{due_day}",
        )
        for channel in (channels_ or _channels_for(patient))
    ]
    keys = [row.dedupe_key for row in rows]
    existing = set(Message.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    new = [row for row in rows if row.dedupe_key not in existing]
    # ignore_conflicts: a concurrent planner that inserted the same key first wins, silently.
    Message.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _cancel_pending(qs, reason: str) -> int:
    return qs.filter(status=Status.SCHEDULED).update(
        status=Status.CANCELLED, reason_code="superseded", reason=reason[:300], updated_at=timezone.now()
    )


def messages_plan_for_appointment(
    *, appointment: Appointment, event: str, now: datetime | None = None
) -> None:
    """Plan the notices and the reminder that a booking, a move or a cancellation implies.

    ``event`` is "booked", "rescheduled" or "cancelled". Called by the booking services inside
    the change's own transaction, so the change never commits without its messages.
    """
    now = now or timezone.now()
    patient = appointment.patient
    target = f"appointment:{appointment.pk}"
    pending = Message.objects.filter(appointment=appointment)
    if event in ("rescheduled", "cancelled"):
        _cancel_pending(
            pending.filter(kind__in=[Kind.APPOINTMENT_REMINDER, Kind.QUESTIONNAIRE]), f"appointment {event}"
        )
    notice = {
        "booked": Kind.APPOINTMENT_CONFIRMATION,
        "rescheduled": Kind.APPOINTMENT_CHANGED,
        "cancelled": Kind.APPOINTMENT_CANCELLED,
    }[event]
    # The start time is part of the key: each move sends its own notice, a repeat sends none.
    stamp = appointment.starts_at.strftime("%Y%m%dT%H%M")
    message_schedule(
        patient=patient, kind=notice, due_at=now, target=f"{target}@{stamp}", appointment=appointment
    )
    if event == "cancelled":
        return
    policy = ClinicSettings.load()
    remind_at = appointment.starts_at - timedelta(hours=policy.appointment_reminder_hours)
    if remind_at > now:
        message_schedule(
            patient=patient,
            kind=Kind.APPOINTMENT_REMINDER,
            due_at=remind_at,
            target=target,
            appointment=appointment,
        )
    if appointment.appointment_type.is_toxin:
        # The SAQ is taken before each toxin session (docs/domain.md): ask with the reminder.
        message_schedule(
            patient=patient,
            kind=Kind.QUESTIONNAIRE,
            due_at=max(remind_at, now),
            target=target,
            appointment=appointment,
            context={"instrument": "saq", "when": "before"},
        )


def recall_reminder_dates(recall: Recall, policy: ClinicSettings) -> list[tuple[str, date]]:
    """When a recall's reminders go out: (kind, date) pairs."""
    if recall.kind == Recall.Kind.REINJECTION:
        # Counted from the patient's own due date (their usual duration of effect): the first
        # some weeks before it, the second on it or after, if still not booked (clinic settings).
        # Never before the earliest safe date, and the second at least a week after the first.
        first = max(
            recall.due_date - timedelta(weeks=policy.recall_first_reminder_weeks_before_due),
            recall.earliest_date,
            recall.anchor_date + timedelta(days=1),
        )
        second = max(
            recall.due_date + timedelta(weeks=policy.recall_second_reminder_weeks_after_due),
            first + timedelta(weeks=1),
        )
        return [(Kind.RECALL_DUE, first), (Kind.RECALL_SECOND, second)]
    # Post-op, therapy and follow-up recalls: a week before the earliest date, then on the due date.
    first = max(recall.earliest_date - timedelta(days=7), recall.anchor_date + timedelta(days=1))
    second = max(recall.due_date, first + timedelta(days=1))
    return [(Kind.RECALL_DUE, first), (Kind.RECALL_SECOND, second)]


def messages_plan_for_recall(*, recall: Recall, now: datetime | None = None) -> int:
    """Plan a recall's reminders. Dates already past are sent at the next dispatch (once)."""
    now = now or timezone.now()
    policy = ClinicSettings.load()
    planned = 0
    today = timezone.localdate(now, _tz())
    for kind, day in recall_reminder_dates(recall, policy):
        due_at = local_datetime(day)
        if day < today:
            if kind != Kind.RECALL_DUE:
                # Opened late (a session recorded after the fact): one reminder now is enough.
                continue
            due_at = now
        planned += message_schedule(
            patient=recall.patient,
            kind=kind,
            due_at=due_at,
            target=f"recall:{recall.pk}",
            recall=recall,
        )
    return planned


def messages_cancel_for_recall(*, recall: Recall, reason: str) -> int:
    return _cancel_pending(Message.objects.filter(recall=recall), reason)


def questionnaire_request_schedule(
    *,
    patient: Patient,
    anchor_date: date,
    source: str,
    instrument: str = "saq",
    after_days: int | None = None,
) -> int:
    """Ask the patient to fill in a questionnaire ``after_days`` after ``anchor_date``
    (default: the clinic's questionnaire_after_toxin_days, ~2 weeks after a toxin session)."""
    if after_days is None:
        after_days = ClinicSettings.load().questionnaire_after_toxin_days
    due_day = anchor_date + timedelta(days=after_days)
    if due_day < timezone.localdate(timezone.now(), _tz()):
        # A session recorded long after the fact: asking how it went weeks later measures nothing.
        return 0
    return message_schedule(
        patient=patient,
        kind=Kind.QUESTIONNAIRE,
        due_at=local_datetime(due_day),
        target=source,
        context={"instrument": instrument, "when": "after", "source": source},
    )


# Aftercare topics name page and message sections (templates/aftercare/<topic>.html): a word of
# lower-case letters and underscores, never a path.
AFTERCARE_TOPIC = re.compile(r"^[a-z][a-z_]{0,40}$")


def aftercare_plan(*, patient: Patient, topics: list[str], source: str, now: datetime | None = None) -> int:
    """Send the aftercare advice for a treatment just signed (``source``, e.g. "encounter:42"):
    one message per channel, due at once, once per source (the dedupe key), through the usual
    pipeline (consent, contact details and quiet hours checked at send time). ``topics`` are the
    sections of advice (the treatment's kinds, e.g. "toxin", "dao_excision"). Returns how many
    rows are new; 0 when the clinic has switched aftercare messages off."""
    if not ClinicSettings.load().aftercare_messages:
        return 0
    topics = list(dict.fromkeys(t for t in topics if AFTERCARE_TOPIC.match(t)))
    if not topics:
        return 0
    planned = message_schedule(
        patient=patient,
        kind=Kind.AFTERCARE,
        due_at=now or timezone.now(),
        target=f"aftercare:{source}",
        context={"topics": topics, "source": source},
    )
    if planned and settings.MESSAGES_DISPATCH_ON_CHANGE:
        # Sent within seconds rather than at the next minute; losing the nudge only delays it.
        from ..tasks import messages_dispatch_task

        transaction.on_commit(messages_dispatch_task.delay)
    return planned


# Messages that point to a page a higher floor registered as a link action: the kinds it may
# plan, so this package sends them without knowing what the page shows.
PAGE_LINK_KINDS = frozenset({Kind.HOME_PROGRAMME, Kind.PROGRAMME_CHECKIN})


def page_link_plan(
    *,
    patient: Patient,
    kind: str,
    target: str,
    action: str,
    link_target: str | int,
    due_at: datetime | None = None,
    context: dict | None = None,
) -> int:
    """Plan one message per channel that carries a signed link to a registered page
    (``action``, ``link_target``), once per ``target`` and due day (the dedupe key), through the
    usual pipeline: consent, contact details and quiet hours are checked at send time. The
    templates are ``messages/<kind>.*`` and read the link as ``page_url``. Returns how many rows
    are new."""
    if kind not in PAGE_LINK_KINDS or not action_known(action):
        raise ValueError(f"not a page-link message: {kind!r}, {action!r}")
    now = timezone.now()
    due_at = due_at or now
    planned = message_schedule(
        patient=patient,
        kind=kind,
        due_at=due_at,
        target=target,
        context={**(context or {}), "link": {"action": action, "target": str(link_target)}},
    )
    if planned and due_at <= now and settings.MESSAGES_DISPATCH_ON_CHANGE:
        from ..tasks import messages_dispatch_task

        transaction.on_commit(messages_dispatch_task.delay)
    return planned


def page_link_cancel(*, patient: Patient, kind: str, reason: str, exclude_target: str = "") -> int:
    """Cancel a patient's scheduled messages of a page-link ``kind`` (e.g. the weekly check-in
    prompts of a programme a newer visit replaced), except those planned for ``exclude_target``."""
    pending = Message.objects.filter(patient=patient, kind=kind)
    if exclude_target:
        pending = pending.exclude(dedupe_key__startswith=f"{exclude_target}:")
    return _cancel_pending(pending, reason)


# --------------------------------------------------------------------------------------------
# Dispatching


def messages_requeue_stale(*, now: datetime | None = None) -> tuple[int, int]:
    """Recover from workers that died: (requeued, marked interrupted)."""
    now = now or timezone.now()
    # A claim older than this belongs to a worker that died (10 minutes unless configured).
    cutoff = now - timedelta(seconds=settings.MESSAGE_STALE_CLAIM_SECONDS)
    requeued = Message.objects.filter(status=Status.QUEUED, claimed_at__lt=cutoff).update(
        status=Status.SCHEDULED, claimed_at=None, updated_at=now
    )
    interrupted = Message.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff).update(
        status=Status.FAILED,
        reason_code="interrupted",
        reason="The sending worker stopped mid-send; delivery unknown, not resent to avoid a duplicate.",
        updated_at=now,
    )
    if requeued or interrupted:
        logger.warning("messages recovered", extra={"requeued": requeued, "interrupted": interrupted})
    return requeued, interrupted


def messages_claim_due(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Claim due scheduled messages (oldest first) and mark them queued. Returns their ids."""
    now = now or timezone.now()
    limit = limit or settings.MESSAGE_DISPATCH_LIMIT
    with transaction.atomic():
        due = Message.objects.filter(status=Status.SCHEDULED, due_at__lte=now).order_by("due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            Message.objects.filter(id__in=ids, status=Status.SCHEDULED).update(
                status=Status.QUEUED, claimed_at=now, updated_at=now
            )
    return ids


def batches(ids: list[int], size: int | None = None) -> list[list[int]]:
    size = size or settings.MESSAGE_BATCH_SIZE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


# --------------------------------------------------------------------------------------------
# Sending


def _retry_delay(attempts: int) -> timedelta:
    # 1, 4, 16, 64 ... minutes (MESSAGE_RETRY_BASE_SECONDS, then x4), capped at 6 hours.
    return min(
        timedelta(seconds=settings.MESSAGE_RETRY_BASE_SECONDS * 4 ** max(attempts - 1, 0)), timedelta(hours=6)
    )


def in_quiet_hours(moment: datetime, policy: ClinicSettings) -> datetime | None:
    """If ``moment`` falls in the clinic's quiet hours, the time they end; else None."""
    local = timezone.localtime(moment, _tz())
    start, end = policy.quiet_hours_start, policy.quiet_hours_end
    t = local.time()
    if start == end:
        return None
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return local_datetime(end_day, end)


class SendContext:
    """What every message of a batch shares: the clinic's rules and one SMS backend, loaded once
    per batch instead of once per message."""

    def __init__(self) -> None:
        self.policy = ClinicSettings.load()
        self._sms: channels.SmsBackend | None = None

    @property
    def sms(self) -> channels.SmsBackend:
        if self._sms is None:
            self._sms = channels.sms_backend()
        return self._sms


@functools.cache
def _send_pool(pid: int, size: int) -> ThreadPoolExecutor:
    # One pool per worker process (keyed by pid: a pool's threads do not survive fork()).
    return ThreadPoolExecutor(max_workers=size, thread_name_prefix="message-send")


def messages_send_batch(*, message_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Send a batch; returns how many ended in each status ("not_claimed": another worker's)."""
    outcome: dict[str, int] = {}
    for status in _send_ids(message_ids, now=now).values():
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Send one message if it is still ours to send; returns its final status."""
    return _send_ids([message_id], now=now)[message_id]


def _send_ids(message_ids: list[int], *, now: datetime | None) -> dict:
    """Send ``message_ids`` a window at a time (see the module docstring); {id: final status}.

    Never raises for one message's problem: one bad contact record must not stop the others.
    """
    shared = SendContext()
    size = max(1, settings.MESSAGE_SEND_CONCURRENCY)
    ids = list(dict.fromkeys(message_ids))
    statuses: dict[int, str] = {}
    ended: dict[Message, _Outcome] = {}  # the previous window's outcomes, written with the next claim
    for start in range(0, len(ids), size):
        window, window_now = ids[start : start + size], now or timezone.now()
        claimed = _record_and_claim(ended, window, window_now)
        statuses.update({message_id: "not_claimed" for message_id in window if message_id not in claimed})
        ended = _send_window(window, claimed, window_now, shared) if claimed else {}
        statuses.update({message.pk: outcome.status for message, outcome in ended.items()})
    _record_and_claim(ended, [], now or timezone.now())
    return statuses


def _record_and_claim(ended: dict[Message, _Outcome], ids: list[int], now: datetime) -> dict[int, int]:
    """Write how the previous window's messages ended, and claim the next window: queued ->
    sending for those of ``ids`` still queued. Returns {claimed id: attempts}.

    Only the worker whose UPDATE hit a row gets it back from RETURNING, so only that worker
    ever calls the provider for it. Both statements travel in one round trip (a psycopg
    pipeline): round trips to the database were most of the cost of sending.
    """
    rows = _recorded_rows(ended, now)
    if not rows and not ids:
        return {}
    if connection.vendor == "postgresql":
        claim, id_param = _CLAIM_SQL.format(ids="= ANY(%s)"), list(ids)
        connection.ensure_connection()
        pipeline = connection.connection.pipeline()
    else:  # SQLite (the quick start): RETURNING since 3.35, the ids as a JSON array.
        claim, id_param = _CLAIM_SQL.format(ids="IN (SELECT value FROM json_each(%s))"), json.dumps(ids)
        pipeline = contextlib.nullcontext()
    with connection.cursor() as cursor:
        with pipeline:
            if rows:
                cursor.executemany(_RECORD_SQL, rows)
            if ids:
                cursor.execute(claim, [Status.SENDING, now, now, id_param, Status.QUEUED])
        # Read after the pipeline has synced once: a fetch inside it would cost a second trip.
        return dict(cursor.fetchall()) if ids else {}


_CLAIM_SQL = (
    "UPDATE scheduling_message SET status = %s, claimed_at = %s, updated_at = %s, attempts = attempts + 1 "
    "WHERE id {ids} AND status = %s RETURNING id, attempts"
)
# Every column an outcome may change. While a row is "sending" it belongs to the worker that
# claimed it (nothing else writes a sending row but stale-claim recovery, and the
# "status = 'sending'" condition lets recovery win), so the unchanged ones are written back as
# they were read. One UPDATE per row: Django's bulk_update builds a CASE per column and row,
# which cost more CPU than the sending itself.
_RECORD_SQL = (
    "UPDATE scheduling_message SET status = %s, reason_code = %s, reason = %s, to_address = %s, "
    "subject = %s, body = %s, sent_at = %s, provider_id = %s, due_at = %s, claimed_at = %s, "
    "attempts = %s, updated_at = %s WHERE id = %s AND status = %s"
)
_RECORD_COLUMNS = (
    "status",
    "reason_code",
    "reason",
    "to_address",
    "subject",
    "body",
    "sent_at",
    "provider_id",
    "due_at",
    "claimed_at",
    "attempts",
    "updated_at",
)


def _recorded_rows(ended: dict[Message, _Outcome], now: datetime) -> list[list]:
    rows = []
    for message, outcome in ended.items():
        for name, value in {"status": outcome.status, "updated_at": now, **outcome.fields}.items():
            setattr(message, name, value)
        rows.append([*(getattr(message, column) for column in _RECORD_COLUMNS), message.pk, Status.SENDING])
    return rows


# What the sender reads: the whole message row (it writes the row back, _RECORD_SQL), the
# recall, and of the patient only name, contact details, language and status, never the
# clinical part of the record.
_SENDER_FIELDS = (
    *(field.name for field in Message._meta.concrete_fields),
    *(
        f"patient__{name}"
        for name in ("first_name", "preferred_name", "email", "mobile", "language", "status")
    ),
    *(f"recall__{field.name}" for field in Recall._meta.concrete_fields),
)


def _load_for_sending(ids) -> dict[int, Message]:
    """The claimed rows with their patients, recalls and appointments, and each one's newest
    consent decision (``consent_granted``, ``consent_address``): read now, after the claim and
    right before the provider calls, as for a single message, so a STOP recorded a moment ago
    is honoured."""
    # Few joins on purpose: the eight-table select_related this replaces took PostgreSQL tens of
    # milliseconds to plan (EXPLAIN ANALYZE; docs/reminders.md), once per message, more than
    # executing it. Appointments come in one more query, only for messages that have one.
    rows = (
        Message.objects.filter(pk__in=ids)
        .select_related("patient", "recall")
        .only(*_SENDER_FIELDS)
        .annotate(**consent_newest(patient="patient", channel="channel", purpose="purpose"))
        .prefetch_related(
            Prefetch("appointment", queryset=Appointment.objects.select_related("room__location"))
        )
        .order_by()
    )
    return {message.pk: message for message in rows}


@dataclass
class _Outcome:
    """How one message ended: its new status and the fields to record with it."""

    status: str
    fields: dict


@dataclass
class _Delivery:
    """A message ready for its provider call."""

    message: Message
    to: str
    rendered: dict
    call: Callable[[], str]


def _failed(code: str, reason: str, **fields) -> _Outcome:
    return _Outcome(Status.FAILED, {"reason_code": code, "reason": reason[:300], **fields})


def _rescheduled(due_at: datetime, code: str, reason: str, *, attempts: int) -> _Outcome:
    fields = {"due_at": due_at, "claimed_at": None, "reason_code": code, "reason": reason[:300]}
    return _Outcome(Status.SCHEDULED, {**fields, "attempts": attempts})


def _send_window(
    ids: list[int], claimed: dict[int, int], now: datetime, shared: SendContext
) -> dict[Message, _Outcome]:
    """Send the claimed messages of one window; returns how each ended (not yet written)."""
    messages = _load_for_sending(claimed)
    outcomes: dict[Message, _Outcome] = {}
    deliveries: list[_Delivery] = []
    for message_id in ids:
        message = messages.get(message_id)
        if message is None:
            continue
        message.status, message.claimed_at, message.attempts = Status.SENDING, now, claimed[message_id]
        prepared = _prepare(message, now, shared)
        if isinstance(prepared, _Delivery):
            deliveries.append(prepared)
        else:
            outcomes[message] = prepared
    for delivery, result in zip(deliveries, _call_providers(deliveries), strict=True):
        outcomes[delivery.message] = _delivered(delivery, result, now)
    return outcomes


def _prepare(message: Message, now: datetime, shared: SendContext) -> _Outcome | _Delivery:
    try:
        skip = _skip_reason(message, now)
        if skip:
            return _Outcome(Status.SKIPPED, {"reason_code": skip[0], "reason": skip[1]})
        if message.channel == Message.Channel.SMS:
            quiet_until = in_quiet_hours(now, shared.policy)
            if quiet_until:
                # Not an attempt: the claim's increment is given back.
                return _rescheduled(
                    quiet_until, "quiet_hours", "Held until quiet hours end.", attempts=message.attempts - 1
                )
        try:
            rendered = render_message(message, contact=shared.policy)
        except TemplateDoesNotExist as exc:
            return _failed("render_error", f"No template: {exc}")
        if message.channel == Message.Channel.EMAIL:
            content = channels.EmailContent(
                to=message.patient.email,
                subject=rendered["subject"],
                text=rendered["text"],
                html=rendered["html"],
                attachments=rendered["attachments"],
                headers=bulk_mail_headers(message),
            )
            return _Delivery(message, content.to, rendered, functools.partial(channels.send_email, content))
        to = message.patient.mobile.as_e164
        call = functools.partial(shared.sms.send, to=to, body=rendered["text"])
        return _Delivery(message, to, rendered, call)
    except channels.PermanentSendError as exc:
        # E.g. an SMS backend that is not configured: every message fails visibly, with why.
        return _failed("provider_rejected", str(exc))
    except Exception as exc:
        # A programming or data error in one message: record it on that row and carry on.
        logger.exception("message send failed unexpectedly", extra={"message_id": message.pk})
        return _failed("error", f"Unexpected error: {type(exc).__name__}")


# Mail sent to many patients on the clinic's initiative (recalls, notices): large mailbox
# providers require bulk senders to offer one-click unsubscribe (RFC 8058).
BULK_KINDS = frozenset({Kind.RECALL_DUE, Kind.RECALL_SECOND, Kind.CAMPAIGN})


def bulk_mail_headers(message: Message) -> dict[str, str]:
    """List-Unsubscribe and List-Unsubscribe-Post for a bulk email: one click withdraws the
    patient's consent to this purpose by email (scheduling.reminders.link_views.one_click)."""
    if message.kind not in BULK_KINDS or message.channel != Message.Channel.EMAIL:
        return {}
    target = f"{message.channel}:{message.purpose}"
    url = one_click_unsubscribe_url(patient_id=message.patient_id, target=target)
    return channels.one_click_unsubscribe_headers(url)


def _call_one(delivery: _Delivery) -> str | Exception:
    try:
        return delivery.call()
    except Exception as exc:
        # Returned, not raised: each message's result is judged on its own (_delivered).
        return exc


def _call_providers(deliveries: list[_Delivery]) -> list[str | Exception]:
    """The provider calls of one window, side by side when there are several. The threads do
    HTTP or SMTP only, never the database: the window is claimed and recorded by the caller."""
    if len(deliveries) <= 1:
        return [_call_one(delivery) for delivery in deliveries]
    pool = _send_pool(os.getpid(), max(1, settings.MESSAGE_SEND_CONCURRENCY))
    return list(pool.map(_call_one, deliveries))


def _delivered(delivery: _Delivery, result: str | Exception, now: datetime) -> _Outcome:
    message, to = delivery.message, delivery.to
    if isinstance(result, channels.TransientSendError):
        if message.attempts >= settings.MESSAGE_MAX_ATTEMPTS:
            return _failed("provider_unavailable", f"Gave up after {message.attempts} attempts: {result}")
        return _rescheduled(
            now + _retry_delay(message.attempts),
            "retrying",
            f"Attempt {message.attempts} failed: {result}",
            attempts=message.attempts,
        )
    if isinstance(result, channels.PermanentSendError):
        return _failed("provider_rejected", str(result), to_address=to)
    if isinstance(result, channels.DeliveryUnknownError):
        # The provider may have sent it: a retry could deliver it twice. Fail where staff see it.
        return _failed("delivery_unknown", str(result), to_address=to)
    if isinstance(result, Exception):
        logger.error("message send failed unexpectedly", exc_info=result, extra={"message_id": message.pk})
        return _failed("error", f"Unexpected error: {type(result).__name__}")
    return _Outcome(
        Status.SENT,
        {
            "reason_code": "",
            "reason": "",
            "to_address": to,
            "subject": delivery.rendered["subject"][:200],
            "body": delivery.rendered["text"],
            "sent_at": now,
            "provider_id": result[:100],
        },
    )


def _skip_reason(message: Message, now: datetime) -> tuple[str, str] | None:
    patient = message.patient
    if patient.status != Patient.Status.ACTIVE:
        return "patient_inactive", "The patient's record is inactive."
    appointment = message.appointment
    if appointment is not None and message.kind in (
        Kind.APPOINTMENT_CONFIRMATION,
        Kind.APPOINTMENT_REMINDER,
        Kind.APPOINTMENT_CHANGED,
        Kind.QUESTIONNAIRE,
    ):
        if appointment.status not in Appointment.ACTIVE_STATUSES:
            return "appointment_inactive", f"The appointment is {appointment.get_status_display().lower()}."
        if message.kind == Kind.APPOINTMENT_REMINDER and appointment.starts_at <= now:
            return "appointment_passed", "The appointment has already started."
    recall = message.recall
    if recall is not None and recall.status != Recall.Status.OPEN:
        return "recall_closed", f"The recall is {recall.get_status_display().lower()}."
    if message.channel == Message.Channel.EMAIL and not patient.email:
        return "no_address", "No email address on the patient's record."
    if message.channel == Message.Channel.SMS and not patient.mobile:
        return "no_address", "No mobile number on the patient's record."
    # consent_granted and consent_address come with the row (_load_for_sending).
    if not consent_applies(
        patient=patient,
        channel=message.channel,
        granted=message.consent_granted,
        address=message.consent_address,
    ):
        label = MessagingConsent.Purpose(message.purpose).label.lower()
        return "no_consent", f"No consent for {label} by {message.channel}."
    return None


# --------------------------------------------------------------------------------------------
# Rendering


def _templates(kind: str, part: str, language: str) -> list[str]:
    names = [f"messages/{kind}.{part}"]
    if language and language != "en":
        names.insert(0, f"messages/{language}/{kind}.{part}")
    return names


def message_context(message: Message, *, contact: ClinicSettings | None = None) -> dict:
    """The template context of a message. Links are signed only if the template uses them:
    a callable in a Django template context is called when the template reads it. ``contact``:
    the clinic settings (name, phone and address for the footer) when the caller has them."""
    patient = message.patient
    link = functools.partial(link_url, patient_id=patient.pk)
    contact = contact or ClinicSettings.load()
    ctx = {
        "first_name": patient.preferred_name or patient.first_name,
        "clinic_name": contact.display_name,
        "clinic_phone": contact.clinic_phone,
        "clinic_address": contact.clinic_address,
        "message": message,
        "unsubscribe_url": functools.partial(
            link, action=Action.UNSUBSCRIBE, target=f"{message.channel}:{message.purpose}"
        ),
    }
    appointment = message.appointment
    if appointment is not None:
        local = timezone.localtime(appointment.starts_at, _tz())
        ctx.update(
            {
                "appointment": appointment,
                "when": local,
                "location": appointment.room.location,
                "confirm_url": functools.partial(link, action=Action.CONFIRM, target=appointment.pk),
                "cancel_url": functools.partial(link, action=Action.CANCEL, target=appointment.pk),
            }
        )
    if message.recall is not None:
        ctx["book_url"] = functools.partial(link, action=Action.BOOK, target=message.recall.pk)
    if message.kind == Kind.QUESTIONNAIRE:
        ctx["questionnaire_url"] = functools.partial(link, action=Action.QUESTIONNAIRE, target=message.pk)
    if message.kind == Kind.AFTERCARE:
        ctx["aftercare_url"] = functools.partial(link, action=Action.AFTERCARE, target=message.pk)
        ctx["topics"] = (message.context or {}).get("topics", [])
    page = (message.context or {}).get("link")
    if message.kind in PAGE_LINK_KINDS and isinstance(page, dict) and action_known(page.get("action")):
        ctx["page_url"] = functools.partial(link, action=page["action"], target=str(page.get("target", "")))
    return ctx


def render_message(message: Message, *, contact: ClinicSettings | None = None) -> dict:
    """Subject, text, optional HTML and attachments, in the patient's language where translated."""
    ctx = message_context(message, contact=contact)
    language = message.patient.language
    if message.channel == Message.Channel.SMS:
        text = (
            select_template(_templates(message.kind, "sms.txt", language), using="text").render(ctx).strip()
        )
        return {"subject": "", "text": text, "html": None, "attachments": []}
    subject = (
        select_template(_templates(message.kind, "subject.txt", language), using="text").render(ctx).strip()
    )
    text = select_template(_templates(message.kind, "email.txt", language), using="text").render(ctx).strip()
    try:
        html = select_template(_templates(message.kind, "email.html", language)).render(ctx)
    except TemplateDoesNotExist:
        html = render_to_string("messages/_generic.email.html", {**ctx, "text": text, "subject": subject})
    attachments = []
    if message.kind in (Kind.APPOINTMENT_CONFIRMATION, Kind.APPOINTMENT_CHANGED, Kind.APPOINTMENT_CANCELLED):
        method = ics.CANCEL if message.kind == Kind.APPOINTMENT_CANCELLED else ics.REQUEST
        attachments.append(
            (
                "appointment.ics",
                ics.appointment_invitation(message.appointment, method=method),
                ics.invitation_mimetype(method),
            )
        )
    return {"subject": " ".join(subject.split()), "text": text, "html": html, "attachments": attachments}


def appointment_ics(appointment: Appointment, *, cancelled: bool = False) -> bytes:
    """The iCalendar invitation for one appointment (scheduling.ics); a cancellation keeps its UID."""
    return ics.appointment_invitation(appointment, method=ics.CANCEL if cancelled else ics.REQUEST)


# --------------------------------------------------------------------------------------------
# The recall worklist


@transaction.atomic
def recall_contact_log(*, recall: Recall, method: str, outcome: str = "", actor) -> RecallContact:
    contact = RecallContact.objects.create(recall=recall, method=method, outcome=outcome, by=actor)
    audit_record(
        actor=actor,
        action="recall.contacted",
        target=recall,
        patient_id=recall.patient_id,
        changes={"method": method},
    )
    return contact


@transaction.atomic
def recall_close(*, recall: Recall, reason: str, actor) -> Recall:
    """Close an open recall (the patient declined, moved on ...): no more reminders."""
    recall = Recall.objects.select_for_update().get(pk=recall.pk)
    if recall.status != Recall.Status.OPEN:
        raise RecallNotOpen(f"The recall is {recall.get_status_display().lower()}.")
    recall.status = Recall.Status.CANCELLED
    recall.save(update_fields=["status", "updated_at"])
    messages_cancel_for_recall(recall=recall, reason=f"recall closed: {reason}")
    audit_record(
        actor=actor,
        action="recall.closed",
        target=recall,
        patient_id=recall.patient_id,
        changes={"reason": reason},
    )
    return recall
