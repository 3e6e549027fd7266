"""Factories for the patients app's own models (PatientFactory lives in tests/factories.py)."""

import factory

from patients.models import MessagingConsent
from tests.factories import PatientFactory


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessagingConsent

    patient = factory.SubFactory(PatientFactory)
    channel = MessagingConsent.Channel.SMS
    purpose = MessagingConsent.Purpose.APPOINTMENT_REMINDERS
    granted = True
    address = factory.LazyAttribute(
        lambda c: str(c.patient.mobile) if c.channel == "sms" else c.patient.email
    )
    method = MessagingConsent.Method.WRITTEN


def valid_patient_data(**overrides) -> dict:
    """A registration body that passes every validator (the factory's drama-range numbers do not)."""
    data = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1975-12-10",
        "sex": "female",
        "email": "ada.lovelace@example.com",
        "mobile": "07700 100123",
        "city": "London",
        "postcode": "NW1 1AA",
    }
    data.update(overrides)
    return data
