import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_renders(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b'autocomplete="current-password"' in response.content


@pytest.mark.parametrize("role", ["front_desk", "surgeon", "injector", "therapist", "manager"])
def test_each_role_lands_on_a_useful_page(client, role, request):
    user = request.getfixturevalue(f"{role}_user")
    client.force_login(user)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain or b"Welcome" in response.content


def test_manager_lands_on_the_audit_trail(client, manager_user):
    client.force_login(manager_user)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/clinic/audit/"


@override_settings(SECURE_SSL_REDIRECT=False)
def test_static_assets_are_served_locally(client, front_desk_user):
    client.force_login(front_desk_user)
    response = client.get("/", follow=True)
    assert b"/static/vendor/htmx" in response.content
    assert b"https://" not in response.content
