"""Project-wide tasks. noop_task is the baseline the reminder benchmark compares itself with."""

from celery import shared_task


@shared_task(ignore_result=True)
def noop_task(payload=None) -> None:
    return None
