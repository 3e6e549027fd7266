"""Channel backends: how a rendered message leaves the building.

Email goes through Django's email framework (SMTP or any backend set by EMAIL_URL). SMS goes
through one small interface with three backends: ``console`` (development), ``test`` (an
in-memory outbox for tests) and ``twilio`` (Twilio's REST API). Every backend raises one of three
errors, so the sender can tell a provider that is down for a while (retry with backoff) from a
message that can never be delivered (record the failure and move on), and both from a message
whose fate is unknown because the answer was lost (record the failure, never resend).
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading
from dataclasses import dataclass, field
from email.mime.text import MIMEText
from email.utils import format_datetime

import requests
import urllib3
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SendError(Exception):
    code = "send_error"


class TransientSendError(SendError):
    """The provider is unreachable or busy: the same message may go through later."""

    code = "provider_unavailable"


class PermanentSendError(SendError):
    """The provider refused this message (bad number, unsubscribed): retrying will not help."""

    code = "provider_rejected"


class DeliveryUnknownError(SendError):
    """The request reached the provider but no answer came back (it timed out, or the connection
    dropped): the message may have gone out. Sending it again could deliver it twice."""

    code = "delivery_unknown"


@dataclass
class EmailContent:
    to: str
    subject: str
    text: str
    html: str | None = None
    # (filename, content, MIME type); the type may carry parameters: "text/calendar; method=REQUEST".
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)
    # Extra headers, e.g. List-Unsubscribe on bulk mail (one_click_unsubscribe_headers).
    headers: dict[str, str] = field(default_factory=dict)


def one_click_unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the HTTPS URL the mailbox provider POSTs
    ``List-Unsubscribe=One-Click`` to (RFC 2369's header, RFC 8058's companion)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _attachment(filename: str, data: bytes, mimetype: str):
    """A MIME part for an attachment. Text types keep their parameters on the Content-Type
    (``text/calendar; method=REQUEST; charset="utf-8"``, which mail clients read to treat the
    file as an invitation or a cancellation); others go to Django as they are."""
    maintype, _, rest = mimetype.partition("/")
    subtype, *params = (part.strip() for part in rest.split(";"))
    if maintype != "text" or not params:
        return None
    part = MIMEText(data.decode("utf-8"), subtype, "utf-8")
    for param in params:
        name, _, value = param.partition("=")
        part.set_param(name.strip(), value.strip().strip('"'))
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def send_email(content: EmailContent) -> str:
    """Send one email; returns the Message-ID.

    Headers beside Django's: a Message-ID from EMAIL_MESSAGE_ID_DOMAIN, a Date in the clinic's
    time zone with its UTC offset (RFC 5322 3.3; Django's own says ``-0000``, "offset unknown"),
    ``Auto-Submitted: auto-generated`` (RFC 3834: no auto-replies, no vacation loops) and the
    content's own (List-Unsubscribe on bulk mail)."""
    message_id = make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=content.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[content.to],
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
        headers={
            "Message-ID": message_id,
            "Date": format_datetime(timezone.localtime(timezone.now(), timezone.get_default_timezone())),
            "Auto-Submitted": "auto-generated",
            **content.headers,
        },
    )
    if content.html:
        message.attach_alternative(content.html, "text/html")
    for filename, data, mimetype in content.attachments:
        part = _attachment(filename, data, mimetype)
        if part is not None:
            message.attach(part)
        else:
            message.attach(filename, data, mimetype)
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentSendError(f"recipient refused: {_smtp_codes(exc.recipients)}") from exc
    except smtplib.SMTPResponseException as exc:
        # 4xx replies are temporary by definition (RFC 5321); 5xx are final.
        if 400 <= exc.smtp_code < 500:
            raise TransientSendError(f"SMTP {exc.smtp_code}") from exc
        raise PermanentSendError(f"SMTP {exc.smtp_code}") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TransientSendError(f"SMTP unavailable: {type(exc).__name__}") from exc
    return message_id


def _smtp_codes(recipients: dict) -> str:
    return ", ".join(str(code) for code, _ in recipients.values())


class SmsBackend:
    """Send one SMS; return the provider's message id. Raise Transient/PermanentSendError."""

    def send(self, *, to: str, body: str) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Development: print the SMS to the worker's output."""

    def send(self, *, to: str, body: str) -> str:
        print(f"--- SMS to {to} ---\n{body}\n---", flush=True)
        return "console"


class OutboxSmsBackend(SmsBackend):
    """The quick start: keep the SMS in the outbox that staff read at /dev/outbox/ (clinic.outbox)."""

    def send(self, *, to: str, body: str) -> str:
        from clinic.outbox import outbox_write

        return outbox_write(channel="sms", to=to, subject="", body=body)


# The test backend's outbox, like django.core.mail.outbox.
outbox: list[dict] = []


class TestSmsBackend(SmsBackend):
    """Tests: keep sent messages in ``channels.outbox``; numbers listed in
    ``settings.SMS_TEST_FAIL`` fail as {number: "transient" | "permanent"}."""

    def send(self, *, to: str, body: str) -> str:
        failure = getattr(settings, "SMS_TEST_FAIL", {}).get(to)
        if failure == "transient":
            raise TransientSendError("test provider unavailable")
        if failure == "permanent":
            raise PermanentSendError("test provider rejected the number")
        outbox.append({"to": to, "body": body})
        return f"test-{len(outbox)}"


# One requests.Session per thread of each process: keep-alive connections to the provider are
# reused from one message to the next instead of a TCP (and TLS) handshake per SMS. Per thread,
# because the sender runs provider calls on a small thread pool and a Session is not documented
# as thread-safe; per process, because a connection inherited across fork() would be shared by
# two processes (Celery's prefork children are forked from one parent).
_http = threading.local()


def http_session() -> requests.Session:
    session = getattr(_http, "session", None)
    if session is None or _http.pid != os.getpid():
        session = requests.Session()
        _http.session, _http.pid = session, os.getpid()
    return session


class TwilioSmsBackend(SmsBackend):
    """Twilio's Messages API (https://www.twilio.com/docs/messaging/api/message-resource).

    ``TWILIO_API_BASE`` points the backend at another host (the tests run a local fake).
    Requests go through a pooled keep-alive session (``http_session``). A failed request is not
    repeated on the spot (no urllib3 retries): whether and when to try again is the sender's
    decision, with its backoff and its cap (``TransientSendError``).
    """

    # Twilio error codes that mean "this number will never take this message".
    PERMANENT_CODES = {21211, 21214, 21408, 21610, 21612, 21614, 30003, 30005, 30006}

    def __init__(self) -> None:
        self.sid = settings.TWILIO_ACCOUNT_SID
        self.token = settings.TWILIO_AUTH_TOKEN
        self.sender = settings.TWILIO_FROM_NUMBER
        self.base = settings.TWILIO_API_BASE.rstrip("/")
        if not (self.sid and self.token and self.sender):
            raise PermanentSendError(
                "Twilio is not configured (TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM_NUMBER)"
            )

    def send(self, *, to: str, body: str) -> str:
        url = f"{self.base}/2010-04-01/Accounts/{self.sid}/Messages.json"
        try:
            response = http_session().post(
                url,
                data={"To": to, "From": self.sender, "Body": body},
                auth=(self.sid, self.token),
                timeout=settings.SMS_TIMEOUT,
            )
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                raise TransientSendError(f"Twilio unreachable: {type(exc).__name__}") from exc
            raise DeliveryUnknownError(f"Twilio's answer was lost: {type(exc).__name__}") from exc
        except requests.Timeout as exc:
            # A read timeout: Twilio had the request and may have queued the SMS.
            raise DeliveryUnknownError(f"Twilio did not answer in time: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSendError(f"Twilio HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise TransientSendError(f"Twilio sent no JSON (HTTP {response.status_code})") from exc
        if response.status_code >= 400:
            code = payload.get("code")
            detail = f"Twilio error {code}: {payload.get('message', '')}"[:300]
            if code in self.PERMANENT_CODES or response.status_code in (400, 404):
                raise PermanentSendError(detail)
            raise TransientSendError(detail)
        return str(payload.get("sid", ""))


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when no connection was made (refused, unresolvable, connect timeout): the provider
    cannot have the message, so trying again later is safe."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    # urllib3 wraps the cause in MaxRetryError; NewConnectionError is a ConnectTimeoutError.
    return isinstance(getattr(cause, "reason", cause), urllib3.exceptions.ConnectTimeoutError)


SMS_BACKENDS = {
    "console": "scheduling.reminders.channels.ConsoleSmsBackend",
    "outbox": "scheduling.reminders.channels.OutboxSmsBackend",
    "test": "scheduling.reminders.channels.TestSmsBackend",
    "twilio": "scheduling.reminders.channels.TwilioSmsBackend",
}


def sms_backend() -> SmsBackend:
    path = SMS_BACKENDS.get(settings.SMS_BACKEND, settings.SMS_BACKEND)
    return import_string(path)()
