"""Celery tasks of the photos app: thin wrappers, the services do the work."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, max_retries=3, acks_late=True)
def media_process_task(self, item_id: int) -> str:
    """Process one upload. A refused file ends here (rejected); any other failure is retried
    three times with a growing delay, then left failed for a person to retry."""
    try:
        return services.media_process(item_id=item_id).status
    except services.TransientFailure as exc:
        if self.request.retries >= self.max_retries:
            logger.error("media processing failed", extra={"item": item_id})
            return "failed"
        raise self.retry(exc=exc, countdown=30 * 4**self.request.retries) from exc


@shared_task(ignore_result=True)
def media_purge_task() -> int:
    """Nightly (beat): files of items deleted longer ago than the clinic's retention setting."""
    return services.media_purge()
