"""The client's real address (clinic.network.client_ip): believed from X-Forwarded-For only
when the connection comes from a trusted proxy, and used by the audit trail, the lockout and
the API's rate limits alike."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from rest_framework.request import Request

from clinic.api.throttling import AnonRateThrottle
from clinic.models import AuditEvent
from clinic.network import client_ip
from tests.factories import PASSWORD

PROXY = "10.1.0.1"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [f"{PROXY}/32"]


def _ip(remote, forwarded=None, **meta):
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **meta))


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert _ip(PROXY, "203.0.113.9") == PROXY


def test_a_trusted_proxy_gives_the_address_it_saw(behind_proxy):
    assert _ip(PROXY, "203.0.113.9") == "203.0.113.9"
    # nginx's $proxy_add_x_forwarded_for appends to what the client sent: only the right-most
    # entry was written by the proxy.
    assert _ip(PROXY, "198.51.100.66, 203.0.113.9") == "203.0.113.9"


def test_behind_several_proxies_the_chain_is_read_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["10.1.0.0/16", "192.0.2.10"]
    assert _ip("10.1.0.1", "198.51.100.66, 203.0.113.9, 192.0.2.10, 10.1.3.4") == "203.0.113.9"
    # A chain of nothing but proxies: the left-most one they name.
    assert _ip("10.1.0.1", "10.1.9.9, 192.0.2.10") == "10.1.9.9"


def test_a_trusted_proxy_without_a_usable_header_is_the_client(behind_proxy):
    assert _ip(PROXY) == PROXY
    assert _ip(PROXY, "not-an-address") == PROXY


def test_ipv4_mapped_and_ipv6_addresses(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "::1"]
    assert _ip("::ffff:127.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert _ip("::1", "2001:db8::7") == "2001:db8::7"


def test_a_misspelt_trusted_proxy_fails_loudly(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/33"]
    with pytest.raises(ImproperlyConfigured):
        _ip("10.0.0.1", "203.0.113.9")


@pytest.mark.django_db
def test_audit_rows_record_the_client_behind_the_proxy_not_the_proxy(client, front_desk_user, behind_proxy):
    client.post(
        "/login/",
        {"username": "nobody", "password": "wrong-password"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    client.post(
        "/login/",
        {"username": "front_desk", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    login = AuditEvent.objects.get(action="auth.login")
    failure = AuditEvent.objects.get(action="auth.login_failed")
    assert str(login.ip) == "203.0.113.9"
    assert str(failure.ip) == "198.51.100.7"


@pytest.mark.django_db
def test_a_direct_client_cannot_spoof_its_address(client, front_desk_user, behind_proxy):
    """X-Forwarded-For from a client that is not a trusted proxy is ignored: the audit row has
    its real address, and rotating the header does not escape the address's lockout."""
    for n in range(5):
        client.post(
            "/login/",
            {"username": f"made-up-{n}", "password": "wrong-password"},
            REMOTE_ADDR="192.0.2.44",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}",
        )
    assert {str(ip) for ip in AuditEvent.objects.values_list("ip", flat=True)} == {"192.0.2.44"}
    response = client.post(
        "/login/",
        {"username": "front_desk", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.44",
        HTTP_X_FORWARDED_FOR="203.0.113.200",
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_the_token_endpoint_audits_the_client_address(anon_api, front_desk_user, behind_proxy):
    response = anon_api.post(
        "/api/v1/auth/token/",
        {"username": "front_desk", "password": "wrong"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.10",
    )
    assert response.status_code == 400
    assert str(AuditEvent.objects.get(action="auth.login_failed").ip) == "203.0.113.10"


def test_api_rate_limits_key_on_the_client_address(behind_proxy):
    throttle = AnonRateThrottle()

    def ident(remote, forwarded):
        django_request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
        return throttle.get_ident(Request(django_request))

    assert ident(PROXY, "203.0.113.9") == "203.0.113.9"
    # DRF's own get_ident would take the spoofed header here and give each guess its own bucket.
    assert ident("192.0.2.44", "203.0.113.9") == "192.0.2.44"


def test_the_system_check_refuses_a_misspelt_trusted_proxy(settings):
    from clinic.checks import trusted_proxies

    settings.TRUSTED_PROXIES = ["10.0.0.300"]
    assert [m.id for m in trusted_proxies(None)] == ["clinic.E020"]
    settings.TRUSTED_PROXIES = ["10.0.0.3", "fd00::/8"]
    assert trusted_proxies(None) == []


def test_the_system_check_warns_behind_a_proxy_with_no_trusted_proxies(settings):
    from clinic.checks import trusted_proxies

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = []
    assert [m.id for m in trusted_proxies(None)] == ["clinic.W020"]
