"""Celery tasks of the letters app: thin wrappers, the services do the work."""

import logging

from celery import shared_task

from scheduling.reminders.channels import TransientSendError

from . import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, max_retries=5, acks_late=True)
def letter_delivery_task(self, delivery_id: int) -> str:
    """Send one letter's email. Each delivery is claimed before it is sent, so a redelivered or
    repeated task sends nothing twice. A provider that is down is tried again with a growing
    delay; after the last try the delivery is failed for a person to see."""
    try:
        return services.letter_deliver(delivery_id=delivery_id)
    except TransientSendError as exc:
        if self.request.retries >= self.max_retries:
            services.letter_delivery_give_up(delivery_id=delivery_id, error=str(exc))
            logger.error("letter delivery failed", extra={"delivery": delivery_id})
            return "failed"
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc


@shared_task(ignore_result=True)
def letter_deliveries_dispatch_task() -> int:
    """Every few minutes (beat): deliveries still queued whose nudge was lost."""
    ids = services.deliveries_due()
    for delivery_id in ids:
        letter_delivery_task.delay(delivery_id)
    return len(ids)
