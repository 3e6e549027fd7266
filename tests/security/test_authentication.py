"""Lockout after repeated failures, password rules, session lifetimes, and the audit trail."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.models import AuditEvent
from tests.factories import PASSWORD

LIMIT = 5


def _fail_login(client, username, ip="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": "wrong-password"}, REMOTE_ADDR=ip)


def _fail_token(api, username, ip="10.0.0.1"):
    return api.post("/api/v1/auth/token/", {"username": username, "password": "wrong"}, REMOTE_ADDR=ip)


def test_login_page_locks_the_username_after_repeated_failures(client, front_desk_user):
    for _ in range(LIMIT):
        _fail_login(client, "front_desk", ip="10.0.0.1")
    response = client.post(
        "/login/", {"username": "front_desk", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # From that address only (tests/security/test_lockout.py).


def test_login_page_locks_the_address_after_failures_on_many_usernames(client, front_desk_user):
    for n in range(LIMIT):
        _fail_login(client, f"guess{n}", ip="10.0.0.7")
    response = client.post(
        "/login/", {"username": "front_desk", "password": PASSWORD}, REMOTE_ADDR="10.0.0.7"
    )
    assert response.status_code == 429


def test_a_success_before_the_limit_resets_the_count(client, front_desk_user):
    for _ in range(LIMIT - 1):
        _fail_login(client, "front_desk")
    assert (
        client.post(
            "/login/", {"username": "front_desk", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
        ).status_code
        == 302
    )
    client.logout()
    assert _fail_login(client, "front_desk").status_code == 200


def test_token_endpoint_locks_out_too(anon_api, front_desk_user):
    assert _fail_token(anon_api, "front_desk").status_code == 400
    for _ in range(LIMIT - 1):
        _fail_token(anon_api, "front_desk")
    response = anon_api.post(
        "/api/v1/auth/token/", {"username": "front_desk", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert "token" not in response.json()


def test_lockout_ends_after_the_cool_off(client, front_desk_user):
    for _ in range(LIMIT):
        _fail_login(client, "front_desk")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = client.post(
            "/login/", {"username": "front_desk", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
        )
    assert response.status_code == 302


def test_failures_and_the_lockout_are_audited(client, front_desk_user):
    for _ in range(LIMIT):
        _fail_login(client, "front_desk")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions.count("auth.login_failed") == LIMIT
    locked = AuditEvent.objects.get(action="auth.locked_out")
    assert locked.changes["username"] == "front_desk"


@pytest.mark.parametrize(
    "password,ok",
    [
        ("short1!", False),  # under 12 (tests/security/test_passwords.py: the 12-character rule)
        ("correct horse battery staple " * 2, True),  # 58 characters of passphrase
        ("x7Gq" * 16, True),  # 64 characters: must be allowed
        ("x7Gq" * 33, False),  # 132 characters: over the hashing bound
        ("password123", False),  # a common password
        ("826401937512", True),  # digits only: composition rules are not imposed
    ],
)
def test_password_rules(password, ok):
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def _logged_in(client):
    response = client.post("/login/", {"username": "front_desk", "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_session_ends_after_idle_timeout(client, front_desk_user, settings):
    settings.SESSION_IDLE_TIMEOUT = 30 * 60
    settings.SESSION_ABSOLUTE_TIMEOUT = 12 * 60 * 60
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _logged_in(client)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/patients/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert client.get("/patients/").status_code == 200  # activity at 0:29 kept it alive
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert AuditEvent.objects.filter(action="auth.logout").count() == 1


def test_session_ends_at_the_absolute_lifetime_even_when_active(client, front_desk_user, settings):
    settings.SESSION_IDLE_TIMEOUT = 30 * 60
    settings.SESSION_ABSOLUTE_TIMEOUT = 12 * 60 * 60
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _logged_in(client)
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/api/v1/me/").status_code == 200
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
