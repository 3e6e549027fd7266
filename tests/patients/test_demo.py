"""The demo register: realistic, varied, and idempotent."""

import io

import pytest

from devtools.demo import patients as demo
from patients.models import MessagingConsent, Patient
from patients.selectors import consent_current, patient_search
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_seed_builds_a_varied_register_once():
    staff = {"frontdesk": UserFactory(username="frontdesk", roles=["front_desk"])}
    demo.seed(staff=staff, stdout=io.StringIO())
    patients = Patient.objects.count()
    consents = MessagingConsent.objects.count()

    out = io.StringIO()
    demo.seed(staff=staff, stdout=out)

    assert patients == demo.COUNT
    assert (Patient.objects.count(), MessagingConsent.objects.count()) == (patients, consents)
    assert "0 created" in out.getvalue()
    assert [str(p.first_name) for p in patient_search(query="jon smyth")][:1] == ["John"]
    assert Patient.objects.filter(on_anticoagulants=True).exists()
    assert set(Patient.objects.values_list("affected_side", flat=True)) == {"left", "right", "bilateral"}
    assert len(set(Patient.objects.values_list("palsy_cause", flat=True))) >= 4
    opted_out = [
        p
        for p in Patient.objects.all()
        if MessagingConsent.objects.filter(patient=p, channel="sms", granted=False)
    ]
    assert 2 <= len(opted_out) < 10
    assert not consent_current(patient=opted_out[0], channel="sms", purpose="appointment_reminders")
    with_consent = [
        p for p in Patient.objects.all() if consent_current(patient=p, channel="email", purpose="recalls")
    ]
    assert len(with_consent) > demo.COUNT // 2
