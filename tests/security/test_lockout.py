"""The log-in lockout cannot be turned on others: a username is locked from the address that
failed, never from everywhere, and an address spraying usernames is locked as a whole. Behind
a reverse proxy the address is the client's, not the proxy's (clinic.network)."""

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from clinic.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.security.reverse_proxy import proxied_clinic, web_login  # noqa: F401  (fixture)
from tests.security.test_mfa import _code, _enrolled

pytestmark = pytest.mark.django_db

LIMIT = 5
PROXY = "10.1.0.1"
ATTACKER = "198.51.100.66"
STAFF = "203.0.113.9"


@pytest.fixture(autouse=True)
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]


def _login(client, username, password, ip):
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ip
    )


def _token(api, username, password, ip):
    return api.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=ip,
    )


def test_made_up_usernames_from_one_address_do_not_lock_out_staff_elsewhere(client, front_desk_user):
    for n in range(LIMIT):
        _login(client, f"made-up-{n}", "wrong-password", ATTACKER)
    assert _login(client, "front_desk", PASSWORD, STAFF).status_code == 302


def test_failures_on_a_real_username_lock_it_only_where_they_came_from(client, front_desk_user):
    for _ in range(LIMIT):
        _login(client, "front_desk", "wrong-password", ATTACKER)
    assert _login(client, "front_desk", PASSWORD, ATTACKER).status_code == 429
    assert _login(client, "front_desk", PASSWORD, STAFF).status_code == 302


def test_the_token_endpoint_is_not_locked_by_another_address(anon_api, front_desk_user):
    for n in range(LIMIT):
        _token(anon_api, f"made-up-{n}", "wrong", ATTACKER)
    for _ in range(LIMIT):
        _token(anon_api, "front_desk", "wrong", ATTACKER)
    assert _token(anon_api, "front_desk", PASSWORD, ATTACKER).status_code == 429
    response = _token(anon_api, "front_desk", PASSWORD, STAFF)
    assert response.status_code == 200, response.json()
    assert response.json()["token"]


def test_an_address_spraying_made_up_usernames_is_locked(client, front_desk_user):
    for n in range(LIMIT):
        _login(client, f"made-up-{n}", "wrong-password", ATTACKER)
    assert _login(client, "front_desk", PASSWORD, ATTACKER).status_code == 429
    assert _login(client, "made-up-new", "wrong-password", ATTACKER).status_code == 429


def test_an_address_spraying_real_usernames_is_locked(client, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3 * (LIMIT - 1)
    users = [UserFactory(username=f"staff-{n}", roles=["front_desk"]) for n in range(4)]
    # Under the per-username limit for each, but over the address's limit in all.
    for user in users[:3]:
        for _ in range(LIMIT - 1):
            _login(client, user.username, "wrong-password", ATTACKER)
    assert _login(client, users[3].username, PASSWORD, ATTACKER).status_code == 429
    assert _login(client, users[3].username, PASSWORD, STAFF).status_code == 302


def test_a_few_mistyped_usernames_do_not_lock_an_address(client, front_desk_user):
    for n in range(LIMIT - 1):
        _login(client, f"front-desk-typo-{n}", "wrong-password", STAFF)
    assert _login(client, "front_desk", PASSWORD, STAFF).status_code == 302


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_through_nginx_one_client_failing_does_not_lock_out_another(proxied_clinic):  # noqa: F811
    """Finding 2 as it was found: nginx in front of gunicorn, every connection from the proxy's
    address. Five failed log-ins with made-up usernames from one client lock that client out,
    not staff logging in from another client, on the web login and the API token endpoint;
    the audit trail records each client's own address, never the proxy's."""
    UserFactory(username="real-staff", roles=["front_desk"])
    base = proxied_clinic.base
    attacker, staff = proxied_clinic.http("127.0.0.2"), proxied_clinic.http("127.0.0.3")
    for n in range(LIMIT):
        web_login(attacker, base, f"made-up-{n}", "wrong-password")
    assert web_login(attacker, base, "real-staff", PASSWORD).status_code == 429

    assert web_login(staff, base, "real-staff", PASSWORD).status_code == 302
    response = staff.post(
        f"{base}/api/v1/auth/token/", json={"username": "real-staff", "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["token"]

    failures = AuditEvent.objects.filter(action="auth.login_failed")
    assert failures.count() == LIMIT + 1  # the attempt refused by the lockout counts too
    assert {str(ip) for ip in failures.values_list("ip", flat=True)} == {"127.0.0.2"}
    assert {str(e.ip) for e in AuditEvent.objects.filter(action="auth.login")} == {"127.0.0.3"}
    assert {str(e.ip) for e in AuditEvent.objects.filter(action="auth.token_issued")} == {"127.0.0.3"}
    assert not AuditEvent.objects.filter(ip="127.0.0.1").exists()

    # A client reaching gunicorn directly, not through a trusted proxy, cannot claim another
    # address with X-Forwarded-For: the header is ignored.
    with proxied_clinic.http("127.0.0.5") as direct:
        direct.post(
            f"{proxied_clinic.upstream}/api/v1/auth/token/",
            json={"username": "spoofer", "password": "wrong"},
            headers={"X-Forwarded-For": "127.0.0.3"},
            timeout=30,
        )
    spoofed = AuditEvent.objects.get(action="auth.login_failed", changes__username="spoofer")
    assert str(spoofed.ip) == "127.0.0.5"

    for name, process_log in proxied_clinic.logs().items():
        assert "Traceback" not in process_log, name


def test_guesses_from_another_address_do_not_stop_a_log_in_at_its_code_step(client, settings):
    """A user between password and code is not refused because someone elsewhere is guessing
    their password (the code step checks the lockout of the user's own address)."""
    settings.REQUIRE_MFA = True
    user = UserFactory(username="surgeon-mfa", roles=["surgeon"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _enrolled(user, clock)
        assert _login(client, "surgeon-mfa", PASSWORD, STAFF).status_code == 302
        attacker = Client()
        for _ in range(LIMIT):
            _login(attacker, "surgeon-mfa", "wrong-password", ATTACKER)
        response = client.post(
            "/account/verify/", {"code": _code(user)}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=STAFF
        )
    assert response.status_code == 302, response.content[:500]
    assert client.session["_auth_user_id"] == str(user.pk)
