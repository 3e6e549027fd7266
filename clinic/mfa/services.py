"""Enrolment, verification, recovery codes and reset of staff two-factor authentication.

A staff member is *enrolled* when they have a confirmed TOTP device (an authenticator app);
their recovery codes are the tokens of one static device beside it. django-otp's devices do
the cryptography, the replay guard (a TOTP code is accepted once) and an exponential back-off
per device; the failures also count toward the log-in lockout (django-axes) through Django's
``user_login_failed`` signal, like a wrong password.
"""

import base64
from dataclasses import dataclass
from datetime import datetime

import segno
from django.contrib.auth import get_user_model, user_login_failed
from django.db import transaction
from django.utils import timezone
from django_otp import verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from clinic.audit import audit_record
from clinic.errors import Invalid, InvalidCode

from . import crypto
from .models import StaffRecoveryDevice, StaffTOTPDevice

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


@dataclass(frozen=True)
class Verification:
    ok: bool
    method: str = ""  # "totp" or "recovery_code" when ok
    device: object | None = None
    throttled_until: datetime | None = None  # set when the code was not even checked
    recovery_codes_left: int | None = None


def normalise_code(code: str) -> str:
    """Codes as people type them: spaces and dashes ignored, any case."""
    return "".join(ch for ch in (code or "") if ch not in " -\t").lower()[:64]


def mfa_device(*, user) -> StaffTOTPDevice | None:
    """The staff member's confirmed authenticator app, if they have set one up."""
    if not (user and user.is_authenticated):
        return None
    return StaffTOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def mfa_enrolled(*, user) -> bool:
    if not (user and user.is_authenticated):
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(*, user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- Enrolment


def enrolment_key_new() -> str:
    """A fresh 160-bit TOTP secret, hex-encoded as django-otp stores it."""
    return random_hex(20)


@dataclass(frozen=True)
class EnrolmentDetails:
    secret: str  # base32, in groups of four, for typing into an app by hand
    config_url: str  # otpauth:// URL the QR code carries
    qr_data_uri: str  # SVG as a data: URI (img-src allows data:; no Pillow, no inline markup)


def enrolment_details(*, user, key: str) -> EnrolmentDetails:
    device = TOTPDevice(user=user, key=key, name=TOTP_DEVICE_NAME)
    secret = base64.b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m")
    return EnrolmentDetails(
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        config_url=device.config_url,
        qr_data_uri=qr.svg_data_uri(scale=5, border=4, dark="#000", light="#fff"),
    )


@transaction.atomic
def mfa_enrol(*, user, key: str, code: str, via_link: bool = False) -> tuple[StaffTOTPDevice, list[str]]:
    """Confirm a new authenticator app with a code it shows, and issue fresh recovery codes.

    ``key`` is the hex secret (kept in the session until now); the database gets it encrypted.
    Replaces any earlier app and recovery codes of the user. Raises InvalidCode. The caller emails
    the user (clinic.accounts.emails) once the transaction is done.
    """
    code = normalise_code(code)
    if not (code.isdigit() and len(code) == 6):
        raise InvalidCode("Enter the 6-digit code your authenticator app shows.")
    # Serialises two confirmations by the same user (two tabs): one device results.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    probe = TOTPDevice(user=user, key=key)
    totp = TOTP(probe.bin_key, probe.step, probe.t0, probe.digits, probe.drift)
    if not totp.verify(int(code), tolerance=probe.tolerance):
        raise InvalidCode()
    replaced = TOTPDevice.objects.filter(user=user).exists()
    TOTPDevice.objects.filter(user=user).delete()
    # The code just used cannot be replayed at the next log-in.
    device = StaffTOTPDevice.objects.create(
        user=user,
        key=crypto.totp_key_encrypt(key),
        name=TOTP_DEVICE_NAME,
        confirmed=True,
        drift=totp.drift,
        last_t=totp.t(),
    )
    codes = _recovery_codes_replace(user=user)
    changes = {"replaced": replaced, **({"via_link": True} if via_link else {})}
    audit_record(actor=user, action="auth.mfa_enrolled", target=user, changes=changes)
    return device, codes


# --- Recovery codes


def _recovery_codes_replace(*, user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaffRecoveryDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = []
    while len(codes) < RECOVERY_CODE_COUNT:
        token = normalise_code(StaticToken.random_token())  # 8 base32 characters, 40 random bits
        if token not in codes:
            codes.append(token)
    # Only keyed hashes are stored: the codes are shown once and cannot be read back.
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=crypto.recovery_code_digest(token)) for token in codes
    )
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, user) -> list[str]:
    """New recovery codes for an enrolled user; the old ones stop working."""
    if not mfa_enrolled(user=user):
        raise Invalid("Set up an authenticator app first.")
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    codes = _recovery_codes_replace(user=user)
    audit_record(actor=user, action="auth.recovery_codes_regenerated", target=user)
    return codes


def format_recovery_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# --- Verification


def mfa_verify(*, user, code: str, request) -> Verification:
    """Check a second-factor code (authenticator or recovery code) for ``user``.

    ``request`` is the HttpRequest the code came with: a wrong code is reported as a failed
    log-in for the user (Django's ``user_login_failed``), which the lockout counts per username
    and address and the audit trail records as ``auth.mfa_failed``.
    """
    code = normalise_code(code)
    totp = mfa_device(user=user)
    if totp is None:
        return Verification(ok=False)
    if code.isdigit() and len(code) == totp.digits:
        device, method = totp, "totp"
    else:
        device = StaffRecoveryDevice.objects.filter(user=user, confirmed=True).first()
        method = "recovery_code"
    if device is not None:
        allowed, info = device.verify_is_allowed()
        if not allowed:
            # Back-off after a wrong code: this one is not even compared, so it tells nothing.
            return Verification(ok=False, throttled_until=(info or {}).get("locked_until"))
        verified = verify_token(user, device.persistent_id, code)
    else:
        verified = None
    if verified is None:
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request, factor="otp"
        )
        return Verification(ok=False)
    audit_record(actor=user, action="auth.mfa_verified", target=user, changes={"method": method})
    left = None
    if method == "recovery_code":
        left = recovery_codes_left(user=user)
        audit_record(actor=user, action="auth.recovery_code_used", target=user, changes={"remaining": left})
    return Verification(ok=True, method=method, device=verified, recovery_codes_left=left)


def seconds_until(moment: datetime | None) -> int:
    if moment is None:
        return 1
    return max(1, int((moment - timezone.now()).total_seconds() + 0.999))


# --- Reset


@transaction.atomic
def mfa_reset(*, user, actor, reason: str = "") -> bool:
    """Remove a staff member's authenticator and recovery codes (a lost phone).

    Only the removal: clinic.accounts.services.staff_mfa_reset also ends the user's sessions and
    tokens and gives them a set-up link, without which they cannot set up a new app (a password
    alone never reaches enrolment). Returns whether there was anything to remove; audited.
    """
    had = TOTPDevice.objects.filter(user=user).exists() or StaticDevice.objects.filter(user=user).exists()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(
        actor=actor,
        action="auth.mfa_reset",
        target=user,
        changes={"username": user.get_username(), "reason": reason[:200], "had_device": had},
    )
    return had
