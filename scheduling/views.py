"""Front-desk and clinician pages: calendars, booking, arrivals, the waitlist, exports.

Pages call the same services as the API; a DomainError becomes a form error or a flash
message, never a 500. Times are shown in the clinic's time zone.
"""

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.redirects import safe_next
from clinic.views import capability_required
from patients.models import MessagingConsent, Patient
from patients.selectors import patient_search
from patients.services import consent_record, patient_register

from . import availability, calendar, clock, forms, selectors, services
from .ics import provider_calendar
from .models import Appointment, AppointmentEvent, Location, Provider, WaitlistEntry, WaitlistOffer
from .reminders.selectors import booking_notifications
from .rules import booking_warnings
from .visit_records import visit_record_links

BOOK = "clinic.book_appointments"
VIA = services.VIA_STAFF
SEARCH_LIMIT = 10


# --- helpers ---------------------------------------------------------------------------------


def _day(request, key: str = "date") -> date:
    try:
        return date.fromisoformat(request.GET.get(key, "")[:10])
    except ValueError:
        return clock.local_today()


def _location(request) -> Location | None:
    value = request.GET.get("location", "")
    return Location.objects.filter(pk=int(value)).first() if value.isdigit() and len(value) < 18 else None


def _day_url(day: date, name: str = "scheduling:day", **params) -> str:
    query = urlencode({"date": day.isoformat(), **{k: v for k, v in params.items() if v}})
    return f"{reverse(name)}?{query}"


def _redirect(request, url: str) -> HttpResponse:
    """A full-page redirect for htmx and plain requests alike (the grid must be redrawn)."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _form_error(form, exc: DomainError) -> None:
    """Put a service's error on the form: on the fields it names, else above the form."""
    placed = False
    for name, problems in exc.fields.items():
        if name in form.fields:
            for problem in problems:
                form.add_error(name, problem)
            placed = True
    if not placed or exc.detail != exc.default_detail:
        form.add_error(None, _describe(exc))


def _describe(exc: DomainError) -> str:
    earliest = exc.extra.get("earliest")
    if earliest and earliest not in exc.detail:
        return f"{exc.detail} (earliest: {earliest})"
    return exc.detail


def _when(appointment) -> str:
    return f"{clock.local(appointment.starts_at):%H:%M on %a %d %b}"


def _search_results(request) -> list:
    query = request.GET.get("q", "").strip()[:100]
    if "\x00" in query or not query:
        return []
    return list(patient_search(query=query, limit=SEARCH_LIMIT))


# --- calendars -------------------------------------------------------------------------------


@capability_required(BOOK)
def day(request):
    """One column per provider, a row per quarter hour; free slots open the booking dialog.

    When more providers work than fit (``settings.SCHEDULE_DAY_COLUMNS``), the columns are
    paged with ``?page=`` (out of range: the last page). The cancellations and waitlist matches
    shown are those of the page's providers (see ``calendar.ProviderDay``).
    """
    the_day = _day(request)
    location = _location(request)
    shown = calendar.provider_day(day=the_day, location=location, page=request.GET.get("page", "")[:6])
    start, end = clock.day_bounds(the_day)
    context = {
        "grid": shown.grid,
        "cancelled": shown.cancelled,
        "offers": selectors.waitlist_open_offers(start=start, end=end, scope=shown.scope),
        "mode": "providers",
        **_column_pager(shown.page, "provider", the_day, location, "scheduling:day"),
        **_nav(the_day, location, "scheduling:day", page=_page_param(shown.page.number)),
    }
    return render(request, "scheduling/day.html", context)


@capability_required(BOOK)
def rooms(request):
    """One column per active room, paged like the day view's providers (``?page=``)."""
    the_day = _day(request)
    location = _location(request)
    shown = calendar.room_day(day=the_day, location=location, page=request.GET.get("page", "")[:6])
    context = {
        "grid": shown.grid,
        "mode": "rooms",
        **_column_pager(shown.page, "room", the_day, location, "scheduling:rooms"),
        **_nav(the_day, location, "scheduling:rooms", page=_page_param(shown.page.number)),
    }
    return render(request, "scheduling/day.html", context)


def _page_param(number: int) -> int | None:
    """``?page=`` for links to a page of columns: left out for the first."""
    return number if number > 1 else None


def _column_pager(page, noun: str, the_day: date, location, name: str) -> dict:
    """The pager over a calendar's columns and the grid's caption, for the template: no pager
    when one page holds them all.

    ``page_columns`` reads "Providers 13-24" (an en dash on the page) or "Room 25".
    """
    if not page.has_other_pages():
        return {"page": None, "column_noun": noun, "caption": f"{noun.capitalize()}s by quarter hour"}
    place = location and location.pk

    def page_url(number: int) -> str:
        return _day_url(the_day, name, location=place, page=_page_param(number))

    first, last = page.start_index(), page.end_index()
    columns = f"{noun.capitalize()} {first}" if first == last else f"{noun.capitalize()}s {first}\u2013{last}"
    return {
        "page": page,
        "page_columns": columns,
        "column_noun": noun,
        "caption": f"{columns} of {page.paginator.count} by quarter hour",
        "previous_page_url": page_url(page.previous_page_number()) if page.has_previous() else "",
        "next_page_url": page_url(page.next_page_number()) if page.has_next() else "",
    }


def _location_filter(location) -> dict:
    """The location picker's context (``_location_field.html``): the chosen one, and the choice."""
    return {"location": location, "locations": list(Location.objects.filter(is_active=True))}


def _nav(the_day: date, location, name: str, **params) -> dict:
    """The date and location pickers' links; ``params`` (the columns' page) are kept."""
    place = location and location.pk
    return {
        "day": the_day,
        "today": clock.local_today(),
        **_location_filter(location),
        "prev_url": _day_url(the_day - timedelta(days=1), name, location=place, **params),
        "next_url": _day_url(the_day + timedelta(days=1), name, location=place, **params),
        "today_url": _day_url(clock.local_today(), name, location=place, **params),
    }


@capability_required(BOOK)
def week(request):
    """A provider's week, Monday to Sunday."""
    providers = list(Provider.objects.filter(is_active=True).select_related("user"))
    chosen = request.GET.get("provider", "")
    provider = next((p for p in providers if str(p.pk) == chosen), None)
    if provider is None:
        own = next((p for p in providers if p.user_id == request.user.pk), None)
        provider = own or (providers[0] if providers else None)
    the_day = _day(request)
    monday = the_day - timedelta(days=the_day.weekday())
    context = {
        "providers": providers,
        "provider": provider,
        "monday": monday,
        "grid": calendar.provider_week(provider=provider, monday=monday) if provider else None,
        "prev_url": _day_url(
            monday - timedelta(days=7), "scheduling:week", provider=provider and provider.pk
        ),
        "next_url": _day_url(
            monday + timedelta(days=7), "scheduling:week", provider=provider and provider.pk
        ),
        "ics_from": monday,
        "ics_to": monday + timedelta(days=27),
    }
    return render(request, "scheduling/week.html", context)


@capability_required(BOOK)
def my_day(request):
    """The logged-in clinician's appointments today."""
    provider = Provider.objects.filter(user=request.user).first()
    today = clock.local_today()
    appointments = []
    if provider is not None:
        start, end = clock.day_bounds(today)
        appointments = list(
            selectors.appointment_queryset()
            .filter(provider=provider, starts_at__gte=start, starts_at__lt=end)
            .order_by("starts_at", "id")
        )
    now = timezone.now()
    upcoming = next((a for a in appointments if a.ends_at > now and a.is_active), None)
    return render(
        request,
        "scheduling/my_day.html",
        {"provider": provider, "appointments": appointments, "today": today, "up_next": upcoming},
    )


@capability_required(BOOK)
def arrivals(request):
    """Today's patients still to arrive or already here, with check-in; ``?location=`` keeps to
    one site's rooms (a clinic group's front desks work at one)."""
    today = clock.local_today()
    location = _location(request)
    context = {
        "appointments": selectors.arrivals(day=today, location=location),
        "today": today,
        **_location_filter(location),
    }
    return render(request, "scheduling/arrivals.html", context)


@require_POST
@capability_required(BOOK)
def arrival_check_in(request, pk: int):
    appointment = get_object_or_404(selectors.appointment_queryset(), pk=pk)
    try:
        appointment = services.appointment_check_in(appointment=appointment, actor=request.user, via=VIA)
        messages.success(request, f"{appointment.patient.display_name} checked in.")
    except DomainError as exc:
        messages.error(request, _describe(exc))
    if request.htmx:
        appointment = selectors.appointment_queryset().get(pk=pk)
        return render(request, "scheduling/_arrival_row.html", {"a": appointment, "oob_messages": True})
    location = _location(request)
    back = reverse("scheduling:arrivals")
    return redirect(f"{back}?location={location.pk}" if location else back)


@capability_required(BOOK)
def print_day(request):
    """A printable list of one day's appointments, per provider; ``?provider=`` or
    ``?location=`` narrows it to one provider or one site's rooms."""
    the_day = _day(request)
    location = _location(request)
    provider = request.GET.get("provider", "")
    provider_id = int(provider) if provider.isdigit() and len(provider) < 18 else None
    appointments = selectors.day_list(day=the_day, location=location, provider_id=provider_id)
    context = {"day": the_day, "location": location, "appointments": appointments}
    return render(request, "scheduling/print_day.html", context)


# --- one appointment -------------------------------------------------------------------------


def _appointment(pk: int) -> Appointment:
    events = AppointmentEvent.objects.select_related("by").order_by("at", "id")
    return get_object_or_404(
        selectors.appointment_queryset().prefetch_related(Prefetch("events", queryset=events)), pk=pk
    )


@capability_required(BOOK, "clinic.view_demographics")
def appointment_detail(request, pk: int):
    appointment = _appointment(pk)
    audit_record(
        actor=request.user, action="appointment.viewed", target=appointment, patient_id=appointment.patient_id
    )
    context = _detail_context(appointment, request.user)
    context["warnings"] = booking_warnings(appointment=appointment)
    return render(request, "scheduling/appointment.html", context)


RECORDABLE = frozenset(
    {
        Appointment.Status.BOOKED,
        Appointment.Status.CONFIRMED,
        Appointment.Status.CHECKED_IN,
        Appointment.Status.COMPLETED,
    }
)


def _record_links(appointment, user) -> list[dict]:
    """Links to record this visit's encounter, for the kinds ``user`` may record."""
    if appointment.status not in RECORDABLE:
        return []
    if appointment.starts_at > timezone.now() + timedelta(hours=1):
        return []
    return visit_record_links(appointment=appointment, user=user)


def _detail_context(appointment, user, **forms_in_use) -> dict:
    allowed = {a for a, (sources, _) in services.TRANSITIONS.items() if appointment.status in sources}
    return {
        "a": appointment,
        "record_links": _record_links(appointment, user),
        "actions": [a for a in ("confirm", "check_in", "complete", "no_show") if a in allowed],
        "can_cancel": "cancel" in allowed,
        "can_reschedule": appointment.status in services.RESCHEDULABLE,
        "cancel_form": forms_in_use.get("cancel_form") or forms.CancelForm(appointment=appointment),
        "correct_form": forms_in_use.get("correct_form") or forms.CorrectForm(appointment=appointment),
        "corrections": services.corrections_for(appointment),
    }


ACTIONS = {
    "confirm": (services.appointment_confirm, "Confirmed."),
    "check_in": (services.appointment_check_in, "Checked in."),
    "complete": (services.appointment_complete, "Marked as completed."),
    "no_show": (services.appointment_no_show, "Marked as did not attend."),
}


@require_POST
@capability_required(BOOK)
def appointment_action(request, pk: int, action: str):
    appointment = _appointment(pk)
    if action not in ACTIONS:
        raise PermissionDenied
    service, done = ACTIONS[action]
    try:
        service(appointment=appointment, actor=request.user, via=VIA)
        messages.success(request, done)
    except DomainError as exc:
        messages.error(request, _describe(exc))
    return redirect(safe_next(request, request.POST.get("next"), appointment_url(pk)))


def appointment_url(pk: int) -> str:
    return reverse("scheduling:appointment", args=[pk])


# Actions that need a form (a reason): form, service, message, the form's name in the page.
FORM_ACTIONS = {
    "cancel": (forms.CancelForm, services.appointment_cancel, "Appointment cancelled.", "cancel_form"),
    "correct": (forms.CorrectForm, services.appointment_correct, "Status corrected.", "correct_form"),
}


def _form_action(request, pk: int, name: str):
    form_class, service, done, form_name = FORM_ACTIONS[name]
    appointment = _appointment(pk)
    form = form_class(request.POST, appointment=appointment)
    if form.is_valid():
        try:
            service(appointment=appointment, **form.cleaned_data, actor=request.user, via=VIA)
            messages.success(request, done)
            return redirect(appointment_url(pk))
        except DomainError as exc:
            _form_error(form, exc)
    context = _detail_context(appointment, request.user, **{form_name: form})
    return render(request, "scheduling/appointment.html", context, status=400)


@require_POST
@capability_required(BOOK)
def appointment_cancel(request, pk: int):
    return _form_action(request, pk, "cancel")


@require_POST
@capability_required(BOOK)
def appointment_correct(request, pk: int):
    return _form_action(request, pk, "correct")


@capability_required(BOOK)
def appointment_reschedule(request, pk: int):
    """Pick a new slot (the same type's availability on a chosen date) or give a time."""
    appointment = _appointment(pk)
    if request.method == "POST":
        form = forms.RescheduleForm(request.POST)
        if form.is_valid():
            try:
                moved = services.appointment_reschedule(
                    appointment=appointment,
                    starts_at=form.cleaned_data["start"],
                    provider=form.cleaned_data["provider"],
                    room=form.cleaned_data["room"],
                    actor=request.user,
                    via=VIA,
                )
                messages.success(request, f"Moved to {_when(moved)}.")
                return _redirect(request, _day_url(clock.local(moved.starts_at).date()))
            except DomainError as exc:
                _form_error(form, exc)
        if request.htmx:
            # A drag-and-drop move: say why it did not work, above the grid.
            return render(
                request, "scheduling/_flash.html", {"errors": form.non_field_errors() or form.errors}
            )
    else:
        form = forms.RescheduleForm(initial={"start": clock.local(appointment.starts_at)})
    the_day = (
        _day(request)
        if request.GET.get("date")
        else max(clock.local_today(), clock.local(appointment.starts_at).date())
    )
    provider = appointment.provider if request.GET.get("any") != "1" else None
    slots = availability.availability_for(
        appointment_type=appointment.appointment_type,
        date_from=the_day,
        date_to=the_day + timedelta(days=6),
        provider=provider,
        patient=appointment.patient,
        duration_minutes=int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        if appointment.appointment_type.duration_set_per_booking
        else None,
        exclude_appointment_id=appointment.pk,
        limit=60,
    )
    return render(
        request,
        "scheduling/reschedule.html",
        {"a": appointment, "form": form, "slots": slots, "day": the_day, "any_provider": provider is None},
        status=400 if request.method == "POST" else 200,
    )


# --- booking ---------------------------------------------------------------------------------


def _booking_initial(request) -> dict:
    initial = {}
    for key in ("patient", "appointment_type", "provider", "room"):
        value = request.GET.get(key, "")
        if value.isdigit() and len(value) < 18:
            initial[key] = int(value)
    start = request.GET.get("start", "")
    try:
        initial["start"] = clock.local(clock.utc(datetime.fromisoformat(start[:32]))) if start else None
    except ValueError:
        initial["start"] = None
    return initial


@capability_required(BOOK, "clinic.view_demographics")
def book(request):
    """The booking dialog (a full page without JavaScript)."""
    new_patient_form = forms.PatientQuickForm(request.POST or None)
    if request.method == "POST":
        post = request.POST
        if not post.get("patient") and new_patient_form.has_input():
            # A new patient typed into the dialog: register them and book in one go.
            if not request.user.has_perm("clinic.edit_demographics"):
                raise PermissionDenied
            registered = _register_quick(new_patient_form, request.user)
            if registered is not None:
                post = post.copy()
                post["patient"] = str(registered.pk)
                new_patient_form = forms.PatientQuickForm()
        form = forms.BookingForm(post, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.appointment_book(
                    patient=data["patient"],
                    appointment_type=data["appointment_type"],
                    provider=data["provider"],
                    starts_at=data["start"],
                    room=data["room"],
                    duration_minutes=data["duration_minutes"],
                    notes=data["notes"],
                    override_reason=data.get("override_reason", ""),
                    actor=request.user,
                    via=VIA,
                )
                notice = booking_notifications(appointment=appointment)
                messages.success(
                    request,
                    f"Booked {appointment.appointment_type} for {appointment.patient.display_name} "
                    f"at {_when(appointment)}. {notice['summary']}",
                    extra_tags="keep",  # what was sent stays on the page until read
                )
                for warning in booking_warnings(appointment=appointment):
                    messages.warning(request, warning, extra_tags="keep")
                return _redirect(request, _day_url(clock.local(appointment.starts_at).date()))
            except DomainError as exc:
                _form_error(form, exc)
        chosen = form.cleaned_data.get("patient") if hasattr(form, "cleaned_data") else None
    else:
        form = forms.BookingForm(initial=_booking_initial(request), user=request.user)
        chosen = form.fields["patient"].queryset.filter(pk=form.initial.get("patient")).first()
    context = {
        "form": form,
        "chosen": chosen,
        "results": _search_results(request),
        "query": request.GET.get("q", "")[:100],
        "new_patient_form": new_patient_form
        if new_patient_form.is_bound and new_patient_form.has_input()
        else forms.PatientQuickForm(),
        "can_register": request.user.has_perm("clinic.edit_demographics"),
    }
    template = "scheduling/_book_form.html" if request.htmx else "scheduling/book.html"
    return render(request, template, context)


@capability_required(BOOK, "clinic.view_demographics")
def book_patient_search(request):
    """Inline patient search for the booking dialog and the waitlist (an htmx partial)."""
    return render(
        request,
        "scheduling/_patient_results.html",
        {"results": _search_results(request), "query": request.GET.get("q", "")[:100]},
    )


def _register_quick(form: forms.PatientQuickForm, actor) -> Patient | None:
    """Register the patient of the booking dialog's quick form, with the messaging consent the
    patient gave at the desk (verbally, for appointment messages). None, with the form's
    errors, when that cannot be done."""
    if not form.is_valid():
        return None
    data = {
        k: form.cleaned_data[k] for k in form.PATIENT_FIELDS if form.cleaned_data.get(k) not in (None, "")
    }
    try:
        with transaction.atomic():
            patient = patient_register(data=data, actor=actor)
            for channel, agreed in (("email", "consent_email"), ("sms", "consent_sms")):
                if form.cleaned_data.get(agreed):
                    consent_record(
                        patient=patient,
                        channel=channel,
                        purpose=MessagingConsent.Purpose.APPOINTMENT_REMINDERS,
                        granted=True,
                        method=MessagingConsent.Method.VERBAL,
                        actor=actor,
                        note="Asked at registration in the booking dialog",
                    )
    except DomainError as exc:
        _form_error(form, exc)
        return None
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    return patient


@require_POST
@capability_required(BOOK, "clinic.edit_demographics")
def book_register_patient(request):
    """Register a new patient in place and select them in the booking dialog."""
    form = forms.PatientQuickForm(request.POST)
    patient = _register_quick(form, request.user)
    if request.htmx:
        return render(
            request,
            "scheduling/_patient_picker.html",
            {
                "results": [patient] if patient else [],
                "selected": patient,
                "new_patient_form": forms.PatientQuickForm() if patient else form,
                "can_register": True,
            },
        )
    if patient is not None:
        messages.success(request, f"Registered {patient.display_name} ({patient.mrn}).")
        keep = {k: request.POST.get(k, "") for k in ("appointment_type", "provider", "start", "room")}
        return redirect(f"{reverse('scheduling:book')}?{urlencode({**keep, 'patient': patient.pk})}")
    booking = forms.BookingForm(initial=_booking_initial(request), user=request.user)
    context = {"form": booking, "new_patient_form": form, "can_register": True, "results": []}
    return render(request, "scheduling/book.html", context, status=400)


@capability_required(BOOK)
def next_available(request):
    """The next free slots for a type (and optionally a provider or a patient)."""
    form = forms.SearchSlotsForm(request.GET or None)
    slots = []
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        slots = availability.availability_next(
            appointment_type=data["appointment_type"],
            provider=data["provider"],
            patient=data["patient"],
            start_date=data["date_from"],
            limit=24,
        )
    return render(request, "scheduling/next_available.html", {"form": form, "slots": slots})


# --- waitlist --------------------------------------------------------------------------------


@capability_required(BOOK, "clinic.view_demographics")
def waitlist(request):
    """Waiting patients, the freed slots offered to them, and a form to add one."""
    if request.method == "POST":
        form = forms.WaitlistForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            later = (
                Appointment.objects.filter(
                    patient=data["patient"],
                    appointment_type=data["appointment_type"],
                    status__in=services.RESCHEDULABLE,
                    starts_at__gt=timezone.now(),
                )
                .order_by("starts_at")
                .first()
            )
            try:
                services.waitlist_add(**data, appointment=later, actor=request.user)
                messages.success(request, f"{data['patient'].display_name} added to the waitlist.")
                return redirect("scheduling:waitlist")
            except DomainError as exc:
                _form_error(form, exc)
    else:
        form = forms.WaitlistForm()
    entries = list(
        selectors.waitlist_queryset().filter(status=WaitlistEntry.Status.WAITING).order_by("created_at", "id")
    )
    offers = selectors.waitlist_open_offers()
    by_entry = {}
    for offer in offers:
        by_entry.setdefault(offer.entry_id, []).append(offer)
    for entry in entries:
        entry.open_offers = by_entry.get(entry.pk, [])
    return render(
        request,
        "scheduling/waitlist.html",
        {"form": form, "entries": entries, "results": _search_results(request)},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@capability_required(BOOK)
def waitlist_remove(request, pk: int):
    entry = get_object_or_404(WaitlistEntry, pk=pk)
    try:
        services.waitlist_cancel(entry=entry, reason=request.POST.get("reason", "")[:500], actor=request.user)
        messages.success(request, "Removed from the waitlist.")
    except DomainError as exc:
        messages.error(request, _describe(exc))
    return redirect("scheduling:waitlist")


@require_POST
@capability_required(BOOK)
def waitlist_book(request, pk: int):
    """Book a freed slot for the waiting patient it was offered to: one click."""
    offer = get_object_or_404(WaitlistOffer.objects.select_related("entry__patient"), pk=pk)
    try:
        appointment = services.waitlist_offer_accept(offer=offer, actor=request.user, via=VIA)
        notice = booking_notifications(appointment=appointment)
        messages.success(
            request,
            f"Booked {offer.entry.patient.display_name} at {_when(appointment)}. {notice['summary']}",
            extra_tags="keep",
        )
    except DomainError as exc:
        messages.error(request, _describe(exc))
    return redirect(safe_next(request, request.POST.get("next"), "scheduling:waitlist"))


# --- export ----------------------------------------------------------------------------------


@capability_required(BOOK)
def provider_ics(request, pk: int):
    """A provider's schedule as an iCalendar file (default: this week and the next three)."""
    provider = get_object_or_404(Provider.objects.select_related("user"), pk=pk)
    first = _day(request, "from")
    if "from" not in request.GET:
        first = clock.local_today() - timedelta(days=clock.local_today().weekday())
    last = _day(request, "to") if "to" in request.GET else first + timedelta(days=27)
    last = min(max(last, first), first + timedelta(days=366))
    body = provider_calendar(provider=provider, first=first, last=last)
    audit_record(
        actor=request.user,
        action="schedule.calendar_exported",
        target=provider,
        changes={"from": first.isoformat(), "to": last.isoformat()},
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="schedule-{provider.pk}-{first:%Y%m%d}.ics"'
    return response
