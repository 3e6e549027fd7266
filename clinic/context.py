"""Per-request context (request id, client address, source) for audit rows and log lines."""

import uuid
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: uuid.UUID
    ip: str | None
    source: str  # "web", "api", "link", "task", "cli"


_current: ContextVar[RequestContext | None] = ContextVar("clinic_request_context", default=None)


def current() -> RequestContext | None:
    return _current.get()


def set_current(ctx: RequestContext | None):
    return _current.set(ctx)


def reset(token) -> None:
    _current.reset(token)
