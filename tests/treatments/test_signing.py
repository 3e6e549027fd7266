"""Signed records are read-only in the services and in the database; addenda and history remain."""

import pytest
from django.db import IntegrityError, transaction

from clinic.audit import AuditEvent
from treatments import services
from treatments.exceptions import NotTheClinician, RecordNotSigned, RecordSigned
from treatments.models import (
    Addendum,
    Encounter,
    FollowUpPlanItem,
    HomeExercise,
    Injection,
    Procedure,
    Surgery,
    ToxinSession,
)

from .factories import injection, record_surgery, record_therapy, record_toxin

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_session(patient, injector_user):
    session = record_toxin(patient, injector_user)
    services.encounter_sign(encounter=session.encounter, actor=injector_user)
    return session


def test_signing_records_who_and_when_and_audits(patient, injector_user):
    session = record_toxin(patient, injector_user)
    encounter = services.encounter_sign(encounter=session.encounter, actor=injector_user)
    assert encounter.status == Encounter.Status.SIGNED
    assert encounter.signed_by == injector_user
    assert encounter.signed_at is not None
    assert AuditEvent.objects.filter(action="encounter.signed", target_id=str(encounter.pk)).exists()


def test_only_the_encounters_clinician_signs(patient, injector_user, surgeon_user):
    session = record_toxin(patient, injector_user)
    with pytest.raises(NotTheClinician):
        services.encounter_sign(encounter=session.encounter, actor=surgeon_user)


@pytest.mark.parametrize(
    "change",
    [
        {"note": "rewritten"},
        {"injections": [injection("platysma")]},
        {"dilution_ml": 1},
        {"response_ptosis": True},
    ],
)
def test_services_refuse_to_change_a_signed_session(signed_session, injector_user, change):
    with pytest.raises(RecordSigned) as excinfo:
        services.encounter_update(services.TOXIN, detail=signed_session, actor=injector_user, data=change)
    assert excinfo.value.code == "record_signed"
    assert excinfo.value.status == 409


def test_addendum_needs_a_signed_record(patient, injector_user):
    session = record_toxin(patient, injector_user)
    with pytest.raises(RecordNotSigned):
        services.encounter_add_addendum(encounter=session.encounter, actor=injector_user, text="x")


def test_addendum_is_kept_and_audited(signed_session, surgeon_user):
    addendum = services.encounter_add_addendum(
        encounter=signed_session.encounter, actor=surgeon_user, text="Seen in clinic: good effect"
    )
    assert addendum.author == surgeon_user
    assert list(signed_session.encounter.addenda.values_list("text", flat=True)) == [
        "Seen in clinic: good effect"
    ]
    assert AuditEvent.objects.filter(action="encounter.addendum_added").count() == 1


def _refused(operation):
    with pytest.raises(IntegrityError), transaction.atomic():
        operation()


def test_database_refuses_update_of_a_signed_encounter(signed_session):
    _refused(lambda: Encounter.objects.filter(pk=signed_session.pk).update(note="rewritten"))


def test_database_refuses_delete_of_a_signed_encounter(signed_session):
    _refused(lambda: Encounter.objects.filter(pk=signed_session.pk).delete())


def test_database_refuses_changes_to_a_signed_sessions_detail_and_rows(signed_session):
    _refused(lambda: ToxinSession.objects.filter(pk=signed_session.pk).update(response_other="x"))
    _refused(lambda: Injection.objects.filter(session=signed_session).update(units=99))
    _refused(lambda: Injection.objects.filter(session=signed_session).delete())
    _refused(
        lambda: Injection.objects.create(
            session=signed_session, muscle="platysma", side="right", units=2, points=1
        )
    )


def test_database_refuses_changes_to_signed_therapy_and_surgery_rows(patient, therapist_user, surgeon_user):
    visit = record_therapy(patient, therapist_user)
    surgery = record_surgery(patient, surgeon_user)
    services.encounter_sign(encounter=visit.encounter, actor=therapist_user)
    services.encounter_sign(encounter=surgery.encounter, actor=surgeon_user)
    _refused(lambda: HomeExercise.objects.filter(visit=visit).update(repetitions=99))
    _refused(lambda: Procedure.objects.filter(surgery=surgery).update(detail="x"))
    _refused(lambda: FollowUpPlanItem.objects.filter(surgery=surgery).delete())
    _refused(lambda: Surgery.objects.filter(pk=surgery.pk).update(operative_note="rewritten"))


def test_database_keeps_addenda_append_only(signed_session, injector_user):
    addendum = services.encounter_add_addendum(
        encounter=signed_session.encounter, actor=injector_user, text="x"
    )
    _refused(lambda: Addendum.objects.filter(pk=addendum.pk).update(text="y"))
    _refused(lambda: Addendum.objects.filter(pk=addendum.pk).delete())


def test_drafts_stay_editable_in_the_database(patient, injector_user):
    session = record_toxin(patient, injector_user)
    assert Injection.objects.filter(session=session).update(points=3) == 3


def test_history_keeps_every_version_of_a_draft(patient, injector_user):
    session = record_toxin(patient, injector_user)
    services.encounter_update(services.TOXIN, detail=session, actor=injector_user, data={"note": "v2"})
    services.encounter_sign(encounter=session.encounter, actor=injector_user)
    versions = list(Encounter.history.filter(id=session.pk).order_by("history_date"))
    assert [v.note for v in versions] == ["", "v2", "v2"]
    assert [v.status for v in versions] == ["draft", "draft", "signed"]
    assert all(v.history_user == injector_user for v in versions)


def test_history_records_removed_rows_of_a_draft_map(patient, injector_user):
    session = record_toxin(patient, injector_user)
    services.encounter_update(
        services.TOXIN, detail=session, actor=injector_user, data={"injections": [injection("platysma")]}
    )
    assert Injection.history.filter(session_id=session.pk, history_type="-").count() == 3
    assert Injection.history.filter(session_id=session.pk, history_type="+").count() == 4
