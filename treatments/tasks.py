"""Celery tasks of the clinical app: thin wrappers, the services do the work."""

import logging

from celery import shared_task

from . import interval

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def interval_findings_scan_task() -> int:
    """Nightly (beat): toxin sessions closer than the interval without an override."""
    created = interval.interval_findings_scan()
    if created:
        logger.warning("toxin sessions found inside the minimum interval", extra={"count": len(created)})
    return len(created)
