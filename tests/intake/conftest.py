"""The scheduling tests' small clinic (rooms, providers with hours, appointment types, frozen
time), and a consultation request helper."""

from datetime import date

import pytest

from intake.services import consultation_request_submit
from tests.scheduling.conftest import _fast_passwords, clinic, frozen  # noqa: F401 (fixtures)

FORM = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "date_of_birth": "1980-04-12",
    "email": "ada@example.org",
    "phone": "+447700100123",
    "problem": "My left eye closes when I smile, since a Bell's palsy last year.",
    "affected_side": "left",
    "duration": "14 months",
    "prior_treatments": "Physiotherapy",
    "consent_to_contact": "on",
}


def submit(**changes):
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": date(1980, 4, 12),
        "email": "ada@example.org",
        "phone": "+447700100123",
        "problem": "Synkinesis after Bell's palsy.",
        "affected_side": "left",
        "duration": "14 months",
        "prior_treatments": "",
        "consent_to_contact": True,
        **changes,
    }
    return consultation_request_submit(data=data, client_address="203.0.113.9")


@pytest.fixture
def new_request(db):
    return submit()
