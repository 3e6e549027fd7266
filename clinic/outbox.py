"""The quick start's outbox: every email and SMS the clinic sends, kept as files and shown to
staff at /dev/outbox/ (mounted only with DEBUG on), so that a newcomer can read what a patient
received and open its links.

``bin/run`` sets ``OUTBOX_DIR`` (var/outbox); with it and DEBUG on, ``EMAIL_BACKEND`` is
``OutboxEmailBackend`` and ``SMS_BACKEND`` is ``outbox`` (scheduling.reminders.channels). Each
message is one JSON file, written to a temporary name and renamed into place, so the page never
reads a message half-written.
"""

import json
import os
import uuid
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from .views import capability_required

PAGE_SIZE = 200


def outbox_dir() -> Path | None:
    return Path(settings.OUTBOX_DIR) if getattr(settings, "OUTBOX_DIR", "") else None


def outbox_write(*, channel: str, to: str, subject: str, body: str) -> str:
    """Keep one sent message; returns its id."""
    folder = outbox_dir()
    if folder is None:
        raise RuntimeError("OUTBOX_DIR is not set")
    folder.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    message_id = f"{now:%Y%m%dT%H%M%S%f}-{channel}-{uuid.uuid4().hex[:8]}"
    record = {"id": message_id, "channel": channel, "to": to, "subject": subject, "body": body}
    record["sent_at"] = now.isoformat()
    temporary = folder / f".{message_id}.tmp"
    temporary.write_text(json.dumps(record), encoding="utf-8")
    os.replace(temporary, folder / f"{message_id}.json")
    return message_id


def outbox_read(limit: int = PAGE_SIZE) -> list[dict]:
    """The newest ``limit`` messages, newest first."""
    folder = outbox_dir()
    if folder is None or not folder.is_dir():
        return []
    names = sorted((p.name for p in folder.glob("*.json")), reverse=True)[:limit]
    messages = []
    for name in names:
        try:
            message = json.loads((folder / name).read_text(encoding="utf-8"))
            message["sent_at"] = datetime.fromisoformat(message["sent_at"])
        except (OSError, ValueError, KeyError):
            continue
        messages.append(message)
    return messages


class OutboxEmailBackend(BaseEmailBackend):
    """Django email backend: keeps each message's plain-text part in the outbox."""

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            for recipient in message.recipients():
                outbox_write(channel="email", to=recipient, subject=message.subject, body=message.body)
        return len(email_messages)


@capability_required()
def outbox(request):
    """The messages sent by this quick start, newest first (DEBUG only)."""
    if not settings.DEBUG:
        raise Http404
    context = {"messages_sent": outbox_read(), "folder": outbox_dir(), "limit": PAGE_SIZE}
    return render(request, "clinic/outbox.html", context)
