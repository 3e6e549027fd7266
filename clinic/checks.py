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
