"""Joins the photos app's processing: a ready standard-view photograph is queued for its
landmarks (photos.hooks registry)."""

import logging

from photos.hooks import register_on_ready

logger = logging.getLogger(__name__)


def queue_landmarks(item_id: int) -> None:
    from .tasks import landmarks_detect_task

    try:
        landmarks_detect_task.delay(item_id)
    except Exception:  # the broker is down: the photograph stays unmeasured until asked again
        logger.exception("could not queue landmarks", extra={"item": item_id})


def register() -> None:
    register_on_ready(queue_landmarks)
