"""Writes of the MDT app: flagging, meetings, outcomes, tasks. Each runs in one transaction,
names its actor (clinic.audit) and refuses with an exception of mdt.exceptions."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from clinic.audit import acting_user, attribute, audit_record
from clinic.errors import Invalid, NotAllowed
from clinic.permissions import is_staff_member
from clinic.roles import Role
from patients.models import Patient

from .exceptions import AlreadyOnAgenda, ItemNotOpen, MeetingHeld, NoMeetingPlanned, TaskDone
from .models import MdtAttendance, MdtItem, MdtMeeting, MdtTask

UNIQUE_ITEM = "mdt_item_one_per_patient_per_meeting"


def _text(value: str, *, model: type[Any], field: str, required: bool = True) -> str:
    value = (value or "").strip()
    limit = model._meta.get_field(field).max_length
    if required and not value:
        raise Invalid(fields={field: ["This field is required."]})
    if limit and len(value) > limit:
        raise Invalid(fields={field: [f"At most {limit} characters."]})
    return value


def _set_attendees(meeting: MdtMeeting, attendee_ids: Iterable[int], actor: Any) -> None:
    ids = set(attendee_ids)
    users = list(get_user_model().objects.filter(pk__in=ids))
    if len(users) != len(ids) or not all(is_staff_member(u) for u in users):
        raise Invalid(fields={"attendees": ["Each attendee must be an active member of staff."]})
    present = set(MdtAttendance.objects.filter(meeting=meeting).values_list("user_id", flat=True))
    for user in users:
        if user.pk not in present:
            attribute(MdtAttendance(meeting=meeting, user=user), actor).save()


def next_meeting(*, today: date | None = None) -> MdtMeeting | None:
    """The next planned meeting: the earliest planned one from today on."""
    today = today or timezone.localdate()
    return (
        MdtMeeting.objects.filter(status=MdtMeeting.Status.PLANNED, date__gte=today)
        .order_by("date", "id")
        .first()
    )


def _next_position(meeting: MdtMeeting) -> int:
    top = MdtItem.objects.filter(meeting=meeting).aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def _carry_over(actor: Any) -> list[int]:
    """Items that a held meeting did not reach go to the next planned meeting (rolled over):
    a new item there, ``carried_from`` the old one; where the patient is already on that
    agenda, the question joins that item. Returns the ids of the items rolled over."""
    target = next_meeting()
    if target is None:
        return []
    carried = []
    for old in (
        MdtItem.objects.select_for_update()
        .filter(status=MdtItem.Status.OPEN, meeting__status=MdtMeeting.Status.HELD)
        .order_by("meeting__date", "position", "id")
    ):
        existing = (
            MdtItem.objects.select_for_update()
            .filter(meeting=target, patient_id=old.patient_id)
            .exclude(status=MdtItem.Status.MERGED)
            .first()
        )
        if existing is not None:
            existing.question = f"{existing.question}\n\nCarried over: {old.question}"[:2000]
            attribute(existing, actor).save(update_fields=["question"])
        else:
            new = MdtItem(
                meeting=target,
                patient_id=old.patient_id,
                question=old.question,
                position=_next_position(target),
                flagged_by_id=old.flagged_by_id,
                carried_from=old,
            )
            attribute(new, actor).save()
        old.status = MdtItem.Status.ROLLED_OVER
        old._change_reason = f"rolled over to the meeting of {target.date.isoformat()}"  # type: ignore[attr-defined]
        attribute(old, actor).save(update_fields=["status"])
        carried.append(old.pk)
    if carried:
        audit_record(actor=actor, action="mdt.items_rolled_over", target=target, changes={"items": carried})
    return carried


@transaction.atomic
def meeting_create(
    *, actor: Any, date: date, attendees_note: str = "", attendee_ids: Iterable[int] = ()
) -> MdtMeeting:
    meeting = MdtMeeting(
        date=date,
        attendees_note=_text(attendees_note, model=MdtMeeting, field="attendees_note", required=False),
        created_by=acting_user(actor),
    )
    attribute(meeting, actor).save()
    _set_attendees(meeting, attendee_ids, actor)
    audit_record(
        actor=actor, action="mdt.meeting_created", target=meeting, changes={"date": date.isoformat()}
    )
    _carry_over(actor)
    return meeting


@transaction.atomic
def meeting_hold(
    *, meeting: MdtMeeting, actor: Any, attendees_note: str | None = None, attendee_ids: Iterable[int] = ()
) -> MdtMeeting:
    """The meeting took place: who attended; the items it did not reach roll over."""
    meeting = MdtMeeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.status == MdtMeeting.Status.HELD:
        raise MeetingHeld()
    if attendees_note is not None:
        meeting.attendees_note = _text(
            attendees_note, model=MdtMeeting, field="attendees_note", required=False
        )
    _set_attendees(meeting, attendee_ids, actor)
    meeting.status = MdtMeeting.Status.HELD
    meeting.held_at = timezone.now()
    attribute(meeting, actor).save()
    audit_record(actor=actor, action="mdt.meeting_held", target=meeting)
    _carry_over(actor)
    return meeting


@transaction.atomic
def item_add(*, actor: Any, patient: Patient, question: str, meeting: MdtMeeting | None = None) -> MdtItem:
    """Flag ``patient`` for ``meeting`` (by default the next planned one) with a question.
    One item per patient per meeting: a second is AlreadyOnAgenda (409), also when two desks
    flag the patient at the same moment (the unique constraint decides)."""
    question = _text(question, model=MdtItem, field="question")
    if patient.status != Patient.Status.ACTIVE:
        raise Invalid(fields={"patient": ["The patient's record is not active."]})
    if meeting is None:
        meeting = next_meeting()
        if meeting is None:
            raise NoMeetingPlanned()
    meeting = MdtMeeting.objects.select_for_update().get(pk=meeting.pk)
    if meeting.status == MdtMeeting.Status.HELD:
        raise MeetingHeld()
    existing = (
        MdtItem.objects.filter(meeting=meeting, patient=patient).exclude(status=MdtItem.Status.MERGED).first()
    )
    if existing is not None:
        raise AlreadyOnAgenda(item=existing.pk)
    item = MdtItem(
        meeting=meeting,
        patient=patient,
        question=question,
        position=_next_position(meeting),
        flagged_by=acting_user(actor),
    )
    attribute(item, actor)
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError as exc:
        if UNIQUE_ITEM in str(exc):
            raise AlreadyOnAgenda() from exc
        raise
    audit_record(
        actor=actor,
        action="mdt.item_added",
        target=item,
        patient_id=patient.pk,
        changes={"meeting": meeting.pk},
    )
    return item


def _task(item: MdtItem, actor: Any, *, role: str, description: str, due: date | None) -> MdtTask:
    if role not in Role.values:
        raise Invalid(fields={"role": [f"Must be one of: {', '.join(Role.values)}."]})
    if due is None:
        raise Invalid(fields={"due": ["Give a due date."]})
    task = MdtTask(
        item=item,
        role=role,
        description=_text(description, model=MdtTask, field="description"),
        due=due,
        created_by=acting_user(actor),
    )
    attribute(task, actor).save()
    return task


@transaction.atomic
def item_discuss(
    *, item: MdtItem, actor: Any, outcome: str, decision: str, tasks: Iterable[dict[str, Any]] = ()
) -> MdtItem:
    """Record the outcome of the discussion (free text and a decision) and its follow-up tasks,
    each for a role with a due date."""
    item = MdtItem.objects.select_for_update().select_related("meeting").get(pk=item.pk)
    if item.status != MdtItem.Status.OPEN:
        raise ItemNotOpen()
    if decision not in MdtItem.Decision.values:
        raise Invalid(fields={"decision": [f"Must be one of: {', '.join(MdtItem.Decision.values)}."]})
    item.outcome = _text(outcome, model=MdtItem, field="outcome")
    item.decision = decision
    item.status = MdtItem.Status.DISCUSSED
    item.discussed_by = acting_user(actor)
    item.discussed_at = timezone.now()
    attribute(item, actor).save()
    made = [
        _task(item, actor, role=t.get("role", ""), description=t.get("description", ""), due=t.get("due"))
        for t in tasks
    ]
    audit_record(
        actor=actor,
        action="mdt.item_discussed",
        target=item,
        patient_id=item.patient_id,
        changes={"decision": decision, "tasks": [t.pk for t in made]},
    )
    return item


@transaction.atomic
def task_add(*, item: MdtItem, actor: Any, role: str, description: str, due: date | None) -> MdtTask:
    item = MdtItem.objects.select_for_update().get(pk=item.pk)
    if item.status == MdtItem.Status.MERGED:
        raise ItemNotOpen()
    task = _task(item, actor, role=role, description=description, due=due)
    audit_record(
        actor=actor, action="mdt.task_added", target=task, patient_id=item.patient_id, changes={"role": role}
    )
    return task


def may_complete(user: Any, task: MdtTask) -> bool:
    """A task is done by someone holding its role, or by a clinician."""
    if not is_staff_member(user):
        return False
    return bool(user.has_perm("clinic.record_consultation") or user.groups.filter(name=task.role).exists())


@transaction.atomic
def task_complete(*, task: MdtTask, actor: Any) -> MdtTask:
    task = MdtTask.objects.select_for_update().select_related("item").get(pk=task.pk)
    if not may_complete(actor, task):
        raise NotAllowed("Only someone in the task's role, or a clinician, can mark it done.")
    if task.done:
        raise TaskDone()
    task.done = True
    task.done_by = acting_user(actor)
    task.done_at = timezone.now()
    attribute(task, actor).save()
    audit_record(actor=actor, action="mdt.task_done", target=task, patient_id=task.item.patient_id)
    return task
