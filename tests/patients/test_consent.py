"""Messaging consent: the newest decision counts, for the number or address it was given for."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db.models import Value

from clinic.models import AuditEvent
from patients.exceptions import NoAddress, PatientInactive
from patients.models import MessagingConsent, Patient
from patients.selectors import consent_applies, consent_current, consent_newest, consent_overview
from patients.services import consent_opt_out, consent_record, patient_update
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

SMS, RECALLS = "sms", "recalls"


def _record(patient, granted=True, *, channel=SMS, purpose=RECALLS, method="written", actor=None, **kw):
    return consent_record(
        patient=patient, channel=channel, purpose=purpose, granted=granted, method=method, actor=actor, **kw
    )


def test_no_decision_means_no_consent():
    assert not consent_current(patient=PatientFactory(), channel=SMS, purpose=RECALLS)


def test_a_grant_applies_to_its_channel_and_purpose_only(front_desk_user):
    patient = PatientFactory(mobile="+447700100123")
    _record(patient, actor=front_desk_user)
    assert consent_current(patient=patient, channel=SMS, purpose=RECALLS)
    assert not consent_current(patient=patient, channel=SMS, purpose="questionnaires")
    assert not consent_current(patient=patient, channel="email", purpose=RECALLS)


def test_the_grant_records_the_current_number_and_who_took_it(front_desk_user):
    patient = PatientFactory(mobile="+447700100123")
    row = _record(patient, actor=front_desk_user, method="verbal")
    assert (row.address, row.recorded_by, row.method) == ("+447700100123", front_desk_user, "verbal")
    event = AuditEvent.objects.get(action="consent.granted")
    assert event.patient_id == patient.pk
    assert event.changes == {"channel": SMS, "purpose": RECALLS, "method": "verbal"}


def test_a_withdrawal_takes_effect_at_once():
    patient = PatientFactory(mobile="+447700100123")
    with time_machine.travel(datetime(2026, 1, 1, 9, tzinfo=UTC)):
        _record(patient)
    with time_machine.travel(datetime(2026, 2, 1, 9, tzinfo=UTC)):
        _record(patient, granted=False, method="sms_reply")
        assert not consent_current(patient=patient, channel=SMS, purpose=RECALLS)


def test_a_later_grant_overrides_an_earlier_withdrawal():
    patient = PatientFactory(mobile="+447700100123")
    now = datetime(2026, 1, 1, 9, tzinfo=UTC)
    _record(patient, granted=False, recorded_at=now - timedelta(days=30))
    _record(patient, recorded_at=now - timedelta(days=1))
    assert consent_current(patient=patient, channel=SMS, purpose=RECALLS)


def test_a_changed_number_needs_new_consent(front_desk_user):
    patient = PatientFactory(mobile="+447700100123")
    _record(patient)
    patient = patient_update(patient=patient, data={"mobile": "+447700100999"}, actor=front_desk_user)
    assert not consent_current(patient=patient, channel=SMS, purpose=RECALLS)
    _record(patient)
    assert consent_current(patient=patient, channel=SMS, purpose=RECALLS)


def test_a_changed_email_needs_new_consent(front_desk_user):
    patient = PatientFactory(email="ada@example.com")
    _record(patient, channel="email")
    patient = patient_update(patient=patient, data={"email": "ada@example.org"}, actor=front_desk_user)
    assert not consent_current(patient=patient, channel="email", purpose=RECALLS)


def test_an_inactive_patient_gets_no_messages():
    patient = PatientFactory(mobile="+447700100123")
    _record(patient)
    patient.status, patient.inactive_reason = "inactive", "deceased"
    assert not consent_current(patient=patient, channel=SMS, purpose=RECALLS)


def test_a_grant_needs_an_address_on_file():
    patient = PatientFactory(mobile="")
    with pytest.raises(NoAddress):
        _record(patient)
    _record(patient, granted=False)  # an opt-out is always recorded
    assert MessagingConsent.objects.count() == 1


def test_consent_cannot_be_given_on_an_inactive_record():
    patient = PatientFactory(status="inactive", inactive_reason="moved_away")
    with pytest.raises(PatientInactive):
        _record(patient)


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("channel", {"channel": "fax"}),
        ("purpose", {"purpose": "marketing"}),
        ("method", {"method": "merge"}),
        ("note", {"note": "x" * 201}),
        ("note", {"note": "bad\x00"}),
        ("address", {"address": "12"}),
        ("recorded_at", {"recorded_at": datetime(2999, 1, 1, tzinfo=UTC)}),
    ],
)
def test_bad_consent_input_is_refused_per_field(field, kw):
    patient = PatientFactory(mobile="+447700100123")
    with pytest.raises(ValidationError) as caught:
        _record(patient, **kw)
    assert field in caught.value.message_dict
    assert not MessagingConsent.objects.exists()


def test_stop_from_a_shared_number_opts_out_everyone_on_it():
    mother = PatientFactory(mobile="+447700100123")
    child = PatientFactory(mobile="+447700100123")
    stranger = PatientFactory(mobile="+447700100999")
    for patient in (mother, child, stranger):
        _record(patient)
    rows = consent_opt_out(channel=SMS, address="07700 100123", method="sms_reply", note="STOP")
    assert len(rows) == 2 * len(MessagingConsent.Purpose.values)
    assert not consent_current(patient=mother, channel=SMS, purpose=RECALLS)
    assert not consent_current(patient=child, channel=SMS, purpose=RECALLS)
    assert consent_current(patient=stranger, channel=SMS, purpose=RECALLS)


def test_overview_explains_each_state(front_desk_user):
    patient = PatientFactory(mobile="+447700100123", email="")
    _record(patient, purpose="appointment_reminders")
    _record(patient, purpose="recalls", granted=False)
    _record(patient, purpose="questionnaires", address="+447700100999")
    states = {(s.channel, s.purpose): s.state for s in consent_overview(patient=patient)}
    assert states[(SMS, "appointment_reminders")] == "granted"
    assert states[(SMS, "recalls")] == "withdrawn"
    assert states[(SMS, "questionnaires")] == "stale"
    assert states[("email", "recalls")] == "no_address"


def test_an_unsubscribe_link_opts_out_by_email_whatever_the_case():
    patient = PatientFactory(email="ada@example.com")
    _record(patient, channel="email")
    consent_opt_out(channel="email", address="ADA@example.com", method="link")
    assert not consent_current(patient=patient, channel="email", purpose=RECALLS)


def _read_with_consent(patient, channel, purpose):
    """The many-rows path: a patient row with its newest decision annotated (consent_newest)."""
    return (
        Patient.objects.filter(pk=patient.pk)
        .annotate(
            channel=Value(channel),
            purpose=Value(purpose),
            **consent_newest(patient="pk", channel="channel", purpose="purpose"),
        )
        .get()
    )


def test_consent_read_with_many_rows_follows_the_same_rules(front_desk_user):
    """consent_newest + consent_applies (the reminder sender's one-query read) answer exactly
    as consent_current, in every state a patient's consent can be in."""
    granted = PatientFactory(mobile="+447700100201", email="g@example.org")
    _record(granted)
    withdrawn = PatientFactory(mobile="+447700100202")
    _record(withdrawn, recorded_at=datetime(2026, 1, 1, tzinfo=UTC))
    _record(withdrawn, granted=False, method="sms_reply", recorded_at=datetime(2026, 2, 1, tzinfo=UTC))
    moved = PatientFactory(mobile="+447700100203")
    _record(moved)
    moved = patient_update(patient=moved, data={"mobile": "+447700100999"}, actor=front_desk_user)
    never = PatientFactory(mobile="+447700100204")
    inactive = PatientFactory(mobile="+447700100205")
    _record(inactive)
    Patient.objects.filter(pk=inactive.pk).update(status="inactive", inactive_reason="deceased")
    inactive.refresh_from_db()

    cases = [
        (p, channel, purpose)
        for p in (granted, withdrawn, moved, never, inactive)
        for channel in (SMS, "email")
        for purpose in (RECALLS, "questionnaires")
    ]
    answers = {}
    for patient, channel, purpose in cases:
        row = _read_with_consent(patient, channel, purpose)
        many = consent_applies(
            patient=patient, channel=channel, granted=row.consent_granted, address=row.consent_address
        )
        assert many == consent_current(patient=patient, channel=channel, purpose=purpose), (
            patient,
            channel,
            purpose,
        )
        answers[(patient.pk, channel, purpose)] = many
    assert [key for key, yes in answers.items() if yes] == [(granted.pk, SMS, RECALLS)]
