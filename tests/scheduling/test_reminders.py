"""Reminders: planning, dispatching and sending, with controlled time."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import fake_twilio
from clinic.models import ClinicSettings
from patients.models import MessagingConsent
from scheduling.models import Appointment, Message, Recall
from scheduling.reminders import channels
from scheduling.reminders import services as reminders
from scheduling.services import recall_open
from tests.factories import AppointmentFactory, AppointmentTypeFactory, PatientFactory, RoomFactory
from tests.scheduling.messaging_helpers import grant_all

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # a Monday, 09:00 in London (winter: UTC)


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def patient():
    p = PatientFactory(
        first_name="Aoife", last_name="O'Brien", email="aoife@example.org", mobile="+447700100001"
    )
    grant_all(p)
    return p


def _appointment(patient, *, starts_at=NOW + timedelta(days=3), code="follow_up", is_toxin=False):
    appointment_type = AppointmentTypeFactory(
        code=code, name="Toxin" if is_toxin else "Follow-up", is_toxin=is_toxin
    )
    room = RoomFactory(name="Room A")
    return AppointmentFactory(
        patient=patient, appointment_type=appointment_type, room=room, starts_at=starts_at
    )


def _dispatch_and_send(now=None):
    ids = reminders.messages_claim_due(now=now)
    return [reminders.message_send(message_id=i, now=now) for i in ids]


def test_booking_plans_a_confirmation_now_and_a_reminder_48h_before(travel, patient):
    appointment = _appointment(patient)
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")

    rows = Message.objects.order_by("kind", "channel").values_list("kind", "channel", "due_at")
    assert list(rows) == [
        ("appointment_confirmation", "email", NOW),
        ("appointment_confirmation", "sms", NOW),
        ("appointment_reminder", "email", appointment.starts_at - timedelta(hours=48)),
        ("appointment_reminder", "sms", appointment.starts_at - timedelta(hours=48)),
    ]


def test_planning_twice_plans_nothing_new(travel, patient):
    appointment = _appointment(patient)
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    assert Message.objects.count() == 4


def test_toxin_booking_also_asks_for_the_saq(travel, patient):
    appointment = _appointment(patient, code="toxin", is_toxin=True)
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    assert Message.objects.filter(kind="questionnaire").count() == 2


def test_confirmation_email_has_ics_links_and_no_clinical_detail(travel, patient):
    appointment = _appointment(patient, code="toxin", is_toxin=True)
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    _dispatch_and_send(NOW)

    confirmation = next(m for m in mail.outbox if m.subject.startswith("Your appointment"))
    assert confirmation.to == ["aoife@example.org"]
    assert "Aoife" in confirmation.body
    assert "O&#x27;" not in confirmation.body
    assert "/p/" in confirmation.body  # confirm and cancel links
    assert "toxin" not in confirmation.body.lower() and "botul" not in confirmation.body.lower()
    (invitation,) = [
        part for part in confirmation.message().walk() if part.get_filename() == "appointment.ics"
    ]
    assert invitation.get_content_type() == "text/calendar"
    assert invitation.get_param("method") == "REQUEST"
    content = invitation.get_payload(decode=True).decode()
    assert "BEGIN:VEVENT" in content and "Appointment at" in content
    html = confirmation.alternatives[0]
    assert "text/html" in html[1]


def test_reminder_is_sent_once_even_if_dispatched_and_sent_twice(travel, patient, sms_outbox):
    appointment = _appointment(patient)
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    ids = reminders.messages_claim_due(now=NOW)
    assert reminders.messages_claim_due(now=NOW) == []  # a second dispatcher finds nothing
    for message_id in ids + ids:  # a redelivered batch
        reminders.message_send(message_id=message_id, now=NOW)
    assert len(mail.outbox) == 1
    assert len(sms_outbox) == 1
    assert Message.objects.filter(status="sent").count() == 2


def test_reminder_goes_out_when_due(travel, patient):
    appointment = _appointment(patient)
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    _dispatch_and_send(NOW)
    mail.outbox.clear()

    due = appointment.starts_at - timedelta(hours=48)
    assert _dispatch_and_send(due - timedelta(minutes=1)) == []
    assert sorted(_dispatch_and_send(due)) == ["sent", "sent"]
    assert mail.outbox[0].subject.startswith("Reminder: your appointment")


def test_reschedule_cancels_the_old_reminder_and_plans_new_ones(travel, patient):
    appointment = _appointment(patient)
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    appointment.starts_at += timedelta(days=7)
    appointment.ends_at += timedelta(days=7)
    appointment.blocked_until += timedelta(days=7)
    appointment.save()
    reminders.messages_plan_for_appointment(appointment=appointment, event="rescheduled")

    assert Message.objects.filter(kind="appointment_reminder", status="cancelled").count() == 2
    assert Message.objects.filter(kind="appointment_reminder", status="scheduled").count() == 2
    assert Message.objects.filter(kind="appointment_changed").count() == 2


def test_reminder_for_a_cancelled_appointment_is_skipped(travel, patient):
    appointment = _appointment(patient)
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    Appointment.objects.filter(pk=appointment.pk).update(status="cancelled")
    statuses = _dispatch_and_send(NOW)
    assert statuses == ["skipped", "skipped"]
    assert set(Message.objects.filter(status="skipped").values_list("reason_code", flat=True)) == {
        "appointment_inactive"
    }


def test_no_consent_is_skipped_with_its_reason(travel):
    patient = PatientFactory(email="x@example.org", mobile="+447700100002")
    grant_all(patient, channels=("email",))
    reminders.messages_plan_for_appointment(appointment=_appointment(patient), event="booked")
    _dispatch_and_send(NOW)
    sms = Message.objects.get(kind="appointment_confirmation", channel="sms")
    assert (sms.status, sms.reason_code) == ("skipped", "no_consent")
    assert "appointment reminders by sms" in sms.reason
    assert Message.objects.get(kind="appointment_confirmation", channel="email").status == "sent"


def test_withdrawn_consent_takes_effect_at_once(travel, patient):
    reminders.messages_plan_for_appointment(appointment=_appointment(patient), event="booked")
    MessagingConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="appointment_reminders",
        granted=False,
        address=str(patient.mobile),
        method="sms_reply",
    )
    _dispatch_and_send(NOW)
    assert Message.objects.get(kind="appointment_confirmation", channel="sms").reason_code == "no_consent"


def test_consent_does_not_follow_a_changed_number(travel, patient, sms_outbox):
    patient.mobile = "+447700100999"
    patient.save()
    reminders.messages_plan_for_appointment(appointment=_appointment(patient), event="booked")
    _dispatch_and_send(NOW)
    assert sms_outbox == []
    assert Message.objects.get(kind="appointment_confirmation", channel="sms").reason_code == "no_consent"


def test_missing_contact_details_are_skipped_and_do_not_stop_the_batch(travel, patient, sms_outbox):
    nobody = PatientFactory(email="", mobile="")
    reminders.messages_plan_for_appointment(appointment=_appointment(nobody), event="booked")
    reminders.messages_plan_for_appointment(
        appointment=_appointment(patient, starts_at=NOW + timedelta(days=4)), event="booked"
    )
    _dispatch_and_send(NOW)
    skipped = Message.objects.get(patient=nobody, kind="appointment_confirmation")
    assert (skipped.status, skipped.reason_code) == ("skipped", "no_address")
    assert len(mail.outbox) == 1 and len(sms_outbox) == 1


def test_sms_waits_for_the_end_of_quiet_hours_email_does_not(patient, sms_outbox):
    night = datetime(2027, 1, 11, 22, 30, tzinfo=UTC)  # 22:30 in London
    with time_machine.travel(night, tick=False):
        reminders.messages_plan_for_appointment(
            appointment=_appointment(patient, starts_at=night + timedelta(days=3)), event="booked"
        )
        _dispatch_and_send(night)
    sms = Message.objects.get(kind="appointment_confirmation", channel="sms")
    assert sms.status == "scheduled"
    assert sms.reason_code == "quiet_hours"
    assert sms.due_at == datetime(2027, 1, 12, 8, 0, tzinfo=UTC)
    assert sms.attempts == 0
    assert len(mail.outbox) == 1 and sms_outbox == []


def test_quiet_hours_follow_the_clinic_time_zone_in_summer(patient):
    policy = ClinicSettings.load()
    # 20:30 UTC is 21:30 in London in July (BST): quiet.
    assert reminders.in_quiet_hours(datetime(2027, 7, 1, 20, 30, tzinfo=UTC), policy) == datetime(
        2027, 7, 2, 7, 0, tzinfo=UTC
    )
    assert reminders.in_quiet_hours(datetime(2027, 7, 1, 12, 0, tzinfo=UTC), policy) is None


def test_transient_failures_retry_with_backoff_then_fail(travel, patient, settings):
    settings.SMS_TEST_FAIL = {str(patient.mobile): "transient"}
    settings.MESSAGE_MAX_ATTEMPTS = 3
    reminders.messages_plan_for_appointment(appointment=_appointment(patient), event="booked")
    now = NOW
    delays = []
    for _ in range(3):
        _dispatch_and_send(now)
        sms = Message.objects.get(kind="appointment_confirmation", channel="sms")
        if sms.status != "scheduled":
            break
        delays.append(sms.due_at - now)
        now = sms.due_at
    assert delays == [timedelta(minutes=1), timedelta(minutes=4)]
    assert (sms.status, sms.reason_code, sms.attempts) == ("failed", "provider_unavailable", 3)


def test_permanent_failure_is_recorded_and_the_batch_goes_on(travel, patient, settings, sms_outbox):
    other = PatientFactory(mobile="+447700100003", email="")
    grant_all(other, channels=("sms",))
    settings.SMS_TEST_FAIL = {str(patient.mobile): "permanent"}
    reminders.messages_plan_for_appointment(appointment=_appointment(patient), event="booked")
    reminders.messages_plan_for_appointment(
        appointment=_appointment(other, starts_at=NOW + timedelta(days=5)), event="booked"
    )
    _dispatch_and_send(NOW)
    failed = Message.objects.get(patient=patient, channel="sms", kind="appointment_confirmation")
    assert (failed.status, failed.reason_code) == ("failed", "provider_rejected")
    assert [m["to"] for m in sms_outbox] == ["+447700100003"]


def test_an_unexpected_error_fails_that_message_only(travel, patient, monkeypatch):
    other = PatientFactory(email="other@example.org", mobile="")
    grant_all(other, channels=("email",))
    reminders.messages_plan_for_appointment(appointment=_appointment(patient), event="booked")
    reminders.messages_plan_for_appointment(
        appointment=_appointment(other, starts_at=NOW + timedelta(days=5)), event="booked"
    )
    original = reminders.render_message

    def explode_for_aoife(message, **kwargs):
        if message.patient_id == patient.pk:
            raise ValueError("broken template data")
        return original(message, **kwargs)

    monkeypatch.setattr(reminders, "render_message", explode_for_aoife)
    _dispatch_and_send(NOW)
    assert set(
        Message.objects.filter(patient=patient)
        .exclude(kind="appointment_reminder")
        .values_list("reason_code", flat=True)
    ) == {"error"}
    assert [m.to for m in mail.outbox] == [["other@example.org"]]


def test_stale_claims_are_recovered_without_resending(travel, patient):
    reminders.messages_plan_for_appointment(appointment=_appointment(patient), event="booked")
    queued, sending = reminders.messages_claim_due(now=NOW)
    Message.objects.filter(pk=sending).update(status="sending")
    later = NOW + timedelta(minutes=11)
    assert reminders.messages_requeue_stale(now=later) == (1, 1)
    assert Message.objects.get(pk=queued).status == "scheduled"
    interrupted = Message.objects.get(pk=sending)
    assert (interrupted.status, interrupted.reason_code) == ("failed", "interrupted")


def _toxin_recall(patient, session_day, *, due_weeks=12):
    AppointmentTypeFactory(code="toxin", name="Toxin", is_toxin=True, room_kind="procedure")
    due = session_day + timedelta(weeks=due_weeks)
    return recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=session_day,
        earliest_date=session_day + timedelta(days=84),
        due_date=due,
        overdue_date=due + timedelta(weeks=4),
        source="toxin_session:1",
    )


def test_reinjection_reminders_follow_the_patients_own_due_date(travel, patient):
    """A patient whose toxin lasts 16 weeks is reminded 3 weeks before and on their due date,
    not at fixed weeks after the session (both of which fell before it)."""
    recall = _toxin_recall(patient, date(2027, 1, 4), due_weeks=16)
    due = sorted(set(Message.objects.filter(recall=recall).values_list("kind", "due_at")))
    assert due == [
        ("recall_due", datetime(2027, 4, 5, 9, 0, tzinfo=UTC)),  # 13 weeks, 10:00 BST
        ("recall_second", datetime(2027, 4, 26, 9, 0, tzinfo=UTC)),  # 16 weeks: the due date
    ]


def test_reinjection_reminders_never_go_before_the_earliest_safe_date(travel, patient):
    """Due on the earliest date (no personal timing): three weeks before it would invite a
    booking inside the interval, so the first waits for the earliest date, the second a week on."""
    recall = _toxin_recall(patient, date(2027, 1, 4), due_weeks=12)
    due = sorted(set(Message.objects.filter(recall=recall).values_list("kind", "due_at")))
    assert due == [
        ("recall_due", datetime(2027, 3, 29, 9, 0, tzinfo=UTC)),  # 12 weeks = earliest, 10:00 BST
        ("recall_second", datetime(2027, 4, 5, 9, 0, tzinfo=UTC)),  # a week after the first
    ]
    assert min(m.due_at.date() for m in Message.objects.filter(recall=recall)) >= recall.earliest_date


def test_reminder_timing_follows_the_clinic_settings(travel, patient):
    ClinicSettings.load()
    ClinicSettings.objects.filter(pk=1).update(
        recall_first_reminder_weeks_before_due=2, recall_second_reminder_weeks_after_due=1
    )
    recall = _toxin_recall(patient, date(2027, 1, 4), due_weeks=16)
    due = sorted(set(Message.objects.filter(recall=recall).values_list("kind", "due_at")))
    assert [day.date() for _, day in due] == [date(2027, 4, 12), date(2027, 5, 3)]


def test_recall_email_carries_a_booking_link(patient):
    with time_machine.travel(datetime(2027, 3, 29, 9, 0, tzinfo=UTC), tick=False):
        recall = _toxin_recall(patient, date(2027, 1, 4))
        reminders.messages_plan_for_recall(recall=recall)
        _dispatch_and_send()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Time to book your next appointment"
    assert "/p/" in mail.outbox[0].body


def test_a_booked_recall_sends_no_second_reminder(patient):
    with time_machine.travel(datetime(2027, 3, 29, 9, 0, tzinfo=UTC), tick=False):
        recall = _toxin_recall(patient, date(2027, 1, 4))
        reminders.messages_plan_for_recall(recall=recall)
        _dispatch_and_send()
    Recall.objects.filter(pk=recall.pk).update(status="booked")
    mail.outbox.clear()
    with time_machine.travel(datetime(2027, 4, 5, 9, 0, tzinfo=UTC), tick=False):
        statuses = _dispatch_and_send()
    assert statuses == ["skipped", "skipped"]
    assert mail.outbox == []


def test_a_recall_opened_late_reminds_now_once(travel, patient):
    recall = _toxin_recall(patient, date(2026, 10, 1))  # its first reminder date is past already
    reminders.messages_plan_for_recall(recall=recall)
    reminders.messages_plan_for_recall(recall=recall)
    first = Message.objects.filter(recall=recall, kind="recall_due")
    assert first.count() == 2  # email + sms
    assert {m.due_at for m in first} == {NOW}


def test_questionnaire_request_two_weeks_after_a_session(travel, patient):
    reminders.questionnaire_request_schedule(
        patient=patient, anchor_date=date(2027, 1, 11), source="toxin_session:9"
    )
    rows = Message.objects.filter(kind="questionnaire")
    assert {m.due_at.date() for m in rows} == {date(2027, 1, 25)}
    assert {m.purpose for m in rows} == {"questionnaires"}


def test_message_in_the_patients_language(travel, patient, sms_outbox):
    patient.language = "fr"
    patient.save()
    appointment = _appointment(patient, starts_at=NOW + timedelta(hours=49))
    reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
    Message.objects.filter(kind="appointment_reminder").update(due_at=NOW)
    _dispatch_and_send(NOW)
    reminder = next(m for m in mail.outbox if m.subject.startswith("Rappel"))
    assert "Bonjour Aoife" in reminder.body


# --- Sending a batch: a window at a time ---------------------------------------------------


def _campaign(n):
    """n patients with SMS consent for recalls, each with one clinic notice due now; claimed by
    the dispatcher (queued). Returns the ids in dispatch order."""
    for i in range(n):
        p = PatientFactory(email="", mobile=f"+4477009{i:05d}")
        grant_all(p, channels=("sms",), purposes=["recalls"])
        reminders.message_schedule(
            patient=p,
            kind="campaign",
            due_at=NOW,
            target=f"notice:{p.pk}",
            context={"body": "Closed Friday."},
        )
    return reminders.messages_claim_due(now=NOW)


def test_a_batch_costs_a_few_queries_per_window_not_per_message(travel, settings, sms_outbox):
    settings.MESSAGE_SEND_CONCURRENCY = 8
    ids = _campaign(48)
    few, many = ids[:8], ids[8:]
    ClinicSettings.load()  # created on first use
    with CaptureQueriesContext(connection) as one_window:
        assert reminders.messages_send_batch(message_ids=few, now=NOW) == {"sent": 8}
    with CaptureQueriesContext(connection) as five_windows:
        assert reminders.messages_send_batch(message_ids=many, now=NOW) == {"sent": 40}
    # Per window: the claim (with the previous window's results, one round trip) and one read
    # of rows, patients and consent. Per batch: the clinic settings and the last results.
    assert len(one_window) <= 1 + 2 + 1
    assert len(five_windows) <= 1 + 5 * 3 + 1
    assert sorted(m["to"] for m in sms_outbox) == sorted(
        str(p) for p in Message.objects.values_list("patient__mobile", flat=True)
    )


def test_a_batch_delivered_twice_sends_each_message_once(travel, settings, sms_outbox):
    settings.MESSAGE_SEND_CONCURRENCY = 4
    ids = _campaign(10)
    assert reminders.messages_send_batch(message_ids=ids, now=NOW) == {"sent": 10}
    assert reminders.messages_send_batch(message_ids=ids, now=NOW) == {"not_claimed": 10}
    assert len(sms_outbox) == 10


def test_a_worker_dying_mid_window_leaves_only_that_window_interrupted(
    travel, settings, sms_outbox, monkeypatch
):
    settings.MESSAGE_SEND_CONCURRENCY = 3
    ids = _campaign(7)
    doomed = str(Message.objects.get(pk=ids[4]).patient.mobile)  # in the second window
    real_send = channels.TestSmsBackend.send

    def send(self, *, to, body):
        if to == doomed:
            # Not an Exception: nothing in the sender catches it, as nothing catches a SIGKILL.
            raise SystemExit("worker killed")
        return real_send(self, to=to, body=body)

    monkeypatch.setattr(channels.TestSmsBackend, "send", send)
    with pytest.raises(SystemExit):
        reminders.messages_send_batch(message_ids=ids, now=NOW)

    status = dict(Message.objects.values_list("id", "status"))
    assert [status[i] for i in ids] == ["sent"] * 3 + ["sending"] * 3 + ["queued"]
    later = NOW + timedelta(minutes=11)
    assert reminders.messages_requeue_stale(now=later) == (1, 3)  # the queued one, the window
    monkeypatch.undo()
    assert _dispatch_and_send(later) == ["sent"]
    sent_to = [m["to"] for m in sms_outbox]
    assert len(sent_to) == len(set(sent_to)) and doomed not in sent_to
    assert Message.objects.filter(status="failed", reason_code="interrupted").count() == 3


def test_recovery_that_ran_during_a_send_is_not_overwritten(travel, settings, sms_outbox, monkeypatch):
    """Stale-claim recovery in another process marks a slow send interrupted; when the provider
    call finally returns, the sender's write finds the row no longer 'sending' and leaves it."""
    settings.MESSAGE_SEND_CONCURRENCY = 1  # the provider call runs in this thread (it uses the DB)
    (message_id,) = _campaign(1)
    real_send = channels.TestSmsBackend.send

    def slow_send(self, *, to, body):
        reminders.messages_requeue_stale(now=NOW + timedelta(minutes=11))
        return real_send(self, to=to, body=body)

    monkeypatch.setattr(channels.TestSmsBackend, "send", slow_send)
    reminders.messages_send_batch(message_ids=[message_id], now=NOW)
    message = Message.objects.get(pk=message_id)
    assert (message.status, message.reason_code, message.sent_at) == ("failed", "interrupted", None)


def test_a_window_sends_side_by_side_on_kept_alive_connections(travel, settings):
    """The real Twilio backend against the fake provider process, each answer held 400 ms."""
    settings.MESSAGE_SEND_CONCURRENCY = 4
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "ACtest", "token"
    settings.TWILIO_FROM_NUMBER = "+447700900000"
    ids = _campaign(12)
    with fake_twilio.running(latency_ms=400) as provider:
        settings.TWILIO_API_BASE = provider.base_url
        assert reminders.messages_send_batch(message_ids=ids, now=NOW) == {"sent": 12}
        stats = provider.stats()
    assert stats["requests"] == stats["distinct_to"] == 12
    # Never more calls in flight than the window (the rows claimed 'sending'), but more than one.
    assert 2 <= stats["max_in_flight"] <= 4
    # Three windows over the same keep-alive connections, not a connection per message.
    assert stats["connections"] <= 4
