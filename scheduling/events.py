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
# Listeners that write rows which must commit (or roll back) with the change itself, such as
# the reminder messages a booking implies: a crash between commit and an after-commit hook
# must not leave a booking without its confirmation and reminder.
_in_transaction: list[Listener] = []


def subscribe(listener: Listener, *, in_transaction: bool = False) -> None:
    target = _in_transaction if in_transaction else _listeners
    if listener not in target:
        target.append(listener)


def unsubscribe(listener: Listener) -> None:
    for target in (_listeners, _in_transaction):
        if listener in target:
            target.remove(listener)


def publish(action: str, appointment_id: int) -> None:
    for listener in list(_in_transaction):
        # Runs inside the caller's transaction: an error here rolls the change back.
        listener(action, appointment_id)

    def deliver() -> None:
        logger.info("appointment.%s", action, extra={"appointment_id": appointment_id})
        for listener in list(_listeners):
            # One failing listener must not stop the others: the booking has committed.
            try:
                listener(action, appointment_id)
            except Exception:
                logger.exception("appointment listener failed", extra={"appointment_id": appointment_id})

    transaction.on_commit(deliver)
