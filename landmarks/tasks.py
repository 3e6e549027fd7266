"""Celery tasks of the landmarks app: thin wrappers, the services do the work."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True, acks_late=True)
def landmarks_detect_task(item_id: int) -> str:
    """Find the face and its landmarks on one ready standard-view photograph, and measure."""
    result = services.landmarks_detect(item_id=item_id)
    return result.status if result is not None else "skipped"
