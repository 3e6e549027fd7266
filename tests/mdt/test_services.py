"""The MDT list: flagging, the agenda, outcomes with tasks for a role, rolling over."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.audit import AuditEvent
from clinic.errors import Invalid, NotAllowed
from mdt import selectors, services
from mdt.exceptions import AlreadyOnAgenda, ItemNotOpen, MeetingHeld, NoMeetingPlanned, TaskDone
from mdt.models import MdtItem
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_flagging_goes_to_the_next_meeting_in_order(surgeon_user, meeting):
    later = services.meeting_create(actor=surgeon_user, date=meeting.date + timedelta(days=14))
    first, second = PatientFactory(), PatientFactory()
    a = services.item_add(actor=surgeon_user, patient=first, question="Surgery for the smile?")
    b = services.item_add(actor=surgeon_user, patient=second, question="Toxin not working")
    assert a.meeting == b.meeting == meeting != later
    assert [i.pk for i in selectors.agenda(meeting)] == [a.pk, b.pk]
    assert AuditEvent.objects.filter(action="mdt.item_added", patient_id=first.pk).exists()
    assert MdtItem.history.count() == 2


def test_no_planned_meeting_is_a_refusal(surgeon_user, patient):
    with pytest.raises(NoMeetingPlanned):
        services.item_add(actor=surgeon_user, patient=patient, question="Anything")


def test_one_item_per_patient_per_meeting(surgeon_user, patient, meeting):
    services.item_add(actor=surgeon_user, patient=patient, question="First")
    with pytest.raises(AlreadyOnAgenda) as raised:
        services.item_add(actor=surgeon_user, patient=patient, question="Second")
    assert raised.value.status == 409


def test_the_database_refuses_a_second_item_for_the_patient_at_the_meeting(surgeon_user, patient, meeting):
    MdtItem.objects.create(meeting=meeting, patient=patient, question="a", flagged_by=surgeon_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        MdtItem.objects.create(meeting=meeting, patient=patient, question="b", flagged_by=surgeon_user)


def test_a_question_is_required(surgeon_user, patient, meeting):
    with pytest.raises(Invalid):
        services.item_add(actor=surgeon_user, patient=patient, question="  ")


def test_outcome_with_a_task_for_a_role(surgeon_user, patient, meeting):
    item = services.item_add(actor=surgeon_user, patient=patient, question="DAO excision?")
    due = timezone.localdate() + timedelta(days=21)
    services.item_discuss(
        item=item,
        actor=surgeon_user,
        outcome="Offer left DAO excision after a lidocaine test.",
        decision="surgery",
        tasks=[{"role": "front_desk", "description": "Book a surgical consultation", "due": due}],
    )
    item.refresh_from_db()
    assert (item.status, item.decision, item.discussed_by) == ("discussed", "surgery", surgeon_user)
    assert selectors.agenda(meeting) == []
    task = item.tasks.get()
    assert (task.role, task.due, task.done) == ("front_desk", due, False)
    with pytest.raises(ItemNotOpen):
        services.item_discuss(item=item, actor=surgeon_user, outcome="again", decision="other")


def test_my_roles_tasks_and_marking_one_done(surgeon_user, front_desk_user, therapist_user, patient, meeting):
    item = services.item_add(actor=surgeon_user, patient=patient, question="?")
    due = timezone.localdate() + timedelta(days=3)
    services.item_discuss(
        item=item,
        actor=surgeon_user,
        outcome="NMRT first",
        decision="change_plan",
        tasks=[
            {"role": "front_desk", "description": "Book NMRT", "due": due},
            {"role": "therapist", "description": "Start NMRT", "due": due},
        ],
    )
    desk = selectors.tasks(roles=selectors.user_roles(front_desk_user))
    assert [t.description for t in desk] == ["Book NMRT"]
    therapist_task = item.tasks.get(role="therapist")
    with pytest.raises(NotAllowed):
        services.task_complete(task=therapist_task, actor=front_desk_user)
    done = services.task_complete(task=desk[0], actor=front_desk_user)
    assert (done.done, done.done_by) == (True, front_desk_user)
    with pytest.raises(TaskDone):
        services.task_complete(task=done, actor=front_desk_user)
    assert not selectors.tasks(roles=["front_desk"]).exists()


def test_items_not_reached_roll_over_to_the_next_meeting(surgeon_user, meeting):
    reached, missed = PatientFactory(), PatientFactory()
    a = services.item_add(actor=surgeon_user, patient=reached, question="A")
    b = services.item_add(actor=surgeon_user, patient=missed, question="B")
    services.item_discuss(item=a, actor=surgeon_user, outcome="Continue", decision="continue")
    # No next meeting yet: held, the missed item waits for one.
    services.meeting_hold(
        meeting=meeting, actor=surgeon_user, attendees_note="Dr Visiting", attendee_ids=[surgeon_user.pk]
    )
    b.refresh_from_db()
    assert b.status == "open"
    with pytest.raises(MeetingHeld):
        services.item_add(actor=surgeon_user, patient=PatientFactory(), question="late", meeting=meeting)
    following = services.meeting_create(actor=surgeon_user, date=meeting.date + timedelta(days=28))
    b.refresh_from_db()
    assert b.status == "rolled_over"
    carried = selectors.agenda(following)
    assert [(i.patient_id, i.question, i.carried_from_id) for i in carried] == [(missed.pk, "B", b.pk)]
    assert list(meeting.attendees.all()) == [surgeon_user]


def test_rolling_over_onto_an_existing_item_joins_the_questions(surgeon_user, patient, meeting):
    following = services.meeting_create(actor=surgeon_user, date=meeting.date + timedelta(days=28))
    services.item_add(actor=surgeon_user, patient=patient, question="Old question")
    services.item_add(actor=surgeon_user, patient=patient, question="New question", meeting=following)
    services.meeting_hold(meeting=meeting, actor=surgeon_user)
    (item,) = selectors.agenda(following)
    assert "New question" in item.question and "Carried over: Old question" in item.question


def test_a_merge_keeps_one_item_per_meeting(surgeon_user, manager_user, meeting):
    from patients.services import patient_merge

    survivor, duplicate = PatientFactory(), PatientFactory()
    services.item_add(actor=surgeon_user, patient=survivor, question="Survivor's")
    services.item_add(actor=surgeon_user, patient=duplicate, question="Duplicate's")
    patient_merge(survivor=survivor, duplicate=duplicate, actor=manager_user)
    (item,) = selectors.agenda(meeting)
    assert item.patient_id == survivor.pk
    assert "Duplicate's" in item.question
