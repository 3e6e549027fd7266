"""Two-factor secrets at rest: TOTP keys encrypted, recovery codes hashed.

A TOTP key must be readable to compute codes, so it is encrypted (AES-256-GCM, a fresh 96-bit
nonce each time, the purpose bound as associated data) and stored as ``v1:<base64url>`` in
django-otp's key column (48 bytes of nonce, ciphertext and tag: 67 characters, within its 80).
A recovery code only needs comparing, so only a keyed hash of it is stored (HMAC-SHA-256,
80 bits kept, in the token column's 16 characters). Both keys are derived (HKDF-SHA-256) from
the MFA_SECRET_KEY setting, which lives in the environment, not in the database: a copy of the
database or a backup holds neither a usable secret nor a usable code.
"""

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "v1:"
_TOTP_AAD = b"clinic.mfa.totp-key"


class SecretUnreadable(Exception):
    """The stored secret was not made with this MFA_SECRET_KEY (or was altered)."""


@cache
def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode())


def _key(purpose: bytes) -> bytes:
    return _derive(settings.MFA_SECRET_KEY, purpose)


def totp_key_encrypt(key_hex: str) -> str:
    """django-otp's hex key -> what the database keeps."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(b"clinic.mfa.totp")).encrypt(nonce, bytes.fromhex(key_hex), _TOTP_AAD)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def totp_key_decrypt(stored: str) -> bytes:
    """What the database keeps -> the binary key (django-otp's ``bin_key``)."""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("not an encrypted key")
    raw = base64.urlsafe_b64decode(stored[len(PREFIX) :] + "=" * (-len(stored) % 4))
    try:
        return AESGCM(_key(b"clinic.mfa.totp")).decrypt(raw[:12], raw[12:], _TOTP_AAD)
    except (InvalidTag, ValueError) as exc:
        raise SecretUnreadable("the key does not open this secret") from exc


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def recovery_code_digest(code: str) -> str:
    """The stored form of a (normalised) recovery code: 16 base32 characters, 80 bits."""
    mac = hmac.new(_key(b"clinic.mfa.recovery"), code.encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode()
