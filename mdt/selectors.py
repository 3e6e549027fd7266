"""Reads of the MDT app."""

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from clinic.roles import Role

from .models import MdtItem, MdtMeeting, MdtTask


def meetings() -> QuerySet[MdtMeeting]:
    """Every meeting, the next first among the planned ones, with the size of its agenda."""
    return MdtMeeting.objects.annotate(
        open_items=Count("items", filter=Q(items__status=MdtItem.Status.OPEN)),
        all_items=Count("items"),
    ).order_by("-date", "-id")


def _tasks() -> Prefetch:  # type: ignore[type-arg]
    return Prefetch("tasks", queryset=MdtTask.objects.select_related("done_by").order_by("due", "id"))


def meeting_items(meeting: MdtMeeting) -> list[MdtItem]:
    """The meeting's items in agenda order; the agenda is those still open."""
    return list(
        MdtItem.objects.filter(meeting=meeting)
        .exclude(status=MdtItem.Status.MERGED)
        .select_related("patient", "flagged_by", "discussed_by", "carried_from__meeting")
        .prefetch_related(_tasks())
        .order_by("position", "id")
    )


def agenda(meeting: MdtMeeting) -> list[MdtItem]:
    return [item for item in meeting_items(meeting) if item.status == MdtItem.Status.OPEN]


def patient_items(*, patient_id: int) -> list[MdtItem]:
    """The patient's MDT items, newest meeting first, with their tasks."""
    return list(
        MdtItem.objects.filter(patient_id=patient_id)
        .exclude(status=MdtItem.Status.MERGED)
        .select_related("meeting", "flagged_by")
        .prefetch_related(_tasks())
        .order_by("-meeting__date", "-id")
    )


def user_roles(user: Any) -> list[str]:
    """The clinic roles ``user`` holds (their groups that are roles)."""
    return [name for name in user.groups.values_list("name", flat=True) if name in Role.values]


def tasks(*, roles: list[str] | None = None, include_done: bool = False) -> QuerySet[MdtTask]:
    rows = MdtTask.objects.select_related("item__patient", "item__meeting", "done_by", "created_by")
    if roles is not None:
        rows = rows.filter(role__in=roles)
    if not include_done:
        rows = rows.filter(done=False)
    return rows.order_by("done", "due", "id")
