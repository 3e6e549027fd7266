"""Two-factor authentication: enrolment, the code step of the log-in, recovery codes, what an
unverified session can reach, the token endpoint, lockout, reset and the audit trail.

Codes are real TOTP codes computed from the device's key with django_otp.oath.totp, at times
set by time-machine (a code is accepted once, so each log-in happens in a later 30-second step).
"""

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from clinic.mfa import crypto, services
from clinic.mfa.models import StaffTOTPDevice
from clinic.mfa.views import ENROL_KEY
from clinic.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

LIMIT = 5
STEP = 30


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock():
    """Time stands still until a test moves it (traveller.shift(seconds))."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def require_mfa(settings):
    settings.REQUIRE_MFA = True


def _code_for_key(key_hex: str) -> str:
    device = TOTPDevice(key=key_hex)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _code(user) -> str:
    device = StaffTOTPDevice.objects.get(user=user, confirmed=True)  # decrypts the stored key
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{value:06d}"


def _wrong_code_for_key(key_hex: str) -> str:
    """A code that none of the accepted time steps (one before, now, one after) produces."""
    device = TOTPDevice(key=key_hex)
    accepted = {totp(device.bin_key, t0=device.t0 - offset * device.step) for offset in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(123456, 10**6) if n not in accepted)


def _wrong_code(user) -> str:
    return _wrong_code_for_key(StaffTOTPDevice.objects.get(user=user, confirmed=True).bin_key.hex())


def _enrolled(user, clock) -> list[str]:
    """Set up an authenticator for ``user`` through the service; returns the recovery codes.
    Moves the clock on one step so that the next code is a new one."""
    key = services.enrolment_key_new()
    _, codes = services.mfa_enrol(user=user, key=key, code=_code_for_key(key))
    clock.shift(STEP)
    return codes


def _password_step(client, user, **extra):
    return client.post("/login/", {"username": user.username, "password": PASSWORD, **extra})


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- Enrolment (a first authenticator with REQUIRE_MFA on comes only through a set-up link:
# tests/security/test_enrolment.py; here the Security page's own set-up, with it off)


def test_enrolment_scan_confirm_and_recovery_codes_shown_once(client, front_desk_user, clock):
    response = _password_step(client, front_desk_user)
    assert response.status_code == 302

    page = client.get("/account/two-factor/set-up/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # the QR code, no external request, CSP img-src data:
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    key = client.session[ENROL_KEY]
    assert client.get("/account/two-factor/set-up/").context["details"].secret  # same key on reload
    assert client.session[ENROL_KEY] == key

    wrong = client.post("/account/two-factor/set-up/", {"code": _wrong_code_for_key(key)})
    assert wrong.status_code == 200
    assert "not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=front_desk_user).exists()

    confirmed = client.post("/account/two-factor/set-up/", {"code": _code_for_key(key)})
    assert confirmed.status_code == 302
    assert confirmed["Location"].startswith("/account/two-factor/recovery-codes/")
    device = StaffTOTPDevice.objects.get(user=front_desk_user)
    # Stored encrypted: the column does not hold the secret, the key opens it.
    assert device.confirmed and key not in device.key and device.bin_key == bytes.fromhex(key)

    shown = client.get(confirmed["Location"])
    assert shown.status_code == 200
    codes = shown.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert StaticToken.objects.filter(device__user=front_desk_user).count() == 10
    # Shown once: the next visit goes to the Security page instead.
    assert client.get("/account/two-factor/recovery-codes/")["Location"] == "/account/security/"

    # The session that set it up is verified: the clinic opens.
    assert client.get("/patients/").status_code == 200
    assert "auth.mfa_enrolled" in _actions()


def test_enrolment_replaces_an_earlier_authenticator(client, front_desk_user, clock):
    _enrolled(front_desk_user, clock)
    old = TOTPDevice.objects.get(user=front_desk_user)
    _password_step(client, front_desk_user)
    client.post("/account/verify/", {"code": _code(front_desk_user)})
    clock.shift(STEP)

    client.get("/account/two-factor/set-up/")
    key = client.session[ENROL_KEY]
    assert client.post("/account/two-factor/set-up/", {"code": _code_for_key(key)}).status_code == 302

    assert [d.bin_key.hex() for d in StaffTOTPDevice.objects.filter(user=front_desk_user)] == [key]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(action="auth.mfa_enrolled").latest("id").changes == {"replaced": True}


# --- The code step of the log-in


def test_the_password_alone_does_not_log_in_an_enrolled_user(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    response = _password_step(client, surgeon_user)
    assert response.status_code == 302
    assert response["Location"] == "/account/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/patients/")["Location"].startswith("/login/")
    assert client.get("/api/v1/me/").status_code == 401  # anonymous
    assert "auth.login" not in _actions()


def test_a_real_totp_code_completes_the_log_in(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user, next="/patients/")
    page = client.get("/account/verify/")
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()

    response = client.post("/account/verify/", {"code": _code(surgeon_user)})

    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    assert client.get("/patients/").status_code == 200
    assert client.get("/api/v1/me/").json()["username"] == surgeon_user.username
    actions = _actions()
    assert actions.index("auth.mfa_verified") < actions.index("auth.login")
    assert AuditEvent.objects.get(action="auth.mfa_verified").changes == {"method": "totp"}


def test_the_next_address_must_be_on_this_site(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user, next="https://evil.example/")
    response = client.post("/account/verify/", {"code": _code(surgeon_user)})
    assert response["Location"] == "/"


def test_a_wrong_code_is_refused_and_audited(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user)

    response = client.post("/account/verify/", {"code": _wrong_code(surgeon_user)})

    assert response.status_code == 200
    assert "not right" in response.content.decode()
    assert "_auth_user_id" not in client.session
    failed = AuditEvent.objects.get(action="auth.mfa_failed")
    assert failed.changes == {"username": surgeon_user.username}
    assert failed.actor is None


def test_a_code_is_accepted_only_once(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    code = _code(surgeon_user)
    _password_step(client, surgeon_user)
    assert client.post("/account/verify/", {"code": code}).status_code == 302
    client.post("/logout/")

    clock.shift(2)  # same 30-second step: the same code
    _password_step(client, surgeon_user)
    response = client.post("/account/verify/", {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_back_off_after_a_wrong_code(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user)
    client.post("/account/verify/", {"code": _wrong_code(surgeon_user)})

    # Right away, even the right code is not compared: the device waits 1 s after one failure.
    hurried = client.post("/account/verify/", {"code": _code(surgeon_user)})
    assert "wait" in hurried.content.decode()
    clock.shift(2)
    assert client.post("/account/verify/", {"code": _code(surgeon_user)}).status_code == 302


def test_the_code_step_expires(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user)
    clock.shift(6 * 60)
    response = client.post("/account/verify/", {"code": _code(surgeon_user)})
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_users_with_an_authenticator_verify_even_when_not_required(client, settings, surgeon_user, clock):
    settings.REQUIRE_MFA = False
    _enrolled(surgeon_user, clock)
    assert _password_step(client, surgeon_user)["Location"] == "/account/verify/"
    assert "_auth_user_id" not in client.session


def test_without_require_mfa_unenrolled_staff_log_in_with_a_password(client, settings, surgeon_user):
    settings.REQUIRE_MFA = False
    response = _password_step(client, surgeon_user)
    assert response["Location"] == "/"
    assert client.get("/patients/").status_code == 200


# --- Recovery codes


def test_a_recovery_code_works_once(client, surgeon_user, clock):
    codes = _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user)
    response = client.post(
        "/account/verify/", {"recovery_code": services.format_recovery_code(codes[0]).upper()}
    )
    assert response.status_code == 302
    assert client.get("/patients/").status_code == 200
    used = AuditEvent.objects.get(action="auth.recovery_code_used")
    assert used.changes == {"remaining": 9}
    assert AuditEvent.objects.get(action="auth.mfa_verified").changes == {"method": "recovery_code"}
    client.post("/logout/")

    clock.shift(STEP)
    _password_step(client, surgeon_user)
    again = client.post("/account/verify/", {"recovery_code": codes[0]})
    assert again.status_code == 200
    assert "_auth_user_id" not in client.session
    clock.shift(STEP)
    assert client.post("/account/verify/", {"recovery_code": codes[1]}).status_code == 302


def test_regenerating_recovery_codes_replaces_the_old_ones(client, surgeon_user, clock):
    old = _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user)
    client.post("/account/verify/", {"code": _code(surgeon_user)})
    security = client.get("/account/security/")
    assert security.context["codes_left"] == 10

    response = client.post("/account/two-factor/recovery-codes/")
    assert response["Location"] == "/account/two-factor/recovery-codes/"
    new = [c.replace("-", "") for c in client.get(response["Location"]).context["codes"]]

    assert set(new).isdisjoint(old)
    # Only keyed hashes of the codes are stored.
    stored = set(StaticToken.objects.filter(device__user=surgeon_user).values_list("token", flat=True))
    assert stored == {crypto.recovery_code_digest(code) for code in new}
    assert stored.isdisjoint(new)
    assert "auth.recovery_codes_regenerated" in _actions()


# --- What an unverified session reaches


def test_require_mfa_gives_unenrolled_staff_nothing_for_a_password(client, front_desk_user, require_mfa):
    response = _password_step(client, front_desk_user)
    assert response.status_code == 200  # the log-in page again, with the reason
    assert "set-up link" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/account/two-factor/set-up/")["Location"].startswith("/login/")


def test_require_mfa_ends_an_unenrolled_session(client, front_desk_user, require_mfa):
    # A session from before its user's reset (or before this rule) reaches nothing, not even the
    # set-up page, and the API says why.
    client.force_login(front_desk_user)
    api = client.get("/api/v1/patients/")
    assert api.status_code == 403
    assert api.json()["code"] == "mfa_required"
    assert api.json()["step"] == "enrol"
    assert (
        client.post("/api/v1/patients/", {}, content_type="application/json").json()["code"] == "mfa_required"
    )
    htmx = client.get("/patients/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == "/login/"
    assert "_auth_user_id" not in client.session
    client.force_login(front_desk_user)
    assert client.get("/account/two-factor/set-up/")["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert not TOTPDevice.objects.filter(user=front_desk_user).exists()


def test_an_unverified_session_of_an_enrolled_user_is_sent_to_the_code(client, surgeon_user, clock):
    # For example a session that began before the user set up their app elsewhere.
    _enrolled(surgeon_user, clock)
    client.force_login(surgeon_user)

    assert client.get("/patients/")["Location"] == "/account/verify/?next=%2Fpatients%2F"
    api = client.get("/api/v1/me/")
    assert api.status_code == 403
    assert api.json() == {
        "code": "mfa_required",
        "detail": "Enter the code from your authenticator app to finish logging in.",
        "fields": {},
        "step": "verify",
    }
    # The set-up page does not let a second app in without the first one's code.
    assert client.get("/account/two-factor/set-up/")["Location"] == "/account/verify/"

    response = client.post("/account/verify/", {"code": _code(surgeon_user), "next": "/patients/"})
    assert response["Location"] == "/patients/"
    assert client.get("/api/v1/me/").status_code == 200


def test_the_admin_login_goes_through_the_clinic_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/"


# --- The API token endpoint


def _token(api, user, **extra):
    return api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD, **extra})


def test_token_needs_the_code_once_enrolled(anon_api, surgeon_user, clock):
    _enrolled(surgeon_user, clock)

    missing = _token(anon_api, surgeon_user)
    assert missing.status_code == 400
    assert missing.json()["code"] == "otp_required"
    assert "otp" in missing.json()["fields"]

    wrong = _token(anon_api, surgeon_user, otp=_wrong_code(surgeon_user))
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "otp_invalid"
    assert "auth.mfa_failed" in _actions()

    clock.shift(STEP)
    right = _token(anon_api, surgeon_user, otp=_code(surgeon_user))
    assert right.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {right.json()['token']}")
    assert client.get("/api/v1/me/").status_code == 200
    assert "auth.token_issued" in _actions()


def test_token_accepts_a_recovery_code(anon_api, surgeon_user, clock):
    codes = _enrolled(surgeon_user, clock)
    assert _token(anon_api, surgeon_user, otp=codes[3]).status_code == 200
    assert _token(anon_api, surgeon_user, otp=codes[3]).json()["code"] == "otp_invalid"


def test_token_refused_to_unenrolled_staff_when_mfa_is_required(anon_api, surgeon_user, require_mfa):
    response = _token(anon_api, surgeon_user)
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_not_enrolled"


def test_token_without_code_when_mfa_is_optional_and_not_set_up(anon_api, settings, surgeon_user):
    settings.REQUIRE_MFA = False
    assert _token(anon_api, surgeon_user).status_code == 200


# --- Lockout


def test_repeated_wrong_codes_lock_the_log_in(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user)
    for _ in range(LIMIT):
        clock.shift(20)  # past the device's own back-off, so every code is compared
        response = client.post("/account/verify/", {"code": _wrong_code(surgeon_user)})
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert _actions().count("auth.mfa_failed") == LIMIT
    assert AuditEvent.objects.get(action="auth.locked_out").changes["username"] == surgeon_user.username

    # Locked: neither the password nor the right code gets in, from a fresh session either.
    clock.shift(STEP)
    assert _password_step(client, surgeon_user).status_code == 429
    other = type(client)()
    assert _password_step(other, surgeon_user).status_code == 429
    assert "_auth_user_id" not in other.session


def test_the_code_step_refuses_a_locked_out_user(client, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    _password_step(client, surgeon_user)
    other = type(client)()
    for _ in range(LIMIT):  # someone else at this address, guessing this user's password meanwhile
        other.post("/login/", {"username": surgeon_user.username, "password": "wrong"})
    response = client.post("/account/verify/", {"code": _code(surgeon_user)})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_wrong_codes_lock_the_token_endpoint(anon_api, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    for _ in range(LIMIT):
        clock.shift(20)
        response = _token(anon_api, surgeon_user, otp=_wrong_code(surgeon_user))
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    clock.shift(STEP)
    assert _token(anon_api, surgeon_user, otp=_code(surgeon_user)).status_code == 429


def test_a_throttled_code_is_not_counted(anon_api, surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    _token(anon_api, surgeon_user, otp=_wrong_code(surgeon_user))
    hurried = _token(anon_api, surgeon_user, otp=_wrong_code(surgeon_user))
    assert hurried.status_code == 429
    assert hurried.json()["code"] == "otp_throttled"
    assert _actions().count("auth.mfa_failed") == 1


# --- Reset


def test_a_manager_resets_a_lost_authenticator(client, manager_user, surgeon_user, require_mfa, clock):
    _enrolled(surgeon_user, clock)
    _enrolled(manager_user, clock)
    _password_step(client, manager_user)
    client.post("/account/verify/", {"code": _code(manager_user)})
    listing = client.get("/clinic/staff/")
    assert listing.status_code == 200
    row = next(m for m in listing.context["staff"] if m.pk == surgeon_user.pk)
    assert row.mfa_enrolled and row.recovery_left == 10

    response = client.post(f"/clinic/staff/{surgeon_user.pk}/two-factor/reset/", {"reason": "lost phone"})

    assert response["Location"] == "/clinic/staff/"
    assert not TOTPDevice.objects.filter(user=surgeon_user).exists()
    assert not StaticToken.objects.filter(device__user=surgeon_user).exists()
    event = AuditEvent.objects.get(action="auth.mfa_reset")
    assert event.actor == manager_user
    assert event.target_id == str(surgeon_user.pk)
    assert event.changes["reason"] == "lost phone"
    # The password alone no longer leads anywhere: the new app comes through the emailed link.
    surgeon = type(client)()
    assert _password_step(surgeon, surgeon_user).status_code == 200
    assert "_auth_user_id" not in surgeon.session
    assert AuditEvent.objects.filter(action="account.link_issued", target_id=str(surgeon_user.pk)).exists()


def test_a_manager_cannot_reset_their_own(client, manager_user, clock):
    _enrolled(manager_user, clock)
    _password_step(client, manager_user)
    client.post("/account/verify/", {"code": _code(manager_user)})
    client.post(f"/clinic/staff/{manager_user.pk}/two-factor/reset/")
    assert TOTPDevice.objects.filter(user=manager_user).exists()


def test_only_managers_reset(login_as, surgeon_user, therapist_user, clock):
    _enrolled(therapist_user, clock)
    client = login_as(surgeon_user)
    assert client.post(f"/clinic/staff/{therapist_user.pk}/two-factor/reset/").status_code == 403
    assert TOTPDevice.objects.filter(user=therapist_user).exists()


def test_reset_from_the_command_line(surgeon_user, clock):
    _enrolled(surgeon_user, clock)
    call_command("mfa_reset", surgeon_user.username, reason="phone stolen")
    assert not TOTPDevice.objects.filter(user=surgeon_user).exists()
    event = AuditEvent.objects.get(action="auth.mfa_reset")
    assert event.actor is None
    assert event.changes["reason"] == "phone stolen"


def test_every_step_is_in_the_audit_trail(client, front_desk_user, clock):
    _password_step(client, front_desk_user)
    client.get("/account/two-factor/set-up/")
    client.post("/account/two-factor/set-up/", {"code": _code_for_key(client.session[ENROL_KEY])})
    client.post("/account/two-factor/recovery-codes/")
    client.post("/logout/")
    clock.shift(STEP)
    _password_step(client, front_desk_user)
    client.post("/account/verify/", {"code": _wrong_code(front_desk_user)})
    clock.shift(STEP)
    client.post("/account/verify/", {"code": _code(front_desk_user)})

    actions = set(_actions())
    assert {
        "auth.login",
        "auth.mfa_enrolled",
        "auth.recovery_codes_regenerated",
        "auth.logout",
        "auth.mfa_failed",
        "auth.mfa_verified",
    } <= actions


def test_staff_without_an_authenticator_are_not_asked_for_a_code(settings, client):
    settings.REQUIRE_MFA = False
    user = UserFactory(username="plain", roles=["front_desk"])
    assert client.post("/account/verify/").status_code == 302
    client.force_login(user)
    assert client.get("/account/verify/")["Location"] == "/"
