"""The MDT API under /api/v1/mdt/: codes and roles."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from mdt import services
from mdt.models import MdtItem
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def flag(client, patient, **extra):
    return client.post(
        "/api/v1/mdt/items/", {"patient": patient.pk, "question": "Surgery?", **extra}, format="json"
    )


def test_plan_a_meeting_flag_and_read_the_agenda(surgeon, surgeon_user, patient):
    date = (timezone.localdate() + timedelta(days=7)).isoformat()
    created = surgeon.post(
        "/api/v1/mdt/meetings/",
        {"date": date, "attendees": [surgeon_user.pk], "attendees_note": "Visiting physio"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    meeting = created.json()
    assert meeting["attendees"] == [surgeon_user.pk]
    item = flag(surgeon, patient)
    assert item.status_code == 201, item.json()
    assert item.json()["meeting"] == meeting["id"]
    detail = surgeon.get(f"/api/v1/mdt/meetings/{meeting['id']}/").json()
    assert detail["agenda"] == [item.json()["id"]]
    assert detail["open_items"] == 1


def test_second_flag_for_one_meeting_is_409(surgeon, patient, meeting):
    assert flag(surgeon, patient).status_code == 201
    again = flag(surgeon, patient)
    assert again.status_code == 409
    assert again.json()["code"] == "mdt_already_on_agenda"


def test_no_meeting_is_409(surgeon, patient):
    response = flag(surgeon, patient)
    assert response.status_code == 409
    assert response.json()["code"] == "mdt_no_meeting_planned"


def test_bad_input_is_400(surgeon, patient, meeting):
    assert flag(surgeon, patient, question="").status_code == 400
    assert surgeon.post("/api/v1/mdt/meetings/", {"date": "soon"}, format="json").status_code == 400
    item = flag(surgeon, patient).json()
    bad = surgeon.post(
        f"/api/v1/mdt/items/{item['id']}/outcome/", {"outcome": "x", "decision": "maybe"}, format="json"
    )
    assert bad.status_code == 400
    assert "decision" in bad.json()["fields"]


def test_outcome_with_tasks_then_my_roles_tasks(
    surgeon, front_desk, front_desk_user, therapist, patient, meeting
):
    item = flag(surgeon, patient).json()
    due = (timezone.localdate() + timedelta(days=10)).isoformat()
    response = surgeon.post(
        f"/api/v1/mdt/items/{item['id']}/outcome/",
        {
            "outcome": "Offer DAO excision",
            "decision": "surgery",
            "tasks": [
                {"role": "front_desk", "description": "Book surgery consultation", "due": due},
                {"role": "surgeon", "description": "Write to the GP", "due": due},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "discussed"
    assert {t["role"] for t in response.json()["tasks"]} == {"front_desk", "surgeon"}
    again = surgeon.post(
        f"/api/v1/mdt/items/{item['id']}/outcome/", {"outcome": "x", "decision": "other"}, format="json"
    )
    assert again.status_code == 409
    # The front desk sees only its role's tasks, and marks one done.
    mine = front_desk.get("/api/v1/mdt/tasks/").json()["results"]
    assert [t["description"] for t in mine] == ["Book surgery consultation"]
    done = front_desk.post(f"/api/v1/mdt/tasks/{mine[0]['id']}/done/")
    assert done.status_code == 200
    assert done.json()["done_by"]["id"] == front_desk_user.pk
    assert front_desk.post(f"/api/v1/mdt/tasks/{mine[0]['id']}/done/").status_code == 409
    # Another role's task is not the therapist's to see or do.
    surgeons_task = next(t for t in response.json()["tasks"] if t["role"] == "surgeon")
    assert therapist.get("/api/v1/mdt/tasks/").json()["count"] == 2  # clinicians see every role's
    assert therapist.post(f"/api/v1/mdt/tasks/{surgeons_task['id']}/done/").status_code == 200


def test_roles(front_desk, manager, therapist, patient, meeting):
    # Meetings and items are clinical records.
    for client in (front_desk, manager):
        assert client.get("/api/v1/mdt/meetings/").status_code == 403
        assert client.get("/api/v1/mdt/items/").status_code == 403
        assert flag(client, patient).status_code == 403
        assert client.get("/api/v1/mdt/tasks/").status_code == 200
        assert client.post("/api/v1/mdt/tasks/", {}, format="json").status_code == 403
    assert flag(therapist, patient).status_code == 201


def test_a_task_of_another_role_is_not_found_for_the_front_desk(surgeon_user, front_desk, patient, meeting):
    item = services.item_add(actor=surgeon_user, patient=patient, question="?")
    task = services.task_add(
        item=item, actor=surgeon_user, role="surgeon", description="x", due=timezone.localdate()
    )
    assert front_desk.post(f"/api/v1/mdt/tasks/{task.pk}/done/").status_code == 404


def test_hold_rolls_over(surgeon, surgeon_user, patient, meeting):
    item = flag(surgeon, patient).json()
    following = services.meeting_create(actor=surgeon_user, date=meeting.date + timedelta(days=28))
    held = surgeon.post(f"/api/v1/mdt/meetings/{meeting.pk}/hold/", {"attendees_note": "All"}, format="json")
    assert held.status_code == 200
    assert held.json()["status"] == "held"
    assert surgeon.post(f"/api/v1/mdt/meetings/{meeting.pk}/hold/", {}, format="json").status_code == 409
    carried = surgeon.get(f"/api/v1/mdt/items/?meeting={following.pk}").json()["results"]
    assert [c["carried_from"] for c in carried] == [item["id"]]


@pytest.mark.django_db(transaction=True)
def test_two_desks_flag_the_same_patient_for_the_same_meeting_at_once():
    from mdt.models import MdtMeeting

    surgeon = UserFactory(username="race-surgeon", roles=["surgeon"])
    therapist = UserFactory(username="race-therapist", roles=["therapist"])
    patient = PatientFactory()
    meeting = MdtMeeting.objects.create(date=timezone.localdate() + timedelta(days=3), created_by=surgeon)
    barrier = threading.Barrier(2)
    statuses = [None, None]

    def desk(index, user):
        client = APIClient()
        client.force_authenticate(user)
        try:
            barrier.wait(timeout=30)
            statuses[index] = flag(client, patient, meeting=meeting.pk).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(i, u)) for i, u in enumerate((surgeon, therapist))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert Counter(statuses) == {201: 1, 409: 1}
    assert MdtItem.objects.filter(meeting=meeting, patient=patient).count() == 1
