"""Measure the ready standard-view photographs that have no landmarks yet (those taken before
the landmarks app, or whose message to the worker was lost): ``--queue`` hands them to the
worker, otherwise they are measured here, one after another."""

from django.core.management.base import BaseCommand

from landmarks import services
from landmarks.tasks import landmarks_detect_task
from photos.models import STANDARD_VIEWS, MediaItem


class Command(BaseCommand):
    help = "Find landmarks on ready standard-view photographs that have none."

    def add_arguments(self, parser):
        parser.add_argument("--queue", action="store_true", help="queue each one for the worker")
        parser.add_argument("--limit", type=int, default=0, help="at most this many")

    def handle(self, *args, queue: bool = False, limit: int = 0, **options):
        items = (
            MediaItem.objects.filter(
                status=MediaItem.Status.READY,
                kind=MediaItem.Kind.IMAGE,
                deleted_at__isnull=True,
                view__in=[v.value for v in STANDARD_VIEWS],
                face_landmarks__isnull=True,
            )
            .order_by("id")
            .values_list("pk", flat=True)
        )
        ids = list(items[:limit] if limit else items)
        for item_id in ids:
            if queue:
                landmarks_detect_task.delay(item_id)
            else:
                services.landmarks_detect(item_id=item_id)
        self.stdout.write(f"{len(ids)} photograph(s) {'queued' if queue else 'measured'}.")
