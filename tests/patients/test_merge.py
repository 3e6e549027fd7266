"""Merging a duplicate: every linked row moves to the survivor, in any app; both are audited."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from clinic.models import AuditEvent
from patients import merging
from patients.exceptions import MergeNotAllowed
from patients.models import MessagingConsent, Patient
from patients.selectors import consent_current, merge_relations, patient_resolve
from patients.services import patient_merge
from scheduling.models import Appointment, Recall
from scheduling.services import recall_open
from tests.factories import AppointmentFactory, AppointmentTypeFactory, PatientFactory
from tests.patients.factories import ConsentFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _recall(patient, source):
    AppointmentTypeFactory(code="toxin", name="Toxin session", room_kind="procedure")
    return recall_open(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=date(2026, 12, 1),
        earliest_date=date(2027, 2, 23),
        due_date=date(2027, 3, 1),
        overdue_date=date(2027, 3, 20),
        source=source,
    )


def test_relations_from_higher_apps_are_found_without_importing_them():
    models = {model for model, _ in merge_relations()}
    assert {Appointment, Recall} <= models
    assert not any(m.__name__.startswith("Historical") for m in models)
    assert Patient not in models and MessagingConsent not in models


def test_merge_moves_appointments_and_recalls_to_the_survivor(manager_user):
    survivor, duplicate = PatientFactory(), PatientFactory()
    appointments = AppointmentFactory.create_batch(2, patient=duplicate)
    recall = _recall(duplicate, "toxin_session:1")

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    assert set(Appointment.objects.filter(patient=survivor)) == set(appointments)
    assert Recall.objects.get(pk=recall.pk).patient == survivor
    assert result.moved["scheduling.appointment"] == 2
    assert result.moved["scheduling.recall"] == 1
    assert result.not_moved == {}


def test_the_duplicate_is_kept_inactive_pointing_at_the_survivor(manager_user):
    survivor, duplicate = PatientFactory(), PatientFactory()
    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)
    duplicate.refresh_from_db()
    assert duplicate.status == "inactive"
    assert duplicate.inactive_reason == "merged"
    assert duplicate.merged_into == survivor
    assert Patient.objects.count() == 2


def test_merge_is_audited_on_both_records(manager_user):
    survivor, duplicate = PatientFactory(), PatientFactory()
    AppointmentFactory(patient=duplicate)
    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)
    on_survivor = AuditEvent.objects.get(action="patient.merged")
    on_duplicate = AuditEvent.objects.get(action="patient.merged_into")
    assert on_survivor.patient_id == survivor.pk
    assert on_survivor.changes["duplicate"] == duplicate.mrn
    assert on_survivor.changes["moved"] == {"scheduling.appointment": 1}
    assert on_duplicate.patient_id == duplicate.pk
    assert on_duplicate.changes["survivor"] == survivor.mrn


def test_moved_rows_record_why_in_their_history(manager_user):
    survivor, duplicate = PatientFactory(), PatientFactory()
    appointment = AppointmentFactory(patient=duplicate)
    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)
    latest = appointment.history.first()
    assert latest.patient_id == survivor.pk
    assert latest.history_change_reason == f"merged from {duplicate.mrn}"
    assert latest.history_user == manager_user


def test_a_row_that_would_break_a_unique_rule_stays_and_is_reported(manager_user):
    survivor, duplicate = PatientFactory(), PatientFactory()
    _recall(survivor, "toxin_session:7")
    clash = _recall(duplicate, "toxin_session:7")
    other = _recall(duplicate, "toxin_session:8")

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    assert Recall.objects.get(pk=other.pk).patient == survivor
    assert Recall.objects.get(pk=clash.pk).patient == duplicate
    assert result.not_moved == {"scheduling.recall": [clash.pk]}
    assert AuditEvent.objects.get(action="patient.merged").changes["not_moved"] == {
        "scheduling.recall": [clash.pk]
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="exclusion constraints are PostgreSQL only")
def test_overlapping_appointments_of_the_same_person_stay_apart(manager_user):
    survivor, duplicate = PatientFactory(), PatientFactory()
    AppointmentFactory(patient=survivor, starts_at=NOON)
    overlapping = AppointmentFactory(patient=duplicate, starts_at=NOON + timedelta(minutes=15))
    later = AppointmentFactory(patient=duplicate, starts_at=NOON + timedelta(days=7))

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    assert Appointment.objects.get(pk=later.pk).patient == survivor
    assert Appointment.objects.get(pk=overlapping.pk).patient == duplicate
    assert result.not_moved == {"scheduling.appointment": [overlapping.pk]}


def test_consents_are_copied_with_their_dates_and_marked_as_merged(manager_user):
    survivor = PatientFactory(mobile="+447700100123")
    duplicate = PatientFactory(mobile="+447700100123")
    given = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    original = ConsentFactory(patient=duplicate, purpose="recalls", recorded_at=given)

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    copy = MessagingConsent.objects.get(patient=survivor)
    assert (copy.method, copy.recorded_at, copy.granted, copy.address) == (
        "merge",
        given,
        True,
        original.address,
    )
    assert duplicate.mrn in copy.note
    assert MessagingConsent.objects.filter(patient=duplicate).count() == 1  # the original stays
    assert result.consents_copied == 1
    assert consent_current(patient=survivor, channel="sms", purpose="recalls")


def test_survivor_gaps_are_filled_and_safety_facts_are_never_dropped(manager_user):
    survivor = PatientFactory(email="", allergies="Latex", on_anticoagulants=False, address_line1="", city="")
    duplicate = PatientFactory(
        email="old@example.org",
        allergies="Penicillin",
        on_anticoagulants=True,
        address_line1="1 High Street",
        city="Leeds",
    )
    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)
    survivor.refresh_from_db()
    assert survivor.email == "old@example.org"
    assert (survivor.address_line1, survivor.city) == ("1 High Street", "Leeds")
    assert survivor.on_anticoagulants is True
    assert "Latex" in survivor.allergies and "Penicillin" in survivor.allergies
    assert {"email", "address_line1", "on_anticoagulants", "allergies"} <= set(result.filled)


def test_survivor_details_are_never_overwritten(manager_user):
    survivor = PatientFactory(email="now@example.org", city="York")
    duplicate = PatientFactory(email="old@example.org", city="Leeds")
    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)
    survivor.refresh_from_db()
    assert (survivor.email, survivor.city) == ("now@example.org", "York")


def test_a_record_cannot_be_merged_into_itself(manager_user):
    patient = PatientFactory()
    with pytest.raises(MergeNotAllowed):
        patient_merge(survivor=patient, duplicate=patient, actor=manager_user)


@pytest.mark.parametrize("which", ["survivor", "duplicate"])
def test_a_merged_record_takes_no_part_in_another_merge(manager_user, which):
    elsewhere = PatientFactory()
    merged = PatientFactory(status="inactive", inactive_reason="merged", merged_into=elsewhere)
    other = PatientFactory()
    pair = (
        {"survivor": merged, "duplicate": other}
        if which == "survivor"
        else {"survivor": other, "duplicate": merged}
    )
    with pytest.raises(MergeNotAllowed):
        patient_merge(actor=manager_user, **pair)
    assert not AuditEvent.objects.filter(action="patient.merged").exists()


def test_resolve_follows_a_chain_of_merges(manager_user):
    first, second, third = PatientFactory(), PatientFactory(), PatientFactory()
    patient_merge(survivor=second, duplicate=first, actor=manager_user)
    patient_merge(survivor=third, duplicate=second, actor=manager_user)
    first.refresh_from_db()
    assert patient_resolve(patient=first) == third
    assert patient_resolve(patient=third) == third


@pytest.fixture
def probe_hook():
    calls = []

    def prepare(*, survivor, duplicate, actor, reason):
        calls.append(
            (survivor.pk, duplicate.pk, reason, Appointment.objects.filter(patient=duplicate).count())
        )
        return {"scheduling.appointment": {"looked_at": [0]}}

    merging.register_merge_hook(merging.MergeHook(key="tests.probe", prepare=prepare))
    yield calls
    merging._hooks.pop("tests.probe")


def test_merge_hooks_run_before_rows_move_and_are_audited(manager_user, probe_hook):
    survivor, duplicate = PatientFactory(), PatientFactory()
    AppointmentFactory(patient=duplicate)

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    assert probe_hook == [(survivor.pk, duplicate.pk, f"merged from {duplicate.mrn}", 1)]
    assert result.adjusted == {"scheduling.appointment": {"looked_at": [0]}}
    assert AuditEvent.objects.get(action="patient.merged").changes["adjusted"] == result.adjusted
