"""Tokens end when the credentials behind them change.

``credentials_changed`` (clinic/signals.py) is sent on a password change or reset, a two-factor
reset, deactivation and "sign out everywhere": every API token of that staff member is revoked,
inside the transaction that made the change.

A plain log-out of the web application does not revoke API tokens: the session and the tokens
are separate credentials (a token is usually held by a script or an integration, not by the
browser), and a token issued once expires after API_TOKEN_TTL_HOURS anyway. Ending everything
at once is "sign out everywhere", and revoking only the tokens is on the API tokens page.
"""

from django.dispatch import receiver

from clinic.signals import credentials_changed

from . import services


@receiver(credentials_changed, dispatch_uid="clinic.tokens.revoke_on_credentials_changed")
def revoke_on_credentials_changed(sender, *, user, reason, actor=None, **kwargs) -> None:
    services.api_token_revoke_all(user=user, actor=actor, reason=str(reason))
