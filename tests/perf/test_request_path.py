"""What every request pays before its view (docs/performance.md, "The request path").

A token-authenticated API call reads no session, no two-factor device and no message storage;
the benchmark's one-lookup baseline makes exactly its one query; and the cheaper CSP and
messages middleware send the same headers and keep the same messages as django-csp's and
Django's."""

import importlib
import re

import pytest
from csp.utils import build_policy
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches, resolve

from clinic.tokens.services import api_token_issue
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _tables(queries) -> set[str]:
    return {table for q in queries for table in re.findall(r'(?:FROM|INTO|UPDATE) "(\w+)"', q["sql"])}


def test_token_api_detail_reads_no_session_device_or_messages(surgeon_user):
    patient = PatientFactory()
    _, key = api_token_issue(user=surgeon_user, label="request path")
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    client.get(f"/api/v1/patients/{patient.pk}/")  # the token's last use is written once a minute
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 200
    # The token (with its user), the user's permissions, the patient, the audit row: no more.
    assert len(queries) == 4, [q["sql"][:120] for q in queries]
    tables = _tables(queries.captured_queries)
    assert {"clinic_apitoken", "patients_patient", "clinic_auditevent"} <= tables
    assert not {t for t in tables if t.startswith(("django_session", "otp_"))}
    assert "sessionid" not in response.cookies and "messages" not in response.cookies


def test_one_lookup_baseline_makes_one_query(settings):
    import clinic.urls

    patient = PatientFactory()
    settings.BENCHMARK_ENDPOINTS = True
    importlib.reload(clinic.urls)
    clear_url_caches()
    try:
        client = Client()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/bench/baseline/pk/{patient.pk}/")
        assert response.status_code == 200
        assert len(queries) == 1
    finally:
        settings.BENCHMARK_ENDPOINTS = False
        importlib.reload(clinic.urls)
        clear_url_caches()


def test_api_routes_resolve_first():
    # The API's include is tried before every page's (each miss costs an exception).
    import clinic.urls

    assert str(clinic.urls.urlpatterns[0].pattern) == "api/v1/"
    assert resolve("/api/v1/patients/1/").view_name == "api:patient-detail"
    assert resolve("/").url_name == "home"


def test_csp_header_is_django_csps(client, settings):
    response = client.get("/login/")
    assert response["Content-Security-Policy"] == build_policy()
    assert "Content-Security-Policy-Report-Only" not in response
    # A change of the settings (tests do it) is seen by the next response, not a stale copy.
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert client.get("/login/")["Content-Security-Policy"] == "default-src 'none'"
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'self'"]}}
    response = client.get("/login/")
    assert response["Content-Security-Policy-Report-Only"] == build_policy(report_only=True)
    assert "img-src 'self'" in response["Content-Security-Policy-Report-Only"]


def test_csp_nonce_still_reaches_the_header(client):
    from clinic.middleware import CSPMiddleware

    request = RequestFactory().get("/")
    middleware = CSPMiddleware(lambda r: HttpResponse(f"<script nonce='{r.csp_nonce}'></script>"))
    response = middleware(request)
    nonce = re.search(r"nonce='([^']+)'", response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    # Asked for only after the header was written: an error, as with django-csp.
    plain = RequestFactory().get("/")
    CSPMiddleware(lambda r: HttpResponse("ok"))(plain)
    with pytest.raises(Exception, match="csp_nonce"):
        str(plain.csp_nonce)


def _with_session(request):
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    return request
