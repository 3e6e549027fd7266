"""An SMS whose fate is unknown is never sent twice: the Twilio backend against real local
listeners that take a request and then answer too late, or hang up without answering."""

import socket
import threading
from datetime import UTC, datetime

import pytest
import time_machine

from clinic.models import ClinicSettings
from scheduling.models import Message
from scheduling.reminders import channels
from scheduling.reminders import services as reminders
from tests.factories import PatientFactory
from tests.fake_sms import FakeSmsProvider
from tests.scheduling.messaging_helpers import grant_all

NOW = datetime(2027, 1, 11, 12, 0, tzinfo=UTC)  # midday in London: outside quiet hours


@pytest.fixture
def slow_provider(settings):
    with FakeSmsProvider() as provider:
        for name, value in provider.env.items():
            setattr(settings, name, value)
        settings.SMS_TIMEOUT = 0.2
        provider.delay = 1.0
        yield provider


@pytest.fixture
def hang_up(settings):
    """A listener that reads one request and closes the connection without a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(body) < length:
                body += conn.recv(65536)
            received.append(body)  # the whole request is in: hang up without answering

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = "AC1", "t", "+1"
    yield received
    thread.join(timeout=5)
    listener.close()


def test_an_answer_slower_than_the_timeout_means_delivery_unknown(slow_provider):
    with pytest.raises(channels.DeliveryUnknownError, match="did not answer in time"):
        channels.sms_backend().send(to="+447700900123", body="Hello")
    assert slow_provider.delivered_to() == ["+447700900123"]


def test_a_connection_dropped_after_the_request_means_delivery_unknown(hang_up):
    with pytest.raises(channels.DeliveryUnknownError, match="answer was lost"):
        channels.sms_backend().send(to="+447700900123", body="Hello")
    assert b"To=%2B447700900123" in hang_up[0]


def test_a_refused_connection_is_still_transient(settings):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{port}"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = "AC1", "t", "+1"
    with pytest.raises(channels.TransientSendError, match="unreachable"):
        channels.TwilioSmsBackend().send(to="+447700900123", body="Hello")


@pytest.mark.django_db
def test_a_message_whose_delivery_is_unknown_fails_with_the_reason_and_is_never_retried(slow_provider):
    ClinicSettings.load()
    patient = PatientFactory(mobile="+447700900123", email="")
    grant_all(patient, purposes=["recalls"], channels=("sms",))
    with time_machine.travel(NOW, tick=False):
        message = Message.objects.create(
            patient=patient,
            kind=Message.Kind.CAMPAIGN,
            channel=Message.Channel.SMS,
            purpose="recalls",
            due_at=NOW,
            dedupe_key="unknown:1",
            context={"body": "Hello."},
        )
        assert reminders.messages_claim_due() == [message.pk]

        assert reminders.message_send(message_id=message.pk) == "failed"

        message.refresh_from_db()
        assert (message.status, message.reason_code, message.attempts) == ("failed", "delivery_unknown", 1)
        assert message.to_address == "+447700900123"
        assert reminders.messages_claim_due() == []
    assert slow_provider.delivered_to() == ["+447700900123"]
