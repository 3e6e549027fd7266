"""noop_task: the baseline the reminder benchmark compares its send rate with."""

from celery import shared_task


@shared_task(ignore_result=True)
def noop_task(payload=None) -> None:
    return None
