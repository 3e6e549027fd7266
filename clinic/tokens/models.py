"""The API token model: django-rest-knox's token (only a SHA-512 digest of the key is stored,
with the key's first characters for lookup) plus what its owner needs to recognise it.

Registered as knox's token model through ``KNOX_TOKEN_MODEL`` (clinic/settings.py). Revoking a
token deletes its row: a deleted row is a key that no longer opens anything, and the audit trail
keeps the record of who revoked which token when.
"""

from django.conf import settings
from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

# How many leading characters of a key are shown to its owner to tell tokens apart.
SHOWN_PREFIX_LENGTH = 6


class ApiToken(AbstractAuthToken):
    id = models.BigAutoField(primary_key=True)
    # knox's digest is its primary key; here it is only unique, so URLs name a plain id.
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    # A user is deactivated, never deleted, while they hold tokens (no cascading delete).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="auth_token_set"
    )
    label = models.CharField(max_length=100, blank=True, default="")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"API token {self.shown_prefix}… of {self.user_id}"

    @property
    def shown_prefix(self) -> str:
        return self.token_key[:SHOWN_PREFIX_LENGTH]

    @property
    def audit_label(self) -> str:
        return f"API token {self.shown_prefix}…"
