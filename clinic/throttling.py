"""Rate limits counted in the audit trail.

Exports of a patient's record are audited anyway; counting a user's recent exports there rather
than in a cache makes the limit hold across every web process and every restart, with no cache
service to run. The rate is DRF's (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]); past it
DRF answers 429 ``throttled`` with Retry-After, in the API's error format.
"""

from rest_framework.throttling import ScopedRateThrottle

from .models import AuditEvent


class AuditedRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle whose history is the user's audit events with the view's
    ``throttle_actions`` in the last period, rather than a cache entry."""

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        actions = getattr(view, "throttle_actions", ())
        user = getattr(request, "user", None)
        if not self.scope or not actions or user is None or not user.is_authenticated:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        self.now = self.timer()
        recent = (
            AuditEvent.objects.filter(actor_id=user.pk, action__in=actions)
            .order_by("-at")
            .values_list("at", flat=True)[: self.num_requests]
        )
        self.history = [at.timestamp() for at in recent if at.timestamp() > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return True
