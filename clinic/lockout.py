"""Log-in lockout (django-axes), counted so that an attacker cannot turn it on others.

- A username is locked **from one client address**: LOGIN_FAILURE_LIMIT failures for it from
  an address lock that username there, and nowhere else. Failures from an attacker's address
  never lock out the real user logging in from elsewhere.
- An address is throttled as a whole: LOGIN_UNKNOWN_USERNAME_LIMIT failures with usernames
  that do not exist (spraying made-up names), or LOGIN_ADDRESS_FAILURE_LIMIT failures of any
  kind (spraying real names), lock every log-in from that address.

Addresses are the client's real address (clinic.network.client_ip, through TRUSTED_PROXIES),
so behind a reverse proxy one client is not every client. Everything is counted in the
database, over the cool-off window (LOGIN_LOCKOUT_MINUTES), so every web process agrees.

The answer to a locked-out log-in is JSON in the API's error format for the token endpoint, a
page for the login form; both 429.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, Sum
from django.http import JsonResponse
from django.shortcuts import render


def address_failures(ip_address: str | None, since) -> tuple[int, int]:
    """(all failures, failures with unknown usernames) from one address since ``since``."""
    if not ip_address:
        return 0, 0
    user_model = get_user_model()
    known = Exists(user_model.objects.filter(**{user_model.USERNAME_FIELD: OuterRef("username")}))
    totals = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start"),
        unknown=Sum("failures_since_start", filter=~Q(known)),
    )
    return totals["total"] or 0, totals["unknown"] or 0


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler, with the per-address limits on top of the per-(username,
    address) count that AXES_LOCKOUT_PARAMETERS gives."""

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures >= limit:
            return failures
        total, unknown = address_failures(
            getattr(request, "axes_ip_address", None), get_cool_off_threshold(request)
        )
        if unknown >= settings.LOGIN_UNKNOWN_USERNAME_LIMIT or total >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(failures, limit)  # axes compares with one limit: report "reached"
        return failures


def lockout_response(request, original_response=None, credentials=None):
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "locked_out",
                "detail": f"Too many failed log-ins. Try again in {minutes} minutes.",
                "fields": {},
            },
            status=429,
        )
    context = {"minutes": minutes, "limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "registration/locked_out.html", context, status=429)
