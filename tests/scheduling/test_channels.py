"""Channel backends against real local servers: a fake Twilio API over HTTP, an SMTP listener."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from scheduling.reminders import channels
from tests.smtp import SmtpSink, free_port


class FakeTwilio(BaseHTTPRequestHandler):
    """Answers like Twilio's Messages API; behaviour chosen per destination number."""

    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = base64.b64decode(self.headers["Authorization"].split()[1]).decode()
        FakeTwilio.received.append({"path": self.path, "form": form, "auth": auth})
        to = form.get("To", "")
        if to.endswith("500"):
            self._reply(500, {"message": "internal"})
        elif to.endswith("429"):
            self._reply(429, {"code": 20429, "message": "Too Many Requests"})
        elif to.endswith("211"):
            self._reply(400, {"code": 21211, "message": "The 'To' number is not a valid phone number."})
        else:
            self._reply(201, {"sid": "SM" + "0" * 32, "status": "queued"})

    def _reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeTwilio.received = []
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.TWILIO_ACCOUNT_SID = "AC123"
    settings.TWILIO_AUTH_TOKEN = "secret-token"
    settings.TWILIO_FROM_NUMBER = "+447700900000"
    settings.SMS_BACKEND = "twilio"
    yield FakeTwilio
    server.shutdown()
    server.server_close()


def test_twilio_backend_sends_to_the_messages_api(fake_twilio):
    sid = channels.sms_backend().send(to="+447700900123", body="Hello")
    assert sid.startswith("SM")
    (request,) = fake_twilio.received
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["form"] == {"To": "+447700900123", "From": "+447700900000", "Body": "Hello"}
    assert request["auth"] == "AC123:secret-token"


@pytest.mark.parametrize("number", ["+447700900500", "+447700900429"])
def test_twilio_server_errors_and_throttling_are_transient(fake_twilio, number):
    with pytest.raises(channels.TransientSendError):
        channels.sms_backend().send(to=number, body="Hello")


def test_twilio_invalid_number_is_permanent(fake_twilio):
    with pytest.raises(channels.PermanentSendError, match="21211"):
        channels.sms_backend().send(to="+447700900211", body="Hello")


def test_twilio_unreachable_is_transient(settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:1"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = "AC1", "t", "+1"
    with pytest.raises(channels.TransientSendError, match="unreachable"):
        channels.TwilioSmsBackend().send(to="+447700900123", body="Hello")


def test_twilio_not_configured_is_permanent(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(channels.PermanentSendError, match="not configured"):
        channels.TwilioSmsBackend()


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    sink = SmtpSink(refuse_rcpt="bounce@example.org")
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    yield sink
    controller.stop()


def test_email_goes_through_a_real_smtp_server(smtp_server):
    message_id = channels.send_email(
        channels.EmailContent(to="patient@example.org", subject="Hi", text="Body")
    )
    (envelope,) = smtp_server.messages
    assert envelope.rcpt_tos == ["patient@example.org"]
    assert message_id in envelope.content.decode()


def test_smtp_refused_recipient_is_permanent(smtp_server):
    with pytest.raises(channels.PermanentSendError):
        channels.send_email(channels.EmailContent(to="bounce@example.org", subject="Hi", text="Body"))


def test_smtp_server_down_is_transient(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    with pytest.raises(channels.TransientSendError):
        channels.send_email(channels.EmailContent(to="patient@example.org", subject="Hi", text="Body"))
