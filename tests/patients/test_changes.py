"""Updating, deactivating and reactivating a patient: audited, never deleted."""

import pytest
from django.core.exceptions import ValidationError

from clinic.models import AuditEvent
from patients.exceptions import AlreadyInactive, MergeNotAllowed, NotInactive, PatientInactive
from patients.services import patient_deactivate, patient_reactivate, patient_update
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_update_saves_and_audits_the_changed_fields(front_desk_user):
    patient = PatientFactory(city="Leeds")
    patient_update(patient=patient, data={"city": "York", "postcode": "yo1 7hh"}, actor=front_desk_user)
    patient.refresh_from_db()
    assert (patient.city, patient.postcode) == ("York", "YO1 7HH")
    event = AuditEvent.objects.get(action="patient.updated")
    assert event.changes == {"city": ["Leeds", "York"], "postcode": ["", "YO1 7HH"]}
    assert event.patient_id == patient.pk
    assert patient.history.first().history_user == front_desk_user


def test_clinical_values_are_named_but_not_copied_into_the_audit_trail(surgeon_user):
    patient = PatientFactory(allergies="")
    patient_update(patient=patient, data={"allergies": "Penicillin"}, actor=surgeon_user)
    event = AuditEvent.objects.get(action="patient.updated")
    assert event.changes == {"allergies": ["(clinical)", "(clinical)"]}
    assert patient.history.first().allergies == "Penicillin"


def test_update_without_a_change_writes_nothing(front_desk_user):
    patient = PatientFactory(city="Leeds")
    patient_update(patient=patient, data={"city": "Leeds"}, actor=front_desk_user)
    assert not AuditEvent.objects.filter(action="patient.updated").exists()


def test_update_validates_only_what_changes(front_desk_user):
    # The factory's drama-range mobile is not a valid number; editing the city must still work.
    patient = PatientFactory(mobile="+447700900123")
    patient_update(patient=patient, data={"city": "Bath"}, actor=front_desk_user)
    with pytest.raises(ValidationError) as caught:
        patient_update(patient=patient, data={"mobile": "+447700900124"}, actor=front_desk_user)
    assert "mobile" in caught.value.message_dict


def test_a_merged_record_is_read_only(front_desk_user):
    survivor = PatientFactory()
    merged = PatientFactory(status="inactive", inactive_reason="merged", merged_into=survivor)
    with pytest.raises(PatientInactive):
        patient_update(patient=merged, data={"city": "Bath"}, actor=front_desk_user)


@pytest.mark.parametrize("reason", ["deceased", "moved_away"])
def test_deactivate_keeps_the_record_with_a_reason(manager_user, reason):
    patient = PatientFactory()
    patient_deactivate(patient=patient, reason=reason, actor=manager_user)
    patient.refresh_from_db()
    assert (patient.status, patient.inactive_reason) == ("inactive", reason)
    assert patient.inactive_since is not None
    assert AuditEvent.objects.get(action="patient.deactivated").changes == {"reason": reason}


def test_deactivate_for_another_reason_needs_a_note(manager_user):
    patient = PatientFactory()
    with pytest.raises(ValidationError) as caught:
        patient_deactivate(patient=patient, reason="other", actor=manager_user)
    assert "note" in caught.value.message_dict
    patient_deactivate(
        patient=patient, reason="other", note="Transferred to another clinic", actor=manager_user
    )
    patient.refresh_from_db()
    assert patient.inactive_note == "Transferred to another clinic"


@pytest.mark.parametrize("reason", ["merged", "", "gone"])
def test_deactivate_refuses_other_reasons(manager_user, reason):
    with pytest.raises(ValidationError):
        patient_deactivate(patient=PatientFactory(), reason=reason, actor=manager_user)


def test_deactivate_twice_is_refused(manager_user):
    patient = PatientFactory()
    patient_deactivate(patient=patient, reason="deceased", actor=manager_user)
    with pytest.raises(AlreadyInactive):
        patient_deactivate(patient=patient, reason="moved_away", actor=manager_user)


def test_reactivate_undoes_a_deactivation(manager_user):
    patient = PatientFactory()
    patient_deactivate(patient=patient, reason="moved_away", actor=manager_user)
    patient_reactivate(patient=patient, actor=manager_user)
    patient.refresh_from_db()
    assert (patient.status, patient.inactive_reason, patient.inactive_since) == ("active", "", None)
    with pytest.raises(NotInactive):
        patient_reactivate(patient=patient, actor=manager_user)


def test_a_merged_record_cannot_be_reactivated(manager_user):
    survivor = PatientFactory()
    merged = PatientFactory(status="inactive", inactive_reason="merged", merged_into=survivor)
    with pytest.raises(MergeNotAllowed):
        patient_reactivate(patient=merged, actor=manager_user)
