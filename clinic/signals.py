"""Signals other parts of the system listen to, defined here so that no app imports another's.

``credentials_changed`` is sent (inside the transaction that made the change) whenever a staff
member's way of proving who they are changes or must stop working: a password change or reset,
a two-factor reset, deactivation, "sign out everywhere". Receivers revoke what depends on the old
credentials (API tokens, sessions). ``reason`` is one of the ``CredentialChange`` values.
"""

from django.db import models
from django.dispatch import Signal


class CredentialChange(models.TextChoices):
    PASSWORD_CHANGED = "password_changed", "Password changed"
    PASSWORD_RESET = "password_reset", "Password reset"
    MFA_RESET = "mfa_reset", "Two-factor reset"
    DEACTIVATED = "deactivated", "Account deactivated"
    SIGN_OUT_EVERYWHERE = "sign_out_everywhere", "Signed out everywhere"


# Sent with: user (the staff member), reason (a CredentialChange), actor (who did it, may be None).
credentials_changed = Signal()
