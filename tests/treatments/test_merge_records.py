"""Merging a duplicate patient: the clinical records follow the person.

Signed encounters of every kind (with their detail and child rows untouched), addenda, plans,
gradings and interval findings move to the survivor through the registry's merge, the one path
the database lets change a signed encounter's patient, and nothing else about it.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinic.models import AuditEvent
from patients.services import patient_merge
from tests.factories import PatientFactory
from treatments import services
from treatments.models import (
    Addendum,
    Assessment,
    Encounter,
    FollowUpPlanItem,
    HomeExercise,
    Injection,
    IntervalFinding,
    Procedure,
    TreatmentPlan,
)
from treatments.services.toxin import previous_toxin_encounter

from .factories import (
    SUNNYBROOK_NORMAL,
    record_consultation,
    record_surgery,
    record_therapy,
    record_toxin,
)

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the read-only triggers are PostgreSQL only"
)


@pytest.fixture
def pair():
    return PatientFactory(), PatientFactory()


def _signed(detail, actor):
    services.encounter_sign(encounter=detail.encounter, actor=actor)
    return Encounter.objects.get(pk=detail.pk)


def _plan(patient, actor, status, goals="Better smile"):
    return services.plan_create(
        patient=patient,
        actor=actor,
        data={
            "status": status,
            "goals": goals,
            "modalities": ["toxin"],
            "stages": [{"modality": "toxin", "description": "Toxin every 12 weeks"}],
        },
    )


def _snapshot(encounter: Encounter) -> dict:
    """Everything about an encounter except its patient."""
    row = Encounter.objects.filter(pk=encounter.pk).values().get()
    row.pop("patient_id")
    return row


def _raw_update(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _refused(operation) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        operation()


def test_signed_encounters_of_every_kind_move_with_their_rows_unchanged(
    pair, recall_types, manager_user, injector_user, therapist_user, surgeon_user
):
    survivor, duplicate = pair
    consultation = _signed(record_consultation(duplicate, surgeon_user), surgeon_user)
    session = _signed(record_toxin(duplicate, injector_user), injector_user)
    visit = _signed(record_therapy(duplicate, therapist_user), therapist_user)
    surgery = _signed(record_surgery(duplicate, surgeon_user), surgeon_user)
    addendum = services.encounter_add_addendum(encounter=session, actor=injector_user, text="Good effect")
    encounters = [consultation, session, visit, surgery]
    before = {e.pk: _snapshot(e) for e in encounters}
    rows_before = (
        Injection.objects.filter(session_id=session.pk).count(),
        HomeExercise.objects.filter(visit_id=visit.pk).count(),
        Procedure.objects.filter(surgery_id=surgery.pk).count(),
        FollowUpPlanItem.objects.filter(surgery_id=surgery.pk).count(),
    )

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    assert set(Encounter.objects.filter(patient=survivor).values_list("pk", flat=True)) == set(before)
    assert not Encounter.objects.filter(patient=duplicate).exists()
    assert {e.pk: _snapshot(e) for e in encounters} == before  # still signed, same note, same times
    assert rows_before == (
        Injection.objects.filter(session_id=session.pk).count(),
        HomeExercise.objects.filter(visit_id=visit.pk).count(),
        Procedure.objects.filter(surgery_id=surgery.pk).count(),
        FollowUpPlanItem.objects.filter(surgery_id=surgery.pk).count(),
    )
    assert Addendum.objects.get(pk=addendum.pk).encounter.patient == survivor
    assert result.moved["treatments.encounter"] == 4
    assert result.not_moved == {}


def test_each_moved_encounter_records_why_in_its_history(pair, manager_user, injector_user):
    survivor, duplicate = pair
    encounter = _signed(record_toxin(duplicate, injector_user), injector_user)

    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    latest = encounter.history.first()
    assert (latest.patient_id, latest.status) == (survivor.pk, "signed")
    assert latest.history_change_reason == f"merged from {duplicate.mrn}"
    assert latest.history_user == manager_user


def test_the_survivors_toxin_history_is_complete_after_a_merge(pair, manager_user, injector_user):
    survivor, duplicate = pair
    now = timezone.now()
    older = _signed(
        record_toxin(survivor, injector_user, occurred_at=now - timedelta(days=200)), injector_user
    )
    newer = _signed(
        record_toxin(duplicate, injector_user, occurred_at=now - timedelta(days=30)), injector_user
    )
    assert previous_toxin_encounter(patient_id=survivor.pk, occurred_at=now) == older

    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    assert set(Encounter.objects.filter(patient=survivor, kind="toxin")) == {older, newer}
    # What the reinjection interval is measured from: the duplicate's session, 30 days ago.
    assert previous_toxin_encounter(patient_id=survivor.pk, occurred_at=now) == newer


def test_sessions_of_two_records_too_close_together_are_listed_at_the_merge(
    pair, manager_user, injector_user
):
    """Each record alone kept the interval; together they do not. The merge lists the pair for
    the clinical lead at once, with an audit entry, instead of waiting for the nightly scan."""
    survivor, duplicate = pair
    now = timezone.now()
    kept = record_toxin(survivor, injector_user, occurred_at=now - timedelta(days=60))
    other = record_toxin(duplicate, injector_user, occurred_at=now - timedelta(days=30))
    assert not IntervalFinding.objects.exists()

    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    finding = IntervalFinding.objects.get()
    assert (finding.patient_id, finding.earlier_id, finding.later_id) == (survivor.pk, kept.pk, other.pk)
    assert finding.days_apart == 30
    opened = AuditEvent.objects.get(action="interval_finding.opened")
    assert (opened.actor, opened.patient_id) == (manager_user, survivor.pk)


def test_plans_of_every_status_move(pair, manager_user, surgeon_user):
    survivor, duplicate = pair
    plans = [_plan(duplicate, surgeon_user, status) for status in ("draft", "active", "completed")]

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    moved = TreatmentPlan.objects.filter(patient=survivor).order_by("pk")
    assert list(moved) == plans
    # The survivor had no plan: the duplicate's active plan stays the active one.
    assert [p.status for p in moved] == ["draft", "active", "completed"]
    assert all(p.stages.count() == 1 for p in moved)
    assert result.moved["treatments.treatmentplan"] == 3
    assert result.not_moved == {}


def test_the_duplicates_active_plan_is_put_on_hold_beside_the_survivors(pair, manager_user, surgeon_user):
    survivor, duplicate = pair
    current = _plan(survivor, surgeon_user, "active", goals="Survivor's plan")
    other = _plan(duplicate, surgeon_user, "active", goals="Duplicate's plan")

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    current.refresh_from_db()
    other.refresh_from_db()
    assert (current.patient, current.status) == (survivor, "active")
    assert (other.patient, other.status) == (survivor, "on_hold")
    assert result.not_moved == {}
    held = other.history.filter(status="on_hold").earliest("history_date")
    assert held.patient_id == duplicate.pk  # put on hold first, then moved
    assert duplicate.mrn in held.history_change_reason and survivor.mrn in held.history_change_reason
    assert other.history.first().history_change_reason == f"merged from {duplicate.mrn}"
    event = AuditEvent.objects.get(action="treatment_plan.updated", target_id=str(other.pk))
    assert event.changes["status"] == ["active", "on_hold"]
    assert event.actor == manager_user
    merged = AuditEvent.objects.get(action="patient.merged")
    assert merged.changes["adjusted"] == {"treatments.treatmentplan": {"put_on_hold": [other.pk]}}


def test_assessments_move_with_the_encounter_they_belong_to(pair, manager_user, surgeon_user):
    survivor, duplicate = pair
    encounter = _signed(record_consultation(duplicate, surgeon_user), surgeon_user)
    grading = services.assessment_record(
        patient=duplicate,
        instrument="sunnybrook",
        items=SUNNYBROOK_NORMAL,
        assessed_at=timezone.now() - timedelta(minutes=30),
        actor=surgeon_user,
        encounter=encounter,
    )
    scored = (grading.items, grading.scores, grading.formula_version)

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    grading = Assessment.objects.get(pk=grading.pk)
    assert grading.patient == survivor
    assert grading.encounter.patient == survivor
    assert (grading.items, grading.scores, grading.formula_version) == scored
    assert result.moved["treatments.assessment"] == 1
    assert grading.history.first().history_change_reason == f"merged from {duplicate.mrn}"


def test_interval_findings_move_with_the_sessions_they_are_about(pair, manager_user, injector_user):
    survivor, duplicate = pair
    now = timezone.now()
    earlier = record_toxin(duplicate, injector_user, occurred_at=now - timedelta(days=100)).encounter
    later = record_toxin(
        duplicate, injector_user, occurred_at=now - timedelta(days=40), override_reason="Wore off early"
    ).encounter
    finding = IntervalFinding.objects.create(
        patient=duplicate, earlier=earlier, later=later, days_apart=60, minimum_days=84
    )

    result = patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    assert IntervalFinding.objects.get(pk=finding.pk).patient == survivor
    assert result.moved["treatments.intervalfinding"] == 1


def test_merge_audit_lists_the_clinical_records_that_moved(pair, manager_user, injector_user, surgeon_user):
    survivor, duplicate = pair
    session = _signed(record_toxin(duplicate, injector_user), injector_user)
    draft = record_consultation(duplicate, surgeon_user).encounter
    plan = _plan(duplicate, surgeon_user, "active")

    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    event = AuditEvent.objects.get(action="patient.merged")
    assert event.patient_id == survivor.pk
    assert event.changes["moved"]["treatments.encounter"] == 2
    assert event.changes["moved"]["treatments.treatmentplan"] == 1
    assert sorted(event.changes["moved_ids"]["treatments.encounter"]) == sorted([session.pk, draft.pk])
    assert event.changes["moved_ids"]["treatments.treatmentplan"] == [plan.pk]
    assert event.changes["not_moved"] == {}
    assert event.changes["adjusted"] == {}


# --- The database: only the merge may move a signed encounter, and only its patient ---------------


@postgresql_only
def test_a_raw_update_of_a_signed_encounters_patient_is_still_refused(pair, injector_user):
    survivor, duplicate = pair
    encounter = _signed(record_toxin(duplicate, injector_user), injector_user)
    _refused(lambda: Encounter.objects.filter(pk=encounter.pk).update(patient=survivor))
    _refused(
        lambda: _raw_update(
            "UPDATE treatments_encounter SET patient_id = %s WHERE id = %s", [survivor.pk, encounter.pk]
        )
    )
    assert Encounter.objects.get(pk=encounter.pk).patient == duplicate


@postgresql_only
def test_the_merge_setting_permits_only_the_named_pair_and_only_the_patient(pair, injector_user):
    survivor, duplicate = pair
    stranger = PatientFactory()
    encounter = _signed(record_toxin(duplicate, injector_user), injector_user)

    def move(setting: str, **changes):
        def operation():
            _raw_update("SELECT set_config('clinic.merge', %s, true)", [setting])
            Encounter.objects.filter(pk=encounter.pk).update(**changes)

        return operation

    pair_setting = f"{duplicate.pk}:{survivor.pk}"
    _refused(move(f"{duplicate.pk}:{stranger.pk}", patient=survivor))  # another pair
    _refused(move(f"{stranger.pk}:{survivor.pk}", patient=survivor))
    _refused(move(pair_setting, patient=stranger))  # to someone the merge does not name
    _refused(move(pair_setting, patient=survivor, note="rewritten"))  # more than the patient
    _refused(move(pair_setting, note="rewritten"))
    _refused(move("", patient=survivor))
    assert Encounter.objects.get(pk=encounter.pk).patient == duplicate

    with transaction.atomic():
        move(pair_setting, patient=survivor)()
    assert Encounter.objects.get(pk=encounter.pk).patient == survivor


@postgresql_only
def test_the_merge_permission_ends_with_the_merge(pair, manager_user, injector_user):
    survivor, duplicate = pair
    left_behind = _signed(record_toxin(PatientFactory(), injector_user), injector_user)

    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)

    # Same transaction (the test's), after the merge: nothing is permitted any more.
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting('clinic.merge', true), '')")
        assert cursor.fetchone() == ("",)
    _refused(lambda: Encounter.objects.filter(pk=left_behind.pk).update(patient=survivor))


def test_merge_page_and_api_say_what_was_adjusted(pair, client, manager_user, manager, surgeon_user):
    survivor, duplicate = pair
    _plan(survivor, surgeon_user, "active")
    _plan(duplicate, surgeon_user, "active")
    client.force_login(manager_user)
    page = client.post(f"/patients/{survivor.pk}/merge/", {"duplicate": duplicate.pk}, follow=True)
    assert f"Put on hold: 1 treatment plan from {duplicate.mrn}." in page.content.decode()

    other = PatientFactory()
    held = _plan(other, surgeon_user, "active")
    response = manager.post(f"/api/v1/patients/{survivor.pk}/merge/", {"duplicate": other.pk}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["adjusted"] == {"treatments.treatmentplan": {"put_on_hold": [held.pk]}}
    assert body["moved"]["treatments.treatmentplan"] == 1
    assert body["not_moved"] == {}
