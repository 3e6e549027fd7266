"""Celery tasks: thin wrappers, ids in, services do the work."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from .reminders import services as reminders

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def messages_dispatch_task() -> int:
    """Every minute (beat): recover stale claims, claim due messages, fan out send tasks."""
    reminders.messages_requeue_stale()
    ids = reminders.messages_claim_due()
    for batch in reminders.batches(ids):
        messages_send_task.delay(batch)
    if ids:
        logger.info("messages dispatched", extra={"count": len(ids)})
    return len(ids)


@shared_task(ignore_result=True, acks_late=True)
def messages_send_task(message_ids: list[int]) -> dict:
    """Send a batch. Each message is claimed on its own, so a redelivered batch sends nothing twice."""
    return reminders.messages_send_batch(message_ids=message_ids)


def messages_dispatch_after_commit() -> None:
    """The one after-commit path to the dispatcher: once the current transaction commits, ask
    for a dispatch, so that a confirmation leaves within seconds rather than at the next minute
    (beat). Losing this nudge delays a message, never drops it.

    One dispatch sends every message due, so a transaction asks once however many changes it
    makes (loading the demo clinic books hundreds of appointments in one). A rolled-back
    transaction or savepoint drops its request with it, and the next change asks again."""
    if not settings.MESSAGES_DISPATCH_ON_CHANGE:
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        callback is _dispatch_now for _, callback, *_ in connection.run_on_commit
    ):
        return
    transaction.on_commit(_dispatch_now)


def _dispatch_now() -> None:
    messages_dispatch_task.delay()
