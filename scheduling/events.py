"""After-commit notifications of appointment changes.

Services call ``publish`` inside their transaction; listeners run only once it has committed,
so nothing (a confirmation message, a calendar push) goes out for a booking that was rolled
back. Listeners take ``(action, appointment_id)`` and are registered from AppConfig.ready().
"""

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger("scheduling.events")

Listener = Callable[[str, int], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def publish(action: str, appointment_id: int) -> None:
    def deliver() -> None:
        logger.info("appointment.%s", action, extra={"appointment_id": appointment_id})
        for listener in list(_listeners):
            # One failing listener must not stop the others: the booking has committed.
            try:
                listener(action, appointment_id)
            except Exception:
                logger.exception("appointment listener failed", extra={"appointment_id": appointment_id})

    transaction.on_commit(deliver)
