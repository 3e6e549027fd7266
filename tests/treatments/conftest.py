from datetime import datetime

import pytest
import time_machine
from django.utils import timezone

from tests.factories import AppointmentTypeFactory, PatientFactory

# Midday in the clinic: "an hour ago" and "50 days ago" fall on the dates a reader expects,
# whatever time the suite runs.
CLINIC_NOON = datetime(2027, 3, 15, 12, 0, tzinfo=timezone.get_default_timezone())


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The persona fixtures create several users per test; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clinic_clock():
    with time_machine.travel(CLINIC_NOON, tick=True):
        yield


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture
def recall_types(db):
    """The appointment types recalls are opened for (the scheduling demo creates these)."""
    return {
        "toxin": AppointmentTypeFactory(code="toxin", name="Toxin session", room_kind="procedure"),
        "post_op": AppointmentTypeFactory(
            code="post_op", name="Post-operative review", room_kind="consultation"
        ),
    }
