"""The public form's rate limit: at most INTAKE_REQUESTS_PER_ADDRESS posts from one client
address in INTAKE_WINDOW_MINUTES, counted in the database so that every web process agrees
(no cache service to run), like the log-in lockout. The address is the client's real one
(clinic.network.client_ip: X-Forwarded-For only through TRUSTED_PROXIES), so behind the TLS
proxy one client is not every client.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import SubmissionAttempt

# Posts from a request without an address (never behind a real server) share one bucket.
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 (a bucket name, not a socket to bind)


def _lock(address: str) -> None:
    """Serialise the count-then-insert of one address, so a burst cannot slip past the limit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"intake:{address}"])


@transaction.atomic
def attempt_count(*, address: str | None, now: datetime | None = None) -> bool:
    """Count one post from ``address``. False, and nothing counted, when the address has
    reached the limit within the window: the caller answers 429."""
    address = address or UNKNOWN_ADDRESS
    now = now or timezone.now()
    since = now - timedelta(minutes=settings.INTAKE_WINDOW_MINUTES)
    _lock(address)
    # Attempts older than the window count for nobody: every address's go, so that addresses
    # that posted once do not stay in the table for ever.
    SubmissionAttempt.objects.filter(at__lt=since).delete()
    if (
        SubmissionAttempt.objects.filter(address=address, at__gte=since).count()
        >= settings.INTAKE_REQUESTS_PER_ADDRESS
    ):
        return False
    SubmissionAttempt.objects.create(address=address, at=now)
    return True


def retry_after_minutes() -> int:
    return int(settings.INTAKE_WINDOW_MINUTES)
