"""Refusals of the MDT app, each with a stable code (see clinic.errors)."""

from clinic.errors import Conflict


class AlreadyOnAgenda(Conflict):
    code = "mdt_already_on_agenda"
    default_detail = "This patient is already on that meeting's agenda: add the question to the item."


class NoMeetingPlanned(Conflict):
    code = "mdt_no_meeting_planned"
    default_detail = "No MDT meeting is planned: plan one first."


class MeetingHeld(Conflict):
    code = "mdt_meeting_held"
    default_detail = "This meeting has been held; its agenda is closed."


class ItemNotOpen(Conflict):
    code = "mdt_item_not_open"
    default_detail = "This item has already been discussed or rolled over."


class TaskDone(Conflict):
    code = "mdt_task_done"
    default_detail = "This task is already done."
