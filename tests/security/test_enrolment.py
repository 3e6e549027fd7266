"""Finding 1: enrolment is bound to the person. A password alone never reaches two-factor set-up;
a new account, or an account after a two-factor reset, is set up only through a single-use,
expiring link sent to the staff member's own email address (or handed over by the manager).
Finding 8: two-factor secrets are encrypted at rest, and a reset ends sessions and tokens."""

import importlib
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.accounts import services as accounts
from clinic.accounts.models import AccountLink
from clinic.mfa import crypto
from clinic.mfa.models import StaffTOTPDevice
from clinic.mfa.views import ENROL_KEY
from clinic.models import AuditEvent
from clinic.signals import CredentialChange, credentials_changed
from tests.factories import PASSWORD, UserFactory
from tests.security.otp import STEP, code, code_for_key, emailed_link, enrolled, path_of, signed_in

NEW_PASSWORD = "a violet kestrel over marsh"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def require_mfa(settings):
    settings.REQUIRE_MFA = True


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def changes():
    """Every credentials_changed signal sent during the test: (user id, reason)."""
    seen = []

    def receiver(sender, user, reason, actor=None, **kwargs):
        seen.append((user.pk, reason))

    credentials_changed.connect(receiver, dispatch_uid="test-enrolment")
    yield seen
    credentials_changed.disconnect(dispatch_uid="test-enrolment")


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def _set_up_page(client, link_url: str):
    """Open the link; returns the set-up page and the key the page shows."""
    opened = client.get(path_of(link_url))
    assert opened.status_code == 302 and opened["Location"] == "/account/set-up/"
    page = client.get("/account/set-up/")
    assert page.status_code == 200
    return page, client.session.get(ENROL_KEY)


# --- An attacker who knows the password


def test_a_password_alone_cannot_enrol_an_account(client, anon_api, require_mfa, clock):
    # The demo logins, a new account whose first password leaked, an account after a reset: the
    # attacker has the right password and no authenticator exists yet.
    victim = UserFactory(username="new-starter", roles=["surgeon"])

    response = client.post("/login/", {"username": victim.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get("/account/two-factor/set-up/")["Location"].startswith("/login/")
    assert client.post("/account/two-factor/set-up/", {"code": "123456"})["Location"].startswith("/login/")
    token = anon_api.post("/api/v1/auth/token/", {"username": victim.username, "password": PASSWORD})
    assert token.status_code == 403
    assert not TOTPDevice.objects.filter(user=victim).exists()
    assert "auth.login_refused_not_enrolled" in _actions()
    assert "auth.login" not in _actions()


# --- The whole way: invite -> link -> password and authenticator -> log-in


def test_invite_link_password_authenticator_and_log_in(client, require_mfa, manager_user, clock):
    enrolled(manager_user, clock)
    manager = signed_in(client, manager_user, clock)
    response = manager.post(
        "/clinic/staff/invite/",
        {
            "username": "nkay",
            "first_name": "Nadia",
            "last_name": "Kay",
            "email": "nadia.kay@clinic.test",
            "roles": ["injector"],
            "delivery": "email",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/clinic/staff/"
    new = AccountLink.objects.get(user__username="nkay").user
    assert not new.has_usable_password()
    link = emailed_link("nadia.kay@clinic.test")

    # The new member of staff, on their own browser.
    nadia = type(client)()
    page, key = _set_up_page(nadia, link)
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html and "New password" in html
    mismatch = nadia.post(
        "/account/set-up/",
        {"new_password": NEW_PASSWORD, "new_password_again": "something else", "code": code_for_key(key)},
    )
    assert mismatch.status_code == 200 and not TOTPDevice.objects.filter(user=new).exists()
    weak = nadia.post(
        "/account/set-up/",
        {"new_password": "Passw0rd!", "new_password_again": "Passw0rd!", "code": code_for_key(key)},
    )
    assert weak.status_code == 200 and not TOTPDevice.objects.filter(user=new).exists()
    done = nadia.post(
        "/account/set-up/",
        {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD, "code": code_for_key(key)},
    )
    assert done.status_code == 302 and done["Location"] == "/account/two-factor/recovery-codes/"
    assert len(nadia.get(done["Location"]).context["codes"]) == 10
    assert nadia.get("/patients/").status_code == 200  # signed in, both factors
    new.refresh_from_db()
    assert new.check_password(NEW_PASSWORD)
    assert any("authenticator app was set up" in m.subject for m in mail.outbox if m.to == [new.email])

    # The link worked once.
    assert type(client)().get(path_of(link)).status_code == 404

    # Next time: password and code, like everyone.
    nadia.post("/logout/")
    clock.shift(STEP)
    step = nadia.post("/login/", {"username": "nkay", "password": NEW_PASSWORD})
    assert step["Location"] == "/account/verify/"
    assert nadia.post("/account/verify/", {"code": code(new)}).status_code == 302
    assert nadia.get("/patients/").status_code == 200
    assert {"staff.invited", "account.link_issued", "account.link_used", "auth.mfa_enrolled"} <= set(
        _actions()
    )


# --- The link


def test_a_link_is_single_use_expires_and_only_its_hash_is_kept(client, settings, manager_user, clock):
    settings.ACCOUNT_LINK_HOURS = 24
    user, issued = accounts.staff_invite(
        actor=manager_user, username="temp", email="temp@clinic.test", roles=["front_desk"], send_email=False
    )
    token = issued.url.rstrip("/").rsplit("/", 1)[1]
    stored = AccountLink.objects.get(user=user)
    assert token not in stored.token_hash and len(token) >= 40
    assert not issued.emailed and not mail.outbox

    clock.shift(25 * 60 * 60)
    assert client.get(path_of(issued.url)).status_code == 404

    # A newer link replaces the earlier one.
    first = accounts.staff_password_reset(actor=manager_user, user=user, send_email=False)
    second = accounts.staff_password_reset(actor=manager_user, user=user, send_email=False)
    assert client.get(path_of(first.url)).status_code == 404
    assert client.get(path_of(second.url)).status_code == 302
    assert client.get("/account/set-up/").status_code == 200


def test_a_link_taken_into_a_session_cannot_be_used_after_it_expires(client, settings, manager_user, clock):
    settings.ACCOUNT_LINK_HOURS = 1
    _, issued = accounts.staff_invite(
        actor=manager_user, username="late", email="late@clinic.test", roles=["front_desk"], send_email=False
    )
    client.get(path_of(issued.url))
    clock.shift(2 * 60 * 60)
    response = client.post(
        "/account/set-up/", {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    )
    assert response.status_code == 404
    assert not AccountLink.objects.get(user__username="late").used_at


# --- Two-factor reset


def test_a_reset_ends_sessions_tokens_and_needs_link_and_password(
    client, require_mfa, manager_user, surgeon_user, clock, changes
):
    enrolled(surgeon_user, clock)
    surgeon = signed_in(type(client)(), surgeon_user, clock)
    assert surgeon.get("/patients/").status_code == 200
    old_key = StaffTOTPDevice.objects.get(user=surgeon_user).bin_key

    enrolled(manager_user, clock)
    manager = signed_in(client, manager_user, clock)
    manager.post(f"/clinic/staff/{surgeon_user.pk}/two-factor/reset/", {"reason": "phone stolen"})

    # The surgeon's session ended; tokens were told to go.
    assert surgeon.get("/patients/")["Location"].startswith("/login/")
    assert (surgeon_user.pk, CredentialChange.MFA_RESET) in changes
    subjects = [m.subject for m in mail.outbox if m.to == [surgeon_user.email]]
    assert any("was reset" in s for s in subjects) and any("again" in s for s in subjects)
    link = emailed_link(surgeon_user.email)

    # The link alone is not enough: their current password too.
    stranger = type(client)()
    _, key = _set_up_page(stranger, link)
    refused = stranger.post(
        "/account/set-up/", {"current_password": "not-it-at-all", "code": code_for_key(key)}
    )
    assert refused.status_code == 200 and "not your current password" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=surgeon_user).exists()
    done = stranger.post("/account/set-up/", {"current_password": PASSWORD, "code": code_for_key(key)})
    assert done["Location"] == "/account/two-factor/recovery-codes/"
    assert StaffTOTPDevice.objects.get(user=surgeon_user).bin_key != old_key


def test_reset_from_the_command_line_prints_a_link(client, surgeon_user, clock, changes):
    from io import StringIO

    from django.core.management import call_command

    enrolled(surgeon_user, clock)
    out = StringIO()
    call_command("mfa_reset", surgeon_user.username, reason="phone stolen", stdout=out)
    url = next(line for line in out.getvalue().splitlines() if "/account/set-up/" in line)
    assert client.get(path_of(url.strip())).status_code == 302
    assert (surgeon_user.pk, CredentialChange.MFA_RESET) in changes


# --- Finding 8: secrets at rest


def test_two_factor_secrets_are_not_in_the_database_in_clear(surgeon_user, settings, clock):
    key = "3132333435363738393031323334353637383930"
    from clinic.mfa import services

    _, codes = services.mfa_enrol(user=surgeon_user, key=key, code=code_for_key(key))
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM otp_totp_totpdevice WHERE user_id = %s", [surgeon_user.pk])
        (stored,) = cursor.fetchone()
        cursor.execute(
            "SELECT t.token FROM otp_static_statictoken t JOIN otp_static_staticdevice d ON d.id = t.device_id "
            "WHERE d.user_id = %s",
            [surgeon_user.pk],
        )
        tokens = {row[0] for row in cursor.fetchall()}
    assert key not in stored and stored.startswith("v1:")
    assert StaffTOTPDevice.objects.get(user=surgeon_user).bin_key == bytes.fromhex(key)
    assert len(tokens) == 10 and not tokens & set(codes)
    assert not any(c.upper() in tokens or c in tokens for c in codes)

    # The database without the key opens nothing.
    settings.MFA_SECRET_KEY = "another-key-" * 5
    with pytest.raises(crypto.SecretUnreadable):
        StaffTOTPDevice.objects.get(user=surgeon_user).bin_key  # noqa: B018


def test_the_migration_encrypts_secrets_kept_in_clear(surgeon_user):
    key = "3132333435363738393031323334353637383930"
    legacy = TOTPDevice.objects.create(user=surgeon_user, key=key, name="old", confirmed=True)
    static = StaticToken.objects.create(
        device=apps.get_model("otp_static", "StaticDevice").objects.create(user=surgeon_user, name="old"),
        token="abcd2345",
    )
    migration = importlib.import_module("clinic.migrations.0010_staff_accounts")
    migration.encrypt_two_factor_secrets(apps, None)
    migration.encrypt_two_factor_secrets(apps, None)  # twice: already encrypted rows stay as they are
    legacy.refresh_from_db()
    static.refresh_from_db()
    assert legacy.key.startswith("v1:") and StaffTOTPDevice.objects.get(pk=legacy.pk).bin_key.hex() == key
    assert static.token == crypto.recovery_code_digest("abcd2345")


# --- The demo command


def test_demo_command_refuses_without_debug(settings):
    from django.core.management import CommandError, call_command

    settings.DEBUG = False
    with pytest.raises(CommandError, match="allow-without-debug"):
        call_command("seed_demo")
    assert not AccountLink.objects.exists()


@pytest.mark.parametrize("required", [False, True])
def test_demo_command_without_debug_makes_random_passwords(settings, client, required, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    from devtools.management.commands import seed_demo

    # The staff only: the clinic's demo records are not what this is about.
    monkeypatch.setattr(seed_demo.Command, "_extend", lambda self, staff: None)
    settings.DEBUG = False
    settings.REQUIRE_MFA = required
    out = StringIO()
    call_command("seed_demo", "--allow-without-debug", stdout=out)
    printed = out.getvalue()
    assert seed_demo.DEMO_PASSWORD not in printed
    assert (
        client.post("/login/", {"username": "manager", "password": seed_demo.DEMO_PASSWORD}).status_code
        == 200
    )
    assert "_auth_user_id" not in client.session
    password = next(
        line.split("password: ")[1]
        for line in printed.splitlines()
        if line.strip().startswith("manager ") and "password: " in line
    )
    assert len(password) >= 16
    response = client.post("/login/", {"username": "manager", "password": password})
    if required:
        # The password alone does not enrol: the printed set-up link does.
        assert response.status_code == 200 and "_auth_user_id" not in client.session
        assert printed.count("/account/set-up/") == len(seed_demo.DEMO_STAFF)
    else:
        assert response.status_code == 302 and client.session["_auth_user_id"]


def test_demo_command_with_debug_keeps_the_published_password(settings, client, monkeypatch):
    from django.core.management import call_command

    from devtools.management.commands import seed_demo

    monkeypatch.setattr(seed_demo.Command, "_extend", lambda self, staff: None)
    settings.DEBUG = True
    call_command("seed_demo")
    response = client.post("/login/", {"username": "manager", "password": seed_demo.DEMO_PASSWORD})
    assert response.status_code == 302


def test_link_expiry_is_a_setting(settings, manager_user):
    settings.ACCOUNT_LINK_HOURS = 5
    _, issued = accounts.staff_invite(
        actor=manager_user, username="x5", email="x5@clinic.test", roles=["front_desk"], send_email=False
    )
    assert abs(issued.expires_at - (timezone.now() + timedelta(hours=5))) < timedelta(minutes=1)
