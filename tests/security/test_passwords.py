"""Passwords: at least 12 characters, a larger bundled common-password list (and its usual
disguises), self-service change on a page and in the API (other sessions end, the user is
emailed, tokens are told through credentials_changed), and "sign out everywhere"."""

import pytest
from django.contrib.auth.password_validation import CommonPasswordValidator as DjangoList
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError

from clinic.models import AuditEvent
from clinic.signals import CredentialChange, credentials_changed
from tests.factories import PASSWORD

NEW_PASSWORD = "amber lanterns in the rain"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def changes():
    seen = []

    def receiver(sender, user, reason, actor=None, **kwargs):
        seen.append((user.pk, reason))

    credentials_changed.connect(receiver, dispatch_uid="test-passwords")
    yield seen
    credentials_changed.disconnect(dispatch_uid="test-passwords")


@pytest.mark.parametrize(
    "password",
    [
        "Passw0rd!",  # the finding
        "elevenchars",  # 11 characters
        "Password2026!",  # a listed password with a year and a symbol
        "P@ssw0rd12345",  # and with digits for letters
        "chickenwing101",  # on the bundled list, not on Django's own
        "qwertyuiop123",
    ],
)
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_the_bundled_list_is_larger_than_djangos():
    DjangoList().validate("chickenwing101")  # Django's default list lets it through
    with pytest.raises(ValidationError):
        validate_password("chickenwing101")


def test_a_long_passphrase_is_accepted():
    validate_password("twelve chars")
    validate_password(NEW_PASSWORD)


def test_change_own_password_on_the_page(client, front_desk_user, changes):
    client.force_login(front_desk_user)
    other = type(client)()
    other.force_login(front_desk_user)

    wrong = client.post(
        "/account/password/",
        {
            "current_password": "not my password",
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 200 and "not your current password" in wrong.content.decode()
    weak = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "new_password": "Passw0rd!", "new_password_again": "Passw0rd!"},
    )
    assert weak.status_code == 200
    front_desk_user.refresh_from_db()
    assert front_desk_user.check_password(PASSWORD)

    done = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert done["Location"] == "/account/security/"
    front_desk_user.refresh_from_db()
    assert front_desk_user.check_password(NEW_PASSWORD)
    assert client.get("/patients/").status_code == 200  # this session stays
    assert other.get("/patients/")["Location"].startswith("/login/")  # the other one ended
    assert (front_desk_user.pk, CredentialChange.PASSWORD_CHANGED) in changes
    assert [m.subject for m in mail.outbox if m.to == [front_desk_user.email]] == [
        "Facial Nerve Clinic: your password was changed"
    ]
    assert AuditEvent.objects.filter(action="auth.password_changed", actor=front_desk_user).exists()


def test_change_own_password_in_the_api(front_desk, front_desk_user, changes):
    bad = front_desk.post(
        "/api/v1/me/password/", {"current_password": PASSWORD, "new_password": "short"}, format="json"
    )
    assert bad.status_code == 400 and "new_password" in bad.json()["fields"]
    ok = front_desk.post(
        "/api/v1/me/password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert ok.status_code == 204
    front_desk_user.refresh_from_db()
    assert front_desk_user.check_password(NEW_PASSWORD)
    assert (front_desk_user.pk, CredentialChange.PASSWORD_CHANGED) in changes


def test_sign_out_everywhere(client, surgeon_user, changes):
    client.force_login(surgeon_user)
    other = type(client)()
    other.force_login(surgeon_user)
    response = client.post("/account/sign-out-everywhere/")
    assert response["Location"] == "/login/"
    assert client.get("/patients/")["Location"].startswith("/login/")
    assert other.get("/patients/")["Location"].startswith("/login/")
    assert (surgeon_user.pk, CredentialChange.SIGN_OUT_EVERYWHERE) in changes
    assert AuditEvent.objects.filter(action="auth.signed_out_everywhere").exists()
