"""Single-use links that let a member of staff set up their own account."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AccountLink(models.Model):
    """A set-up or password-reset link. Only a SHA-256 hash of its token is kept: the token itself
    is in the link, which goes to the staff member's own email address or, once, to the manager
    who made it. Works until ``expires_at``, once; a newer link of the same user replaces it."""

    class Purpose(models.TextChoices):
        # A new account: choose a password and set up the authenticator app.
        INVITE = "invite", "New account"
        # After a two-factor reset: the current password, then a new authenticator app.
        ENROL = "enrol", "Two-factor set-up"
        # A forgotten password: choose a new one (and set up an app if there is none).
        PASSWORD_RESET = "password_reset", "Password reset"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_links")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="clinic_accountlink_user")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} link for user {self.user_id}"

    @property
    def audit_label(self) -> str:
        return f"{self.get_purpose_display()} link {self.pk}"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > timezone.now()
