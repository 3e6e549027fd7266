"""DRF throttles keyed on the client's real address (clinic.network.client_ip).

DRF's own ``get_ident`` believes ``X-Forwarded-For`` from any sender, so a client could pick
its own bucket; these use the same address as the lockout and the audit trail. Rate limits on
the API subclass these, never DRF's classes directly.
"""

from rest_framework import throttling

from clinic.network import client_ip


class ClientAddressMixin:
    def get_ident(self, request):
        return client_ip(request) or ""


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle):
    pass
