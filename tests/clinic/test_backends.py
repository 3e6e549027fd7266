"""clinic.backends.ModelBackend: the same permissions as Django's model backend, in one query."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.backends import ModelBackend
from clinic.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as a new request loads it: no permission caches."""
    return get_user_model().objects.get(pk=user.pk)


def perms(backend, user) -> tuple[set[str], int]:
    user = fresh(user)
    with CaptureQueriesContext(connection) as ctx:
        found = backend.get_all_permissions(user)
    return found, len(ctx.captured_queries)


def test_role_and_own_permissions_are_djangos_set_in_one_query():
    user = UserFactory(roles=[Role.FRONT_DESK])
    user.user_permissions.add(Permission.objects.get(codename="record_surgery"))
    ours, queries = perms(ModelBackend(), user)
    djangos, _ = perms(DjangoModelBackend(), user)
    assert ours == djangos
    assert "clinic.record_surgery" in ours and "clinic.book_appointments" in ours
    assert queries == 1


def test_a_permission_held_twice_counts_once_and_none_is_an_empty_set():
    user = UserFactory(roles=[Role.SURGEON])
    held = Permission.objects.filter(group__name=Role.SURGEON).first()
    user.user_permissions.add(held)
    assert perms(ModelBackend(), user)[0] == perms(DjangoModelBackend(), user)[0]
    assert perms(ModelBackend(), UserFactory(roles=[]))[0] == set()


def test_inactive_users_have_none_and_superusers_all():
    inactive = UserFactory(roles=[Role.SURGEON], is_active=False)
    assert perms(ModelBackend(), inactive) == (set(), 0)
    superuser = UserFactory(roles=[], is_superuser=True)
    assert len(perms(ModelBackend(), superuser)[0]) == Permission.objects.count()


def test_checks_on_a_request_read_permissions_once(surgeon_user):
    user = fresh(surgeon_user)
    with CaptureQueriesContext(connection) as ctx:
        assert user.has_perm("clinic.book_appointments")
        assert not user.has_perm("clinic.no_such_capability")
    assert len(ctx.captured_queries) == 1
