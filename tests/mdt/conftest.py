from datetime import timedelta

import pytest
from django.utils import timezone

from mdt import services
from tests.factories import PatientFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture
def meeting(surgeon_user):
    return services.meeting_create(actor=surgeon_user, date=timezone.localdate() + timedelta(days=7))
