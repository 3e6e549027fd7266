"""The Django admin is for superusers only, and nobody is ever sent round in circles."""

import pytest

from clinic.views import ADMIN_REFUSED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("is_staff", [False, True])
def test_a_manager_is_sent_home_with_a_message_not_round_a_loop(client, manager_user, is_staff):
    manager_user.is_staff = is_staff
    manager_user.save()
    client.force_login(manager_user)

    response = client.get("/admin/", follow=True)

    assert response.status_code == 200
    urls = [url for url, _ in response.redirect_chain]
    assert len(urls) <= 4, urls
    assert not any(url.startswith(("/admin/", "/login/")) for url in urls[1:]), urls
    assert ADMIN_REFUSED in [str(m) for m in response.context["messages"]]
    assert response.request["PATH_INFO"] == "/clinic/audit/"  # the manager's home


def test_a_staff_flag_does_not_open_the_admin_to_a_non_superuser(client, manager_user):
    manager_user.is_staff = True
    manager_user.save()
    client.force_login(manager_user)

    assert client.get("/admin/scheduling/room/")["Location"].startswith("/admin/login/")


def test_a_superuser_uses_the_admin(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)

    assert client.get("/admin/").status_code == 200


def test_someone_not_logged_in_goes_to_the_clinic_login_and_back(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    followed = client.get(response["Location"])
    assert followed["Location"] == "/login/?next=/admin/"
