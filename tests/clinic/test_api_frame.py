"""The API frame: token auth, anonymous access, the one error format, schema and docs."""

import pytest
from rest_framework.test import APIClient

from clinic.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_is_issued_for_valid_credentials_and_authenticates(front_desk_user):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "front_desk", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "front_desk"
    assert me.json()["roles"] == ["front_desk"]


def test_wrong_password_gets_400_in_the_error_format(front_desk_user):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "front_desk", "password": "nope-nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_credentials",
        "detail": "Unable to log in with the given username and password.",
        "fields": {},
    }
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1


def test_token_request_missing_fields_names_each_field():
    response = APIClient().post("/api/v1/auth/token/", {"username": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"username", "password"}


def test_anonymous_api_request_gets_401_with_challenge(anon_api):
    response = anon_api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


def test_bad_token_gets_401(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anon_api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_user_without_a_role_gets_403(db):
    from tests.factories import UserFactory

    client = APIClient()
    client.force_authenticate(UserFactory(username="norole"))
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_role_permission_per_endpoint(front_desk, manager):
    assert front_desk.get("/api/v1/audit-events/").status_code == 403
    assert manager.get("/api/v1/audit-events/").status_code == 200


def test_unknown_route_is_404_json(front_desk):
    response = front_desk.get("/api/v1/audit-events/999999999/")
    assert response.status_code in (403, 404)


def test_audit_list_is_paginated_with_a_size_cap(manager):
    response = manager.get("/api/v1/audit-events/?page_size=100000")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}


def test_ordering_on_a_field_not_allow_listed_is_ignored(manager, manager_user):
    from clinic.audit import audit_record

    # Later events carry smaller "changes": sorting by them would reverse the list.
    for n in (3, 2, 1):
        audit_record(actor=manager_user, action="test.ordering", changes={"n": n})
    baseline = [e["id"] for e in manager.get("/api/v1/audit-events/?action=test.ordering").json()["results"]]
    response = manager.get("/api/v1/audit-events/?action=test.ordering&ordering=changes")
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["results"]] == baseline
    assert len(baseline) == 3


def test_schema_and_docs_render(front_desk_user, client):
    client.force_login(front_desk_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # Assets are served locally, never from a CDN.
    assert b"cdn." not in docs.content
