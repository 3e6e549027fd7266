"""Aftercare advice: sent once when a toxin session or an operation is signed, through the
message pipeline (consent honoured), with the clinic's phone and a link to the advice page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from clinic.configuration import clinic_settings_update
from scheduling.models import Message
from scheduling.reminders import services as reminders
from scheduling.reminders.links import Action, link_url
from tests.factories import AppointmentTypeFactory, PatientFactory
from tests.scheduling.messaging_helpers import grant_all
from treatments.exceptions import RecordSigned
from treatments.models import Encounter
from treatments.services import encounter_sign
from treatments.services.aftercare import aftercare_send

from .factories import record_surgery, record_therapy, record_toxin

pytestmark = pytest.mark.django_db

PHONE = "+44 20 7946 0000"


@pytest.fixture(autouse=True)
def _clinic(db):
    clinic_settings_update(actor=None, data={"clinic_phone": PHONE})
    for code, room in (("toxin", "procedure"), ("post_op", "consultation")):
        AppointmentTypeFactory(code=code, room_kind=room)


def _patient(**kw):
    patient = PatientFactory(email="ada@example.org", mobile="+447700100555", **kw)
    grant_all(patient)
    return patient


def _sign(detail, actor):
    return encounter_sign(encounter=Encounter.objects.get(pk=detail.pk), actor=actor)


def _send_due():
    ids = reminders.messages_claim_due(now=timezone.now() + timedelta(seconds=1))
    return {i: reminders.message_send(message_id=i) for i in ids}


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_signing_a_toxin_session_sends_aftercare_once_with_the_phone(injector_user):
    patient = _patient()
    session = record_toxin(patient, injector_user)
    assert not Message.objects.filter(kind="aftercare").exists()  # a draft sends nothing
    _sign(session, injector_user)
    rows = Message.objects.filter(patient=patient, kind="aftercare")
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "sms"]
    assert {tuple(m.context["topics"]) for m in rows} == {("toxin",)}
    assert set(rows.values_list("purpose", flat=True)) == {"appointment_reminders"}
    statuses = _send_due()
    assert sorted(statuses.values()) == ["sent", "sent"]
    email = Message.objects.get(kind="aftercare", channel="email")
    assert PHONE in email.body and "/p/" in email.body
    assert "eyelid droops" in email.body
    sms = Message.objects.get(kind="aftercare", channel="sms")
    assert PHONE in sms.body and "/p/" in sms.body
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Aftercare advice after your visit"
    # Once: planning again (a retry) and signing again add nothing.
    assert aftercare_send(encounter=Encounter.objects.get(pk=session.pk)) == 0
    with pytest.raises(RecordSigned):
        _sign(session, injector_user)
    assert Message.objects.filter(kind="aftercare").count() == 2


def test_without_consent_the_message_is_skipped_with_its_reason(injector_user):
    patient = PatientFactory(email="bo@example.org")  # no consent recorded
    _sign(record_toxin(patient, injector_user), injector_user)
    assert set(_send_due().values()) == {"skipped"}
    assert set(
        Message.objects.filter(kind="aftercare", patient=patient).values_list("reason_code", flat=True)
    ) == {"no_consent"}
    assert not mail.outbox


def test_the_clinic_can_switch_aftercare_off(injector_user):
    clinic_settings_update(actor=None, data={"aftercare_messages": False})
    patient = _patient()
    _sign(record_toxin(patient, injector_user), injector_user)
    assert not Message.objects.filter(kind="aftercare").exists()


def test_a_therapy_visit_sends_no_aftercare(therapist_user):
    patient = _patient()
    _sign(record_therapy(patient, therapist_user), therapist_user)
    assert not Message.objects.filter(kind="aftercare").exists()


def test_an_operation_sends_advice_for_each_procedure_and_the_page_shows_them(client, surgeon_user):
    patient = _patient()
    surgery = record_surgery(
        patient,
        surgeon_user,
        procedures=[
            {"kind": "dao_excision"},
            {"kind": "upper_eyelid", "gold_weight_grams": Decimal("1.2"), "implant_lot": "GW-1"},
        ],
    )
    _sign(surgery, surgeon_user)
    message = Message.objects.get(kind="aftercare", channel="email")
    assert message.context["topics"] == ["dao_excision", "upper_eyelid"]
    _send_due()
    message.refresh_from_db()
    assert "temperature of 38" in message.body
    page = client.get(_path(link_url(patient_id=patient.pk, action=Action.AFTERCARE, target=message.pk)))
    assert page.status_code == 200
    text = page.content.decode()
    assert "After your lower lip muscle operation" in text
    assert "After your upper eyelid operation" in text
    assert PHONE in text
    assert 'name="viewport"' in text


def test_the_page_is_the_patients_only(client, injector_user):
    patient, other = _patient(), PatientFactory()
    _sign(record_toxin(patient, injector_user), injector_user)
    message = Message.objects.filter(kind="aftercare").first()
    mine = client.get(_path(link_url(patient_id=patient.pk, action=Action.AFTERCARE, target=message.pk)))
    assert mine.status_code == 200 and b"After your toxin injections" in mine.content
    theirs = client.get(_path(link_url(patient_id=other.pk, action=Action.AFTERCARE, target=message.pk)))
    assert theirs.status_code == 400
    tampered = client.get(
        _path(link_url(patient_id=patient.pk, action=Action.AFTERCARE, target=message.pk))[:-3] + "xx/"
    )
    assert tampered.status_code == 400


def test_a_french_speaking_patient_gets_the_french_message(injector_user):
    patient = _patient(language="fr")
    _sign(record_toxin(patient, injector_user), injector_user)
    _send_due()
    email = Message.objects.get(kind="aftercare", channel="email")
    assert email.subject == "Conseils après votre visite"
    assert PHONE in email.body


def test_signing_through_the_api_sends_it(injector, injector_user):
    patient = _patient()
    session = record_toxin(patient, injector_user)
    response = injector.post(f"/api/v1/toxin-sessions/{session.pk}/sign/", format="json")
    assert response.status_code == 200, response.content
    assert Message.objects.filter(kind="aftercare", patient=patient).count() == 2
