"""Deployment checks of the clinic's own settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def mfa_required(app_configs, **kwargs):
    if settings.REQUIRE_MFA:
        return []
    return [
        checks.Warning(
            "REQUIRE_MFA is off: staff can use the clinic with a password alone.",
            hint="Set REQUIRE_MFA=1 (the default) in production.",
            id="clinic.W001",
        )
    ]


@checks.register(checks.Tags.security)
def trusted_proxies(app_configs, **kwargs):
    """TRUSTED_PROXIES must parse: a misspelt entry must stop the start, not trust nobody (or
    everybody) silently. Behind a proxy (TRUST_X_FORWARDED_PROTO on) with none named, every
    client shares the proxy's address, and a lockout of that address locks out everyone."""
    from django.core.exceptions import ImproperlyConfigured

    from .network import trusted_networks

    try:
        trusted_networks()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="clinic.E020")]
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and not settings.TRUSTED_PROXIES:
        return [
            checks.Warning(
                "TRUST_X_FORWARDED_PROTO is on but TRUSTED_PROXIES is empty: behind the proxy every "
                "client has the proxy's address (lockout, rate limits, audit trail).",
                hint="Set TRUSTED_PROXIES to the proxy's address(es); see docs/operations.md.",
                id="clinic.W020",
            )
        ]
    return []
