"""JSON log lines. Messages carry record ids, never names, dates of birth or contact details,
and a request is logged by its method and path: never its query string or body."""

import json
import logging
import re
from datetime import UTC, datetime

from django.http import HttpRequest

from . import context

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "request_id"}


# A query string (search terms are names), and the secrets in the paths of patient links and
# calendar feeds: never written to a log.
_QUERY = re.compile(r"\?[^\s'\"]*")
_SECRET_SEGMENT = re.compile(r"(/p/)(?!sms/)[^/\s?'\"]+|(/feeds/)[^/\s?'\"]+?(?=\.ics)")


def redact(text: str) -> str:
    """``text`` without query strings and without patient-link and calendar-feed tokens."""
    if not text:
        return text
    text = _QUERY.sub("", text)
    return _SECRET_SEGMENT.sub(lambda m: (m.group(1) or m.group(2)) + "[token]", text)


def _plain(value):
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, HttpRequest):
        # Django passes the request with every 4xx/5xx line; its repr holds the query string
        # (`?search=<a patient's name>`). The method and path say which request it was.
        return f"{value.method} {redact(value.path)}"
    return str(value)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = str(ctx.request_id) if ctx else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        if getattr(record, "request_id", None):
            payload["request_id"] = record.request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = _plain(value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
