"""Pages of the MDT app, under /mdt/: thin, each calls one service or selector.

Reading the meetings is clinical (``view_clinical``); flagging, planning, holding and
recording outcomes need ``record_consultation``. The task list is every member of staff's:
the tasks of the roles they hold."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from clinic.errors import DomainError
from clinic.forms import form_errors_add
from clinic.roles import Role
from clinic.views import capability_required
from patients.models import Patient

from . import forms, selectors, services
from .models import MdtItem, MdtMeeting, MdtTask

READ = "clinic.view_clinical"
WRITE = "clinic.record_consultation"


def _may_write(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(WRITE))


@capability_required(READ)
def meetings(request: HttpRequest) -> HttpResponse:
    form = forms.MeetingForm()
    status = 200
    if request.method == "POST":
        if not _may_write(request):
            raise PermissionDenied
        form = forms.MeetingForm(request.POST)
        if form.is_valid():
            try:
                meeting = services.meeting_create(
                    actor=request.user,
                    date=form.cleaned_data["date"],
                    attendees_note=form.cleaned_data["attendees_note"],
                    attendee_ids=[u.pk for u in form.cleaned_data["attendees"]],
                )
            except DomainError as exc:
                form_errors_add(form, exc)
                status = exc.status
            else:
                messages.success(request, f"MDT meeting planned for {meeting.date:%d %b %Y}.")
                return redirect("mdt:meeting", pk=meeting.pk)
        else:
            status = 400
    return render(
        request,
        "mdt/meetings.html",
        {
            "meetings": selectors.meetings()[:50],
            "next_meeting": services.next_meeting(),
            "form": form,
            "can_write": _may_write(request),
        },
        status=status,
    )


def _meeting_page(
    request: HttpRequest, meeting: MdtMeeting, *, bound: dict[int, Any] | None = None, status: int = 200
) -> HttpResponse:
    items = selectors.meeting_items(meeting)
    bound = bound or {}
    rows = [
        {
            "item": item,
            "form": bound.get(item.pk) or forms.OutcomeForm(prefix=f"item-{item.pk}"),
        }
        for item in items
    ]
    return render(
        request,
        "mdt/meeting.html",
        {
            "meeting": meeting,
            "agenda": [r for r in rows if r["item"].status == MdtItem.Status.OPEN],
            "done": [r for r in rows if r["item"].status != MdtItem.Status.OPEN],
            "attendees": meeting.attendees.order_by("first_name", "last_name"),
            "hold_form": forms.HoldForm(),
            "can_write": _may_write(request),
        },
        status=status,
    )


@capability_required(READ)
def meeting(request: HttpRequest, pk: int) -> HttpResponse:
    return _meeting_page(request, get_object_or_404(MdtMeeting, pk=pk))


@require_POST
@capability_required(READ, WRITE)
def meeting_hold(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_object_or_404(MdtMeeting, pk=pk)
    form = forms.HoldForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_hold(
                meeting=meeting,
                actor=request.user,
                attendees_note=form.cleaned_data["attendees_note"] or None,
                attendee_ids=[u.pk for u in form.cleaned_data["attendees"]],
            )
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, "The meeting is recorded as held; items not reached roll over.")
    else:
        messages.error(request, "Check the attendees.")
    return redirect("mdt:meeting", pk=meeting.pk)


@capability_required(READ, WRITE)
def flag(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Flag the patient for a meeting (the next one by default) with a question."""
    patient = get_object_or_404(Patient, pk=patient_id)
    form = forms.FlagForm()
    status = 200
    if request.method == "POST":
        form = forms.FlagForm(request.POST)
        if form.is_valid():
            try:
                item = services.item_add(
                    actor=request.user,
                    patient=patient,
                    question=form.cleaned_data["question"],
                    meeting=form.cleaned_data["meeting"],
                )
            except DomainError as exc:
                form_errors_add(form, exc)
                status = exc.status
            else:
                messages.success(request, f"{patient.display_name} is on the agenda of {item.meeting}.")
                return redirect("mdt:meeting", pk=item.meeting_id)
        else:
            status = 400
    return render(
        request,
        "mdt/flag.html",
        {"patient": patient, "form": form, "next_meeting": services.next_meeting()},
        status=status,
    )


@require_POST
@capability_required(READ, WRITE)
def item_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(MdtItem.objects.select_related("meeting"), pk=pk)
    form = forms.OutcomeForm(request.POST, prefix=f"item-{item.pk}")
    status = 400
    if form.is_valid():
        try:
            services.item_discuss(
                item=item,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                decision=form.cleaned_data["decision"],
                tasks=form.tasks(),
            )
        except DomainError as exc:
            form_errors_add(form, exc)
            status = exc.status
        else:
            messages.success(request, f"Outcome recorded for {item.patient.display_name}.")
            return redirect("mdt:meeting", pk=item.meeting_id)
    return _meeting_page(request, item.meeting, bound={item.pk: form}, status=status)


@require_safe
@capability_required("clinic.view_demographics")
def tasks(request: HttpRequest) -> HttpResponse:
    """My role's MDT tasks (every role I hold); clinicians may ask for every role's."""
    roles = selectors.user_roles(request.user)
    every_role = request.GET.get("roles") == "all" and request.user.has_perm(READ)
    show_done = request.GET.get("done") == "1"
    rows = selectors.tasks(roles=None if every_role else roles, include_done=show_done)[:200]
    return render(
        request,
        "mdt/tasks.html",
        {
            "tasks": rows,
            "roles": [Role(r).label for r in roles],
            "every_role": every_role,
            "show_done": show_done,
            "can_see_all": request.user.has_perm(READ),
        },
    )


@require_POST
@capability_required("clinic.view_demographics")
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(MdtTask, pk=pk)
    try:
        services.task_complete(task=task, actor=request.user)
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied from exc
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Task marked done.")
    return redirect("mdt:tasks")
