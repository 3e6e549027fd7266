"""API tokens (django-rest-knox): a new key per request, stored only as a digest, expiring,
listed and revoked by their owner and by the practice manager, and revoked whenever the owner's
credentials change. ``Authorization: Bearer`` works as well as ``Token``."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import ApiToken, AuditEvent
from clinic.signals import CredentialChange, credentials_changed
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _issue(user, **extra) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD, **extra}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _api(key: str, scheme: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


def _works(key: str) -> bool:
    status = _api(key).get("/api/v1/me/").status_code
    assert status in (200, 401)
    return status == 200


def _token_id(key: str) -> int:
    listed = _api(key).get("/api/v1/auth/tokens/").json()["results"]
    return next(t["id"] for t in listed if t["current"])


# --- issue ------------------------------------------------------------------------------------


def test_each_token_request_issues_a_new_token(surgeon_user):
    first, second = _issue(surgeon_user), _issue(surgeon_user)
    assert first != second
    assert _works(first) and _works(second)
    assert ApiToken.objects.filter(user=surgeon_user).count() == 2
    assert AuditEvent.objects.filter(action="auth.token_issued", target_id=str(surgeon_user.pk)).count() == 2


def test_the_response_names_the_token_and_its_expiry(surgeon_user):
    before = timezone.now()
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": surgeon_user.username, "password": PASSWORD, "label": "nightly export"},
        format="json",
    )
    body = response.json()
    token = ApiToken.objects.get(pk=body["id"])
    assert token.label == "nightly export"
    # A working day by default (API_TOKEN_TTL_HOURS=10).
    assert (
        timedelta(hours=10) - timedelta(seconds=5) <= token.expiry - before <= timedelta(hours=10, seconds=5)
    )
    assert body["expiry"].startswith(timezone.localtime(token.expiry).isoformat()[:16])


def test_the_key_is_stored_only_as_a_digest(surgeon_user):
    key = _issue(surgeon_user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM clinic_apitoken")
        stored = [str(value) for row in cursor.fetchall() for value in row]
    assert stored
    assert not [value for value in stored if key in value]
    assert hashlib.sha512(key.encode()).hexdigest() in stored
    # Only the first characters, for the lookup: never enough to authenticate.
    assert ApiToken.objects.get().token_key == key[:15]
    # DRF's plain-text key table is gone, and knox's own (swapped-out) table never made.
    tables = connection.introspection.table_names()
    assert "authtoken_token" not in tables
    assert "knox_authtoken" not in tables


# --- expiry -----------------------------------------------------------------------------------


def test_a_token_expires_after_the_configured_hours(surgeon_user, settings):
    settings.API_TOKEN_TTL_HOURS = 2
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = _issue(surgeon_user)
        clock.shift(timedelta(hours=2) - timedelta(seconds=1))
        assert _works(key)
        clock.shift(timedelta(seconds=2))
        response = _api(key).get("/api/v1/me/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {
            "code": "token_expired",
            "detail": "The token has expired: request a new one.",
            "fields": {},
        }
        # Expired tokens are gone: the next use is an unknown key.
        assert not ApiToken.objects.filter(user=surgeon_user).exists()
        again = _api(key).get("/api/v1/me/")
        assert again.status_code == 401
        assert again.json()["code"] == "authentication_failed"


def test_use_does_not_extend_a_token_and_is_recorded(surgeon_user):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        key = _issue(surgeon_user)
        token = ApiToken.objects.get()
        assert token.last_used_at is None
        clock.shift(timedelta(hours=3))
        assert _works(key)
        token.refresh_from_db()
        assert token.last_used_at == timezone.now()
        assert token.expiry == token.created + timedelta(hours=10)


# --- Bearer, inactive users -------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Token"])
def test_bearer_is_accepted_as_well_as_token(surgeon_user, scheme):
    key = _issue(surgeon_user)
    response = _api(key, scheme).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == surgeon_user.username


def test_a_wrong_bearer_key_is_refused_in_the_error_format(surgeon_user):
    key = _issue(surgeon_user)
    response = _api(key[:-1] + ("0" if key[-1] != "0" else "1"), "Bearer").get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "detail": "Invalid token.", "fields": {}}


def test_a_deactivated_users_token_fails(surgeon_user):
    key = _issue(surgeon_user)
    surgeon_user.is_active = False
    surgeon_user.save(update_fields=["is_active"])
    response = _api(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_the_schema_declares_token_and_bearer(manager):
    schema = manager.get("/api/schema/", {"format": "json"}).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'An API token from POST /api/v1/auth/token/, sent as "Token <key>".',
    }
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    security = schema["paths"]["/api/v1/me/"]["get"]["security"]
    assert {"tokenAuth": []} in security and {"bearerAuth": []} in security


# --- list and revoke: the owner ---------------------------------------------------------------


def test_the_owner_lists_their_tokens_without_the_keys(surgeon_user, front_desk_user):
    key = _issue(surgeon_user, label="laptop")
    other = _issue(surgeon_user)
    _issue(front_desk_user)
    response = _api(key).get("/api/v1/auth/tokens/")
    assert response.status_code == 200
    assert key not in response.content.decode() and other not in response.content.decode()
    results = response.json()["results"]
    assert len(results) == 2
    assert {t["user"] for t in results} == {surgeon_user.pk}
    mine = next(t for t in results if t["current"])
    assert mine["label"] == "laptop"
    assert mine["prefix"] == key[:6]
    assert set(mine) == {"id", "user", "label", "prefix", "created", "expiry", "last_used_at", "current"}


def test_the_owner_revokes_one_token(surgeon_user):
    keep, revoke = _issue(surgeon_user), _issue(surgeon_user)
    response = _api(keep).delete(f"/api/v1/auth/tokens/{_token_id(revoke)}/")
    assert response.status_code == 204
    assert not _works(revoke)
    assert _works(keep)
    event = AuditEvent.objects.get(action="auth.token_revoked")
    assert event.actor == surgeon_user
    assert event.target_id == str(surgeon_user.pk)


def test_the_owner_revokes_all_their_tokens(surgeon_user, front_desk_user):
    keys = [_issue(surgeon_user) for _ in range(3)]
    someone_else = _issue(front_desk_user)
    response = _api(keys[0]).post("/api/v1/auth/tokens/revoke-all/", {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"revoked": 3}
    assert not any(_works(k) for k in keys)
    assert _works(someone_else)
    assert AuditEvent.objects.get(action="auth.tokens_revoked").changes == {"count": 3, "reason": "revoked"}


def test_the_owner_cannot_revoke_or_see_someone_elses_tokens(surgeon_user, front_desk_user):
    theirs = _issue(surgeon_user)
    mine = _api(_issue(front_desk_user))
    response = mine.delete(f"/api/v1/auth/tokens/{_token_id(theirs)}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    listed = mine.get("/api/v1/auth/tokens/", {"user": surgeon_user.pk})
    assert listed.status_code == 403
    assert listed.json()["code"] == "permission_denied"
    revoke_all = mine.post("/api/v1/auth/tokens/revoke-all/", {"user": surgeon_user.pk}, format="json")
    assert revoke_all.status_code == 403
    assert _works(theirs)
    assert not AuditEvent.objects.filter(action__in=["auth.token_revoked", "auth.tokens_revoked"]).exists()


def test_a_token_id_that_is_not_a_number_is_not_found(surgeon_user):
    response = _api(_issue(surgeon_user)).delete("/api/v1/auth/tokens/abc/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- list and revoke: the practice manager ----------------------------------------------------


def test_the_manager_lists_and_revokes_a_staff_members_tokens(manager, manager_user, surgeon_user):
    first, second, third = (_issue(surgeon_user) for _ in range(3))
    listed = manager.get("/api/v1/auth/tokens/", {"user": surgeon_user.pk})
    assert listed.status_code == 200
    assert {t["prefix"] for t in listed.json()["results"]} == {k[:6] for k in (first, second, third)}

    response = manager.delete(f"/api/v1/auth/tokens/{_token_id(first)}/")
    assert response.status_code == 204
    assert not _works(first)
    assert AuditEvent.objects.get(action="auth.token_revoked").actor == manager_user

    response = manager.post("/api/v1/auth/tokens/revoke-all/", {"user": surgeon_user.pk}, format="json")
    assert response.json() == {"revoked": 2}
    assert not _works(second) and not _works(third)
    event = AuditEvent.objects.get(action="auth.tokens_revoked")
    assert (event.actor, event.target_id) == (manager_user, str(surgeon_user.pk))


def test_the_manager_asking_for_nobody_gets_404(manager):
    response = manager.get("/api/v1/auth/tokens/", {"user": 987654})
    assert response.status_code == 404
    bad = manager.get("/api/v1/auth/tokens/", {"user": "x"})
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"user"}


# --- revoked when credentials change ----------------------------------------------------------


@pytest.mark.parametrize("reason", list(CredentialChange))
def test_every_credential_change_revokes_the_tokens(surgeon_user, front_desk_user, manager_user, reason):
    keys = [_issue(surgeon_user), _issue(surgeon_user)]
    someone_else = _issue(front_desk_user)
    credentials_changed.send(sender=type(surgeon_user), user=surgeon_user, reason=reason, actor=manager_user)
    assert not any(_works(k) for k in keys)
    assert not ApiToken.objects.filter(user=surgeon_user).exists()
    assert _works(someone_else)
    event = AuditEvent.objects.get(action="auth.tokens_revoked")
    assert event.changes == {"count": 2, "reason": reason.value}
    assert event.actor == manager_user


def test_a_plain_web_log_out_leaves_api_tokens_working(client, surgeon_user):
    # Documented choice (clinic/tokens/receivers.py): the session and the tokens are separate
    # credentials; "sign out everywhere" ends both.
    key = _issue(surgeon_user)
    client.force_login(surgeon_user)
    assert client.post("/logout/").status_code == 302
    assert _works(key)


# --- the page ---------------------------------------------------------------------------------


def test_the_page_lists_my_tokens_by_prefix_only(login_as, surgeon_user, front_desk_user):
    key = _issue(surgeon_user, label="reports script")
    theirs = _issue(front_desk_user)
    page = login_as(surgeon_user).get("/account/tokens/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"{key[:6]}…" in html and "reports script" in html
    assert key not in html and theirs[:6] not in html


def test_the_page_revokes_one_and_all(login_as, surgeon_user):
    first, second, third = (_issue(surgeon_user) for _ in range(3))
    client = login_as(surgeon_user)
    response = client.post(f"/account/tokens/{_token_id(first)}/revoke/")
    assert response.status_code == 302
    assert not _works(first) and _works(second)
    # htmx: the table comes back in place, with what was done.
    fragment = client.post("/account/tokens/revoke-all/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="api-tokens">')
    assert "2 tokens revoked." in html and "No API tokens." in html
    assert not _works(second) and not _works(third)


def test_the_page_cannot_revoke_someone_elses_token(login_as, surgeon_user, front_desk_user):
    theirs = _issue(surgeon_user)
    token_id = _token_id(theirs)
    response = login_as(front_desk_user).post(f"/account/tokens/{token_id}/revoke/", follow=True)
    assert "That token no longer works (or is not yours)." in response.content.decode()
    assert _works(theirs)
