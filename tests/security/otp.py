"""Helpers for tests that log in with two factors: real TOTP codes from a device's key."""

import re

from django.core import mail
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.mfa import services
from clinic.mfa.models import StaffTOTPDevice
from tests.factories import PASSWORD

STEP = 30
LINK = re.compile(r"https?://\S+/account/set-up/[\w-]+/")


def code_for_key(key_hex: str) -> str:
    device = TOTPDevice(key=key_hex)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def code(user) -> str:
    device = StaffTOTPDevice.objects.get(user=user, confirmed=True)
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{value:06d}"


def enrolled(user, clock) -> list[str]:
    """Give ``user`` an authenticator through the service; the clock moves on one step."""
    key = services.enrolment_key_new()
    _, codes = services.mfa_enrol(user=user, key=key, code=code_for_key(key))
    clock.shift(STEP)
    return codes


def signed_in(client, user, clock):
    """Log in through the pages, password then code; the clock moves on one step."""
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    response = client.post("/account/verify/", {"code": code(user)})
    assert response.status_code == 302, response
    clock.shift(STEP)
    return client


def emailed_link(to: str) -> str:
    """The set-up link in the newest email to ``to``."""
    found = next(
        (LINK.search(m.body) for m in reversed(mail.outbox) if to in m.to and LINK.search(m.body)), None
    )
    assert found, [m.subject for m in mail.outbox]
    return found.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
