"""The recall worklist and message log through the API."""

from datetime import date, timedelta

import pytest
import time_machine

from scheduling.models import Message, Recall
from scheduling.reminders import services as reminders
from scheduling.services import recall_open
from tests.factories import AppointmentTypeFactory, PatientFactory
from tests.scheduling.messaging_helpers import grant_all

pytestmark = pytest.mark.django_db

TODAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel("2027-03-01 12:00Z", tick=False):
        yield


def _recall(session_day: date, source: str, patient=None) -> Recall:
    AppointmentTypeFactory(code="toxin", is_toxin=True, room_kind="procedure")
    return recall_open(
        patient=patient or PatientFactory(),
        kind=Recall.Kind.REINJECTION,
        appointment_type_code="toxin",
        anchor_date=session_day,
        earliest_date=session_day + timedelta(days=84),
        due_date=session_day + timedelta(days=84),
        overdue_date=session_day + timedelta(weeks=16),
        source=source,
    )


def test_worklist_buckets(front_desk):
    due = _recall(TODAY - timedelta(days=90), "s:1")  # due 6 days ago, overdue in 3 weeks
    overdue = _recall(TODAY - timedelta(weeks=17), "s:2")
    upcoming = _recall(TODAY - timedelta(days=30), "s:3")
    booked = _recall(TODAY - timedelta(days=90), "s:4")
    Recall.objects.filter(pk=booked.pk).update(status="booked")

    def ids(bucket):
        response = front_desk.get(f"/api/v1/recalls/?bucket={bucket}")
        assert response.status_code == 200
        return [r["id"] for r in response.json()["results"]]

    assert ids("due") == [due.pk]
    assert ids("overdue") == [overdue.pk]
    assert ids("upcoming") == [upcoming.pk]
    assert ids("booked") == [booked.pk]
    row = front_desk.get(f"/api/v1/recalls/{due.pk}/").json()
    assert row["bucket"] == "due"
    assert row["appointment_type"] == "toxin"


def test_logging_a_contact_shows_on_the_worklist(front_desk, front_desk_user):
    recall = _recall(TODAY - timedelta(days=90), "s:1")
    response = front_desk.post(
        f"/api/v1/recalls/{recall.pk}/contacts/", {"method": "phone", "outcome": "will call back"}
    )
    assert response.status_code == 201
    row = front_desk.get(f"/api/v1/recalls/{recall.pk}/").json()
    assert row["last_contact_method"] == "phone"


def test_contact_with_an_unknown_method_is_400(front_desk):
    recall = _recall(TODAY - timedelta(days=90), "s:1")
    response = front_desk.post(f"/api/v1/recalls/{recall.pk}/contacts/", {"method": "pigeon"})
    assert response.status_code == 400
    assert "method" in response.json()["fields"]


def test_closing_a_recall_cancels_its_reminders(front_desk):
    patient = PatientFactory()
    grant_all(patient)
    recall = _recall(TODAY - timedelta(days=30), "s:1", patient=patient)
    reminders.messages_plan_for_recall(recall=recall)
    response = front_desk.post(
        f"/api/v1/recalls/{recall.pk}/close/", {"reason": "declined further treatment"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert set(Message.objects.filter(recall=recall).values_list("status", flat=True)) == {"cancelled"}
    again = front_desk.post(f"/api/v1/recalls/{recall.pk}/close/", {"reason": "again"})
    assert again.status_code == 409
    assert again.json()["code"] == "recall_not_open"


def test_recall_list_query_count_does_not_grow(front_desk, django_assert_max_num_queries):
    _recall(TODAY - timedelta(days=90), "s:0")
    with django_assert_max_num_queries(8) as first:
        front_desk.get("/api/v1/recalls/?bucket=due")
    for n in range(1, 25):
        _recall(TODAY - timedelta(days=90), f"s:{n}")
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = front_desk.get("/api/v1/recalls/?bucket=due")
    assert response.json()["count"] == 25


def test_message_log_filters_by_patient_and_status(front_desk):
    patient = PatientFactory()
    grant_all(patient)
    recall = _recall(TODAY - timedelta(days=90), "s:1", patient=patient)
    reminders.messages_plan_for_recall(recall=recall)
    response = front_desk.get(f"/api/v1/messages/?patient={patient.pk}&status=scheduled")
    assert response.status_code == 200
    assert response.json()["count"] == 4
    assert {m["kind"] for m in response.json()["results"]} == {"recall_due", "recall_second"}


@pytest.mark.parametrize("persona", ["therapist", "injector", "anon_api"])
def test_worklist_is_for_roles_that_work_recalls(persona, request):
    client = request.getfixturevalue(persona)
    assert client.get("/api/v1/recalls/").status_code in (401, 403)
    assert client.get("/api/v1/messages/").status_code in (401, 403)


def test_bad_filter_values_are_400(front_desk):
    response = front_desk.get("/api/v1/recalls/?patient=99999999999999999999999")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
