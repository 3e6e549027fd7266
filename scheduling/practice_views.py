"""The practice set-up pages (under /schedule/setup/), for whoever manages the schedule: each
provider's working hours, time off, rooms and appointment types. They call the services in
scheduling.practice, which validate and audit."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.errors import DomainError
from clinic.forms import form_errors_add
from clinic.views import capability_required

from . import practice
from .models import AppointmentType, Provider, Room, TimeOff, WorkingHours
from .practice_forms import AppointmentTypeForm, RoomForm, TimeOffForm, WorkingHoursForm

MANAGE = "clinic.manage_schedule"


def _data(form) -> dict:
    return {name: form.cleaned_data[name] for name in form._meta.fields}


@capability_required(MANAGE)
def setup(request):
    """The overview: providers and their weekly hours, rooms, appointment types."""
    providers = Provider.objects.select_related("user").prefetch_related(
        Prefetch("working_hours", queryset=WorkingHours.objects.select_related("location"))
    )
    rooms = Room.objects.select_related("location")
    types = AppointmentType.objects.order_by("-is_active", "name")
    upcoming_off = TimeOff.objects.filter(ends_at__gt=timezone.now()).count()
    return render(
        request,
        "scheduling/practice/setup.html",
        {
            "section": "setup",
            "providers": providers,
            "rooms": rooms,
            "types": types,
            "upcoming_off": upcoming_off,
            "weekdays": practice.WEEKDAYS,
        },
    )


@capability_required(MANAGE)
def provider_hours(request, pk: int):
    """One provider's working hours: the week, add hours, remove hours."""
    provider = get_object_or_404(Provider.objects.select_related("user"), pk=pk)
    # ?edit=<id> (and the form's "hours" field): change one row instead of adding one.
    editing_id = (request.POST if request.method == "POST" else request.GET).get("edit", "")
    editing = None
    if editing_id.isdigit() and len(editing_id) < 19:
        editing = get_object_or_404(WorkingHours, pk=int(editing_id), provider=provider)
    status = 200
    if request.method == "POST":
        form = WorkingHoursForm(request.POST, instance=editing)
        if form.is_valid():
            try:
                practice.working_hours_save(
                    data={**_data(form), "provider": provider}, actor=request.user, hours=editing
                )
            except DomainError as exc:
                form_errors_add(form, exc)
                status = exc.status
            else:
                messages.success(request, "Working hours changed." if editing else "Working hours added.")
                return redirect("scheduling:practice_hours", pk=provider.pk)
        else:
            status = 400
    else:
        form = WorkingHoursForm(instance=editing)
    hours = provider.working_hours.select_related("location").order_by("weekday", "start_time")
    return render(
        request,
        "scheduling/practice/hours.html",
        {
            "section": "setup",
            "provider": provider,
            "hours": hours,
            "form": form,
            "editing": editing,
            "weekdays": practice.WEEKDAYS,
        },
        status=status,
    )


@require_POST
@capability_required(MANAGE)
def hours_delete(request, pk: int):
    hours = get_object_or_404(WorkingHours.objects.select_related("provider__user"), pk=pk)
    provider_id = hours.provider_id
    practice.working_hours_delete(hours=hours, actor=request.user)
    messages.success(request, "Working hours removed.")
    return redirect("scheduling:practice_hours", pk=provider_id)


@capability_required(MANAGE)
def time_off(request):
    """Time off still to come (and the last month's): add a period for a provider or a room.
    Over booked appointments the page lists them and asks for confirmation."""
    status = 200
    in_the_way = []
    if request.method == "POST":
        form = TimeOffForm(request.POST)
        if form.is_valid():
            try:
                practice.time_off_save(
                    data=_data(form),
                    actor=request.user,
                    acknowledge_bookings=form.cleaned_data["acknowledge_bookings"],
                )
            except practice.TimeOffOverlapsBookings as exc:
                in_the_way = exc.extra["appointments"]
                status = exc.status
            except DomainError as exc:
                form_errors_add(form, exc)
                status = exc.status
            else:
                messages.success(request, "Time off saved.")
                return redirect("scheduling:practice_time_off")
        else:
            status = 400
    else:
        form = TimeOffForm()
    since = timezone.now() - timedelta(days=30)
    periods = TimeOff.objects.filter(ends_at__gt=since).select_related("provider__user", "room__location")
    for row in in_the_way:
        row["starts_at"] = datetime.fromisoformat(row["starts_at"])
    return render(
        request,
        "scheduling/practice/time_off.html",
        {"section": "setup", "form": form, "periods": periods, "in_the_way": in_the_way},
        status=status,
    )


@require_POST
@capability_required(MANAGE)
def time_off_delete(request, pk: int):
    period = get_object_or_404(TimeOff, pk=pk)
    practice.time_off_delete(time_off=period, actor=request.user)
    messages.success(request, "Time off removed.")
    return redirect("scheduling:practice_time_off")


def _edit(request, *, form_class, instance, save, template: str, saved: str):
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, instance=instance)
        if form.is_valid():
            try:
                save(_data(form))
            except DomainError as exc:
                form_errors_add(form, exc)
                status = exc.status
            else:
                messages.success(request, saved)
                return redirect("scheduling:practice_setup")
        else:
            status = 400
    else:
        form = form_class(instance=instance)
    return render(request, template, {"section": "setup", "form": form, "object": instance}, status=status)


@capability_required(MANAGE)
def room_edit(request, pk: int | None = None):
    room = get_object_or_404(Room, pk=pk) if pk is not None else None
    return _edit(
        request,
        form_class=RoomForm,
        instance=room,
        save=lambda data: practice.room_save(data=data, actor=request.user, room=room),
        template="scheduling/practice/room_form.html",
        saved="Room saved.",
    )


@capability_required(MANAGE)
def type_edit(request, pk: int | None = None):
    appointment_type = get_object_or_404(AppointmentType, pk=pk) if pk is not None else None
    return _edit(
        request,
        form_class=AppointmentTypeForm,
        instance=appointment_type,
        save=lambda data: practice.appointment_type_save(
            data=data, actor=request.user, appointment_type=appointment_type
        ),
        template="scheduling/practice/type_form.html",
        saved="Appointment type saved.",
    )
