"""Emails and calendar files as other software reads them.

Each email goes through a real SMTP server (aiosmtpd, tests/smtp.py) and is read back with
Python's standard email parser (``email.parser.BytesParser``, the strict ``policy.default``),
as a mail client would; each calendar file is parsed by two independent iCalendar parsers,
the ``icalendar`` package and ``vobject``. What is checked is what mail and calendar clients
act on: iTIP (RFC 5546) invitations and cancellations with ORGANIZER, ATTENDEE, a stable UID
and a growing SEQUENCE, ``method=`` on the MIME part; RFC 5322 Date and Message-ID; RFC 3834
Auto-Submitted; RFC 8058 one-click unsubscribe, which must work without a CSRF token.
"""

from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr

import icalendar
import pytest
import time_machine
import vobject
from aiosmtpd.controller import Controller
from django.test import Client

from clinic.models import AuditEvent
from patients.models import MessagingConsent
from patients.selectors import consent_current
from scheduling.models import Message
from scheduling.reminders import services as reminders
from scheduling.reminders.links import Action, link_token
from scheduling.services import appointment_cancel, recall_open
from tests.factories import AppointmentFactory, AppointmentTypeFactory, PatientFactory, RoomFactory
from tests.scheduling.messaging_helpers import grant_all
from tests.smtp import SmtpSink, free_port

pytestmark = pytest.mark.django_db

SUMMER = datetime(2027, 7, 12, 9, 0, tzinfo=UTC)  # a Monday; 10:00 in London (BST, +01:00)
WINTER = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)  # 09:00 in London (GMT, +00:00)
DOMAIN = "mail.clinic-a.example"


@pytest.fixture
def smtp(settings):
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_MESSAGE_ID_DOMAIN = DOMAIN
    settings.CALENDAR_UID_DOMAIN = DOMAIN
    settings.DEFAULT_FROM_EMAIL = "Clinic A <appointments@clinic-a.example>"
    settings.SITE_URL = "https://clinic-a.example"
    yield sink
    controller.stop()


@pytest.fixture
def patient():
    patient = PatientFactory(first_name="Aoife", email="aoife@example.org", mobile="+447700100001")
    grant_all(patient, channels=("email",))
    return patient


def _received(sink) -> list:
    """Every message the SMTP server received, parsed as a mail client parses it."""
    parsed = [BytesParser(policy=policy.default).parsebytes(envelope.content) for envelope in sink.messages]
    sink.messages.clear()
    return parsed


def _send_due(now):
    for message_id in reminders.messages_claim_due(now=now):
        reminders.message_send(message_id=message_id, now=now)


def _invitation(message):
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part


def _both_parsers(data: bytes):
    """The VEVENT as icalendar and as vobject read it (each raises on a malformed file)."""
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    other = vobject.readOne(data.decode())
    return calendar, event, other


def _appointment(patient, starts_at):
    return AppointmentFactory(
        patient=patient,
        appointment_type=AppointmentTypeFactory(code="follow_up", name="Follow-up"),
        room=RoomFactory(name="Room A"),
        starts_at=starts_at,
    )


def test_invitation_update_and_cancellation_are_itip_messages_mail_clients_act_on(smtp, patient):
    with time_machine.travel(SUMMER, tick=False):
        appointment = _appointment(patient, SUMMER + timedelta(days=3))
        reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
        _send_due(SUMMER)
        (booked,) = [m for m in _received(smtp) if _has_calendar(m)]
        # Moved: a new version of the same event.
        appointment.starts_at += timedelta(days=7)
        appointment.ends_at += timedelta(days=7)
        appointment.blocked_until += timedelta(days=7)
        appointment.save()
        reminders.messages_plan_for_appointment(appointment=appointment, event="rescheduled")
        _send_due(SUMMER)
        (moved,) = [m for m in _received(smtp) if _has_calendar(m)]
        appointment_cancel(appointment=appointment, reason="Patient's request", actor=None)
        reminders.messages_plan_for_appointment(appointment=appointment, event="cancelled")
        _send_due(SUMMER)
        (cancelled,) = [m for m in _received(smtp) if _has_calendar(m)]

    sequences = []
    for message, method in ((booked, "REQUEST"), (moved, "REQUEST"), (cancelled, "CANCEL")):
        part = _invitation(message)
        # The method on the MIME part is what mail clients read to offer "add", "update" or "remove".
        assert part.get_param("method") == method
        assert part.get_filename() == "appointment.ics"
        data = part.get_content().encode() if isinstance(part.get_content(), str) else part.get_content()
        calendar, event, other = _both_parsers(data)
        assert str(calendar["METHOD"]) == method == other.method.value
        assert str(event["UID"]) == f"appointment-{appointment.pk}@{DOMAIN}" == other.vevent.uid.value
        assert str(event["ORGANIZER"]) == "mailto:appointments@clinic-a.example"
        assert event["ORGANIZER"].params["CN"]
        assert str(event["ATTENDEE"]) == "mailto:aoife@example.org"
        assert other.vevent.attendee.value == "mailto:aoife@example.org"
        sequences.append(int(event["SEQUENCE"]))
        assert int(other.vevent.sequence.value) == sequences[-1]
    assert str(_both_parsers(_invitation(cancelled).get_content().encode())[1]["STATUS"]) == "CANCELLED"
    # Every change is a newer version: a client applies the update and the cancellation.
    assert sequences[0] < sequences[1] < sequences[2]
    appointment.refresh_from_db()
    assert appointment.sequence == sequences[2]


def _has_calendar(message) -> bool:
    return any(p.get_content_type() == "text/calendar" for p in message.walk())


@pytest.mark.parametrize(("now", "offset"), [(SUMMER, "+0100"), (WINTER, "+0000")])
def test_emails_carry_a_local_date_a_clinic_message_id_and_auto_submitted(smtp, patient, now, offset):
    with time_machine.travel(now, tick=False):
        appointment = _appointment(patient, now + timedelta(days=3))
        reminders.messages_plan_for_appointment(appointment=appointment, event="booked")
        _send_due(now)
    (message,) = _received(smtp)
    date = message["Date"]
    assert str(date).endswith(offset), str(date)  # never "-0000" (RFC 5322: offset unknown)
    assert date.datetime == now
    assert message["Auto-Submitted"] == "auto-generated"
    assert parseaddr(message["Message-ID"])[1].endswith(f"@{DOMAIN}")
    assert message["Message-ID"] == Message.objects.get(channel="email", status="sent").provider_id
    # An appointment's own mail is no bulk mail.
    assert message["List-Unsubscribe"] is None


def _recall_email(patient, now):
    recall = recall_open(
        patient=patient,
        kind="follow_up",
        appointment_type_code=AppointmentTypeFactory(code="review", name="Review").code,
        anchor_date=now.date(),
        earliest_date=now.date(),
        due_date=now.date() + timedelta(days=7),
        overdue_date=now.date() + timedelta(days=30),
        source="test",
        label="Review",
        actor=None,
    )
    Message.objects.create(
        patient=patient,
        kind=Message.Kind.RECALL_DUE,
        channel="email",
        purpose="recalls",
        due_at=now,
        recall=recall,
        dedupe_key=f"recall-test-{recall.pk}",
    )
    _send_due(now)


def test_recall_email_offers_one_click_unsubscribe_that_works_without_csrf(smtp, patient):
    with time_machine.travel(SUMMER, tick=False):
        _recall_email(patient, SUMMER)
    (message,) = _received(smtp)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message["List-Unsubscribe"]).strip()  # a long header is folded (RFC 5322 2.2.3)
    assert header.startswith("<https://clinic-a.example/p/") and header.endswith("/one-click/>")
    url = header[1:-1]
    path = url.removeprefix("https://clinic-a.example")

    # The mailbox provider's POST: no cookie, no CSRF token, only the body RFC 8058 prescribes.
    provider = Client(enforce_csrf_checks=True)
    response = provider.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    assert not consent_current(patient=patient, channel="email", purpose="recalls")
    row = MessagingConsent.objects.filter(patient=patient, purpose="recalls").latest("recorded_at")
    assert row.method == MessagingConsent.Method.LINK
    assert AuditEvent.objects.filter(action="consent.withdrawn", patient_id=patient.pk).exists()
    # Only that purpose: appointment reminders still go out.
    assert consent_current(patient=patient, channel="email", purpose="appointment_reminders")
    # Sent again (providers retry): still fine.
    assert (
        provider.post(
            path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 200
    )


def test_one_click_get_changes_nothing_and_other_links_are_refused(patient):
    grant_all(patient, channels=("email",))
    token = link_token(patient_id=patient.pk, action=Action.UNSUBSCRIBE, target="email:recalls")
    client = Client(enforce_csrf_checks=True)
    response = client.get(f"/p/{token}/one-click/")
    assert response.status_code == 302 and response["Location"] == f"/p/{token}/"
    assert consent_current(patient=patient, channel="email", purpose="recalls")
    # The unsubscribe page's own form still needs its CSRF token.
    assert client.post(f"/p/{token}/", {"scope": "all"}).status_code == 403
    # A link for something else, or a forged one, withdraws nothing.
    confirm = link_token(patient_id=patient.pk, action=Action.CONFIRM, target=1)
    assert client.post(f"/p/{confirm}/one-click/").status_code == 400
    assert client.post(f"/p/{token}x/one-click/").status_code == 400
    assert consent_current(patient=patient, channel="email", purpose="recalls")


def test_feed_uids_do_not_depend_on_the_host_name(client, settings, patient):
    settings.CALENDAR_UID_DOMAIN = DOMAIN
    settings.ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
    appointment = _appointment(patient, datetime.now(UTC) + timedelta(days=2))
    url = f"/feeds/{appointment.provider.calendar_feed_token}.ics"
    bodies = [client.get(url, HTTP_HOST=host).content for host in ("localhost", "127.0.0.1")]
    assert bodies[0].count(b"BEGIN:VEVENT") == 1
    uids = []
    for body in bodies:
        _, event, other = _both_parsers(body)
        uids.append(str(event["UID"]))
        assert other.vevent.uid.value == uids[-1]
        assert str(event["ORGANIZER"]).startswith("mailto:")
        assert int(event["SEQUENCE"]) == appointment.sequence
    assert uids == [f"appointment-{appointment.pk}@{DOMAIN}"] * 2


def test_every_change_of_an_appointment_is_a_new_sequence(patient):
    appointment = _appointment(patient, datetime.now(UTC) + timedelta(days=2))
    assert appointment.sequence == 0
    appointment.notes = "Wheelchair"
    appointment.save(update_fields=["notes"])
    appointment.refresh_from_db()
    assert appointment.sequence == 1
    appointment_cancel(appointment=appointment, reason="Clinic closed", actor=None, cancelled_by="clinic")
    appointment.refresh_from_db()
    assert appointment.sequence >= 2


def test_a_deployment_left_on_a_shared_domain_is_warned(settings):
    from scheduling.checks import unique_message_domains

    settings.EMAIL_MESSAGE_ID_DOMAIN = "clinic-a.example"
    settings.CALENDAR_UID_DOMAIN = "clinic-a.example"
    assert unique_message_domains(None) == []
    settings.CALENDAR_UID_DOMAIN = "localhost"
    assert [w.id for w in unique_message_domains(None)] == ["scheduling.W002"]
