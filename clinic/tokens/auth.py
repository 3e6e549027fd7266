"""Token authentication for the API: django-rest-knox's, accepting ``Authorization: Bearer <key>``
as well as ``Authorization: Token <key>``.

A key is looked up by its first characters, then its SHA-512 digest is compared in constant
time. An expired token answers 401 ``token_expired`` (only to whoever holds the whole key) and is
deleted; a deactivated owner's token answers 401 ``authentication_failed`` like any unknown key.
The last use is written at most once a minute, so a busy script costs no write per request.
"""

import binascii
from datetime import timedelta
from hmac import compare_digest

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from .models import ApiToken

SCHEMES = (b"token", b"bearer")
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = "The token has expired: request a new one."
    default_code = "token_expired"


class TokenAuthentication(KnoxTokenAuthentication):
    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in SCHEMES:
            return None  # no token (or another scheme): the next authentication class decides
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: send the scheme, a space and the key."
            )
        return self.authenticate_credentials(auth[1])

    def authenticate_credentials(self, token: bytes):
        invalid = exceptions.AuthenticationFailed("Invalid token.")
        try:
            key = token.decode("ascii")
            digest = hash_token(key)
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise invalid from None
        now = timezone.now()
        for candidate in ApiToken.objects.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related(
            "user"
        ):
            if not compare_digest(digest, candidate.digest):
                continue
            if candidate.expiry is not None and candidate.expiry <= now:
                candidate.delete()
                raise TokenExpired()
            if not candidate.user.is_active:
                raise invalid
            if candidate.last_used_at is None or now - candidate.last_used_at >= LAST_USED_RESOLUTION:
                candidate.last_used_at = now
                ApiToken.objects.filter(pk=candidate.pk).update(last_used_at=now)
            return candidate.user, candidate
        raise invalid

    def authenticate_header(self, request) -> str:
        return "Token"


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """The schema declares both ways to send a key: ``Token <key>`` and ``Bearer <key>``."""

    target_class = "clinic.tokens.auth.TokenAuthentication"
    name = ["tokenAuth", "bearerAuth"]

    def get_security_requirement(self, auto_schema):
        return [{"tokenAuth": []}, {"bearerAuth": []}]  # either one, not both

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'An API token from POST /api/v1/auth/token/, sent as "Token <key>".',
            },
            {
                "type": "http",
                "scheme": "bearer",
                "description": "The same API token, sent as a bearer token.",
            },
        ]
