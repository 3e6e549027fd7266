"""Persona fixtures: one logged-in client per role, for pages and for the API."""

import pytest
from rest_framework.test import APIClient

from clinic.roles import Role, sync_roles
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _roles(db):
    sync_roles()


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path_factory):
    """Private files (signed consent PDFs, photographs and videos) go to directories of the test
    run, never var/."""
    root = tmp_path_factory.mktemp("private")
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "base_url": None},
        },
        "photos": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path_factory.getbasetemp() / "photos-storage")},
        },
    }
    return root


def _user(role: str, username: str | None = None):
    return UserFactory(username=username or role, roles=[role])


@pytest.fixture
def front_desk_user(db):
    return _user(Role.FRONT_DESK)


@pytest.fixture
def surgeon_user(db):
    return _user(Role.SURGEON)


@pytest.fixture
def injector_user(db):
    return _user(Role.INJECTOR)


@pytest.fixture
def therapist_user(db):
    return _user(Role.THERAPIST)


@pytest.fixture
def manager_user(db):
    return _user(Role.MANAGER)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def anon_api():
    return APIClient()


@pytest.fixture
def front_desk(front_desk_user):
    return _api(front_desk_user)


@pytest.fixture
def surgeon(surgeon_user):
    return _api(surgeon_user)


@pytest.fixture
def injector(injector_user):
    return _api(injector_user)


@pytest.fixture
def therapist(therapist_user):
    return _api(therapist_user)


@pytest.fixture
def manager(manager_user):
    return _api(manager_user)


@pytest.fixture
def login_as(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
