"""django-otp's devices, reading their secrets through clinic.mfa.crypto.

Proxies of django-otp's TOTP and static devices (same tables, no columns of their own): the TOTP
key column holds the encrypted key, and the static tokens hold keyed hashes of the recovery
codes. django-otp loads a device by its ``persistent_id`` (``clinic.stafftotpdevice/7``), so the
verification, throttling and replay guard are django-otp's own, on the decrypted key.
"""

from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import crypto


class StaffTOTPDevice(TOTPDevice):
    class Meta:
        proxy = True
        app_label = "clinic"
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        return crypto.totp_key_decrypt(self.key)


class StaffRecoveryDevice(StaticDevice):
    class Meta:
        proxy = True
        app_label = "clinic"
        verbose_name = "recovery codes"

    def verify_token(self, token) -> bool:
        return super().verify_token(crypto.recovery_code_digest(str(token)))
