"""Every HTML page carries the strict CSP; everything with patient data is `no-store`."""

import pytest

from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "/clinic/audit/?page=1",
    "/patients/",
    "/patients/new/",
    "/patients/{patient}/",
    "/schedule/",
    "/schedule/week/",
    "/schedule/my-day/",
    "/schedule/arrivals/",
    "/schedule/print/",
    "/schedule/next/",
    "/schedule/book/",
    "/schedule/waitlist/",
    "/clinical/patients/{patient}/",
    "/clinical/drafts/",
    "/clinical/lots/",
    "/recalls/",
    "/recalls/messages/",
    "/clinic/audit/",
    "/api/docs/",
]


@pytest.fixture
def everyone(client):
    user = UserFactory(
        username="everyone", roles=["front_desk", "surgeon", "injector", "therapist", "manager"]
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sets_the_strict_csp_and_no_store(everyone, path):
    patient = PatientFactory()
    response = everyone.get(path.format(patient=patient.pk))
    assert response.status_code == 200, path
    assert response["Content-Type"].startswith("text/html")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["Cache-Control"] == "no-store"


def test_login_page_sets_the_csp(client):
    response = client.get("/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_api_responses_are_no_store(front_desk):
    response = front_desk.get("/api/v1/patients/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_swagger_ui_has_no_inline_script(everyone):
    body = everyone.get("/api/docs/").content.decode()
    assert "<script>" not in body.replace(" ", "")
