"""Lot recall outreach: one audited campaign to every patient who received a lot."""

import pytest

from clinic.models import AuditEvent
from scheduling.models import Message
from tests.factories import PatientFactory
from tests.treatments.factories import ToxinLotFactory, record_toxin

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot_with_recipients(injector_user, recall_types):
    lot = ToxinLotFactory(lot_number="RECALL-1")
    patients = [PatientFactory(), PatientFactory(mobile="")]
    for patient in patients:
        record_toxin(patient, injector_user, lot=lot)
    record_toxin(PatientFactory(), injector_user)  # another lot
    return lot, patients


def _send(client, lot, **data):
    return client.post(
        f"/clinical/lots/{lot.pk}/campaign/",
        {
            "subject": "Please call us",
            "body": "Please call the clinic.",
            "sms": "Please call the clinic.",
            **data,
        },
    )


def test_campaign_messages_every_recipient_of_the_lot(client, injector_user, lot_with_recipients):
    lot, patients = lot_with_recipients
    client.force_login(injector_user)

    response = _send(client, lot)

    assert response.status_code == 302
    messages = Message.objects.filter(kind=Message.Kind.CAMPAIGN)
    assert {m.patient_id for m in messages} == {p.pk for p in patients}
    # Email and SMS for the first patient, email only for the one without a mobile.
    assert messages.count() == 3
    assert all(m.context["body"] == "Please call the clinic." for m in messages)


def test_campaign_is_audited_with_its_patients(client, injector_user, lot_with_recipients):
    lot, patients = lot_with_recipients
    client.force_login(injector_user)

    _send(client, lot)

    event = AuditEvent.objects.get(action="toxin_lot.campaign_sent")
    assert event.actor == injector_user
    assert sorted(event.changes["patients"]) == sorted(p.pk for p in patients)


def test_sending_twice_the_same_day_plans_nothing_new(client, injector_user, lot_with_recipients):
    lot, _ = lot_with_recipients
    client.force_login(injector_user)
    _send(client, lot)

    _send(client, lot)

    assert Message.objects.filter(kind=Message.Kind.CAMPAIGN).count() == 3


def test_empty_text_is_refused(client, injector_user, lot_with_recipients):
    lot, _ = lot_with_recipients
    client.force_login(injector_user)

    _send(client, lot, body="")

    assert not Message.objects.filter(kind=Message.Kind.CAMPAIGN).exists()


def test_manager_without_clinical_access_cannot_send(client, manager_user, lot_with_recipients):
    lot, _ = lot_with_recipients
    client.force_login(manager_user)

    assert _send(client, lot).status_code == 403


def test_lot_page_offers_the_campaign(client, injector_user, lot_with_recipients):
    lot, _ = lot_with_recipients
    client.force_login(injector_user)

    page = client.get(f"/clinical/lots/{lot.pk}/").content.decode()

    assert "Send to 2 patients" in page
