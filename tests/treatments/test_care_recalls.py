"""Therapy in the toxin window, therapy courses and the early review after a first toxin
session: opened through the recall machinery, exactly once, and on the worklist."""

import threading
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from clinic.configuration import clinic_settings_update
from clinic.errors import Invalid
from clinic.models import ClinicSettings
from scheduling.models import Recall
from tests.factories import AppointmentTypeFactory, PatientFactory
from treatments.models import Encounter
from treatments.services import care_recalls

from .factories import record_therapy, record_toxin

NOW = datetime(2027, 3, 15, 10, 0, tzinfo=timezone.get_default_timezone())
TODAY = date(2027, 3, 15)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def types(db):
    for code, room in (("toxin", "procedure"), ("therapy", "therapy"), ("follow_up", "consultation")):
        AppointmentTypeFactory(code=code, room_kind=room)


@pytest.mark.django_db
def test_a_toxin_session_opens_a_therapy_recall_in_the_window(types, injector_user):
    patient = PatientFactory()
    session = record_toxin(patient, injector_user, occurred_at=NOW - timedelta(hours=2))
    recall = Recall.objects.get(patient=patient, kind="therapy")
    # Defaults: from day 14 to day 42 after the session (15 March): due 29 March, overdue 26 April.
    assert (recall.anchor_date, recall.earliest_date, recall.due_date, recall.overdue_date) == (
        TODAY,
        date(2027, 3, 29),
        date(2027, 3, 29),
        date(2027, 4, 26),
    )
    assert recall.source == f"toxin_session:{session.pk}"
    assert recall.appointment_type.code == "therapy"
    assert "days 14-42" in recall.label


@pytest.mark.django_db
def test_the_window_is_the_clinics_setting(types, injector_user):
    clinic_settings_update(
        actor=None, data={"therapy_after_toxin_from_day": 10, "therapy_after_toxin_to_day": 30}
    )
    patient = PatientFactory()
    record_toxin(patient, injector_user, occurred_at=NOW - timedelta(hours=2))
    recall = Recall.objects.get(patient=patient, kind="therapy")
    assert (recall.due_date, recall.overdue_date) == (TODAY + timedelta(days=10), TODAY + timedelta(days=30))


@pytest.mark.django_db
def test_the_clinic_can_switch_the_therapy_offer_off(types, injector_user):
    clinic_settings_update(actor=None, data={"therapy_after_toxin_offered": False})
    patient = PatientFactory()
    record_toxin(patient, injector_user, occurred_at=NOW - timedelta(hours=2))
    assert not Recall.objects.filter(patient=patient, kind="therapy").exists()


@pytest.mark.django_db
def test_a_window_that_ends_before_it_starts_is_refused(types):
    with pytest.raises(Invalid) as excinfo:
        clinic_settings_update(
            actor=None, data={"therapy_after_toxin_from_day": 40, "therapy_after_toxin_to_day": 20}
        )
    assert "non_field_errors" in excinfo.value.fields
    assert ClinicSettings.load().therapy_after_toxin_from_day == 14


@pytest.mark.django_db
def test_the_settings_api_takes_and_refuses_the_window(manager, types):
    ok = manager.patch("/api/v1/clinic-settings/", {"therapy_after_toxin_to_day": 35}, format="json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["therapy_after_toxin_to_day"] == 35
    bad = manager.patch("/api/v1/clinic-settings/", {"therapy_after_toxin_to_day": 500}, format="json")
    assert bad.status_code == 400
    assert "therapy_after_toxin_to_day" in bad.json()["fields"]
    order = manager.patch("/api/v1/clinic-settings/", {"therapy_after_toxin_to_day": 5}, format="json")
    assert order.status_code == 400


@pytest.mark.django_db
def test_a_backfilled_session_after_its_window_opens_no_therapy_recall(types, injector_user):
    patient = PatientFactory()
    record_toxin(patient, injector_user, occurred_at=NOW - timedelta(days=60))
    assert not Recall.objects.filter(patient=patient, kind="therapy").exists()


@pytest.mark.django_db
def test_the_first_ever_session_opens_an_early_review_once(types, injector_user):
    patient = PatientFactory()
    first = record_toxin(patient, injector_user, occurred_at=NOW - timedelta(days=100))
    # Recorded 100 days late: the review's week has passed, nothing opens.
    assert not Recall.objects.filter(patient=patient, kind="follow_up").exists()
    other = PatientFactory()
    record_toxin(other, injector_user, occurred_at=NOW - timedelta(hours=2))
    review = Recall.objects.get(patient=other, kind="follow_up")
    assert review.source == care_recalls.FIRST_TOXIN_REVIEW_SOURCE
    assert review.due_date == TODAY + timedelta(days=14)
    assert review.label == "Review after the first toxin session"
    # A second session is not a first session: no second review for either patient.
    record_toxin(patient, injector_user, occurred_at=NOW - timedelta(hours=1))
    assert not Recall.objects.filter(patient=patient, kind="follow_up").exists()
    assert first.pk


@pytest.mark.django_db
def test_opening_again_opens_nothing_new(types, injector_user):
    patient = PatientFactory()
    session = record_toxin(patient, injector_user, occurred_at=NOW - timedelta(hours=2))
    encounter = Encounter.objects.get(pk=session.pk)
    before = set(Recall.objects.filter(patient=patient).values_list("pk", flat=True))
    # A retried task, a second call: the same recalls come back.
    again = care_recalls.open_toxin_care_recalls(encounter=encounter, actor=None)
    assert {r.pk for r in again} <= before
    assert set(Recall.objects.filter(patient=patient).values_list("pk", flat=True)) == before
    assert Recall.objects.filter(patient=patient).count() == 3  # reinjection, therapy, review


@pytest.mark.django_db(transaction=True)
def test_concurrent_openings_open_one_recall_each(injector_user):
    # The session is recorded while neither recall can open (the offer off, no follow-up type);
    # then four workers open them at the same moment, as retried tasks might.
    for code, room in (("toxin", "procedure"), ("therapy", "therapy")):
        AppointmentTypeFactory(code=code, room_kind=room)
    clinic_settings_update(actor=None, data={"therapy_after_toxin_offered": False})
    patient = PatientFactory()
    session = record_toxin(patient, injector_user, occurred_at=NOW - timedelta(hours=2))
    assert not Recall.objects.filter(patient=patient).exclude(kind="reinjection").exists()
    AppointmentTypeFactory(code="follow_up", room_kind="consultation")
    clinic_settings_update(actor=None, data={"therapy_after_toxin_offered": True})
    encounter = Encounter.objects.get(pk=session.pk)
    barrier = threading.Barrier(4)
    errors = []

    def open_them():
        try:
            with time_machine.travel(NOW, tick=False):
                barrier.wait()
                care_recalls.open_toxin_care_recalls(encounter=encounter, actor=None)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_them) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Recall.objects.filter(patient=patient, kind="therapy").count() == 1
    assert Recall.objects.filter(patient=patient, kind="follow_up").count() == 1


@pytest.mark.django_db
def test_a_therapy_course_opens_one_recall_per_visit(types, therapist_user):
    patient = PatientFactory()
    visit = record_therapy(
        patient, therapist_user, occurred_at=NOW - timedelta(hours=1), course_visits=3, course_every_weeks=2
    )
    recalls = list(Recall.objects.filter(patient=patient, kind="therapy").order_by("due_date"))
    assert [r.due_date for r in recalls] == [TODAY + timedelta(weeks=2 * n) for n in (1, 2, 3)]
    assert [r.source for r in recalls] == [f"therapy_course:{visit.pk}:{n}" for n in (1, 2, 3)]
    assert recalls[0].label == "Therapy course: visit 1 of 3"
    assert recalls[0].earliest_date == TODAY + timedelta(days=11)


@pytest.mark.django_db
def test_extending_a_draft_course_adds_only_the_new_visits(types, therapist_user):
    from treatments.services import THERAPY, encounter_update

    patient = PatientFactory()
    visit = record_therapy(
        patient, therapist_user, occurred_at=NOW - timedelta(hours=1), course_visits=2, course_every_weeks=3
    )
    first_two = set(Recall.objects.filter(patient=patient).values_list("pk", flat=True))
    encounter_update(
        THERAPY, detail=visit, actor=therapist_user, data={"course_visits": 4, "course_every_weeks": 3}
    )
    after = Recall.objects.filter(patient=patient, kind="therapy")
    assert after.count() == 4
    assert first_two <= set(after.values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("course", "field"),
    [
        ({"course_visits": 3}, "course_every_weeks"),
        ({"course_every_weeks": 2}, "course_visits"),
        ({"course_visits": 0, "course_every_weeks": 2}, "course_visits"),
        ({"course_visits": 3, "course_every_weeks": 13}, "course_every_weeks"),
    ],
)
def test_an_incomplete_course_is_refused_by_field(types, therapist, course, field):
    patient = PatientFactory()
    payload = {
        "patient": patient.pk,
        "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
        "techniques": ["mirror_exercises"],
        **course,
    }
    response = therapist.post("/api/v1/therapy-visits/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not Recall.objects.filter(patient=patient).exists()
    assert not Encounter.objects.filter(patient=patient).exists()


@pytest.mark.django_db
def test_the_worklist_shows_the_new_recalls(types, injector_user, client, login_as, front_desk_user):
    patient = PatientFactory(first_name="Wren")
    record_toxin(patient, injector_user, occurred_at=NOW - timedelta(hours=2))
    login_as(front_desk_user)
    # Both are due from the days ahead: the "upcoming" tab lists them until then.
    page = client.get("/recalls/?bucket=upcoming")
    assert page.status_code == 200
    assert b"Therapy in the toxin window (days 14-42)" in page.content
    assert b"Review after the first toxin session" in page.content
    with time_machine.travel(NOW + timedelta(days=20), tick=False):
        login_as(front_desk_user)  # the session of 20 days ago has expired
        due = client.get("/recalls/?bucket=due&kind=therapy")
    assert b"Therapy in the toxin window" in due.content
