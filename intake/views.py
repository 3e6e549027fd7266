"""Pages: the public request form (no login) and the front desk's triage (the queue, one
request with its possible duplicates, accept with booking, decline, a referral). Thin: the
services decide; a refusal is a form error, never a 500."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.network import client_ip
from clinic.views import capability_required
from patients.models import Patient
from scheduling import clock
from scheduling.availability import availability_next
from scheduling.models import AppointmentType
from scheduling.selectors import appointment_type_resolve

from . import selectors, services, throttle
from .forms import AcceptForm, DeclineForm, PublicRequestForm, ReferralForm, slot_value
from .models import ConsultationRequest

VIEW = ("clinic.view_demographics", "clinic.book_appointments")
DECIDE = (*VIEW, "clinic.edit_demographics")
SLOTS_OFFERED = 12
QUEUE_LIMIT = 200


def _form_errors(form, exc: DomainError) -> None:
    placed = False
    for name, errors in exc.fields.items():
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(name if name in form.fields else None, str(error))
            placed = True
    if not placed or exc.detail != exc.default_detail:
        form.add_error(None, exc.detail)


# --- the public page ---------------------------------------------------------------------------


def public_request(request):
    """Ask for a consultation: a short description, who, and how to reach them."""
    form = PublicRequestForm()
    if request.method != "POST":
        return render(request, "intake/request.html", {"form": form})
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size > settings.INTAKE_MAX_BODY_BYTES:
        problem = "The request is too long. Please shorten the text and send it again."
        return render(request, "intake/request.html", {"form": form, "problem": problem}, status=400)
    if not throttle.attempt_count(address=client_ip(request)):
        response = render(
            request,
            "intake/request.html",
            {
                "form": PublicRequestForm(request.POST),
                "throttled": True,
                "minutes": throttle.retry_after_minutes(),
            },
            status=429,
        )
        response["Retry-After"] = str(throttle.retry_after_minutes() * 60)
        return response
    form = PublicRequestForm(request.POST)
    if form.is_bot():
        return redirect("intake_public:thanks")  # answered like any other, kept nowhere
    if form.is_valid():
        try:
            services.consultation_request_submit(data=form.request_data(), client_address=client_ip(request))
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            return redirect("intake_public:thanks")
    return render(request, "intake/request.html", {"form": form}, status=400)


@require_GET
def public_thanks(request):
    return render(request, "intake/request_thanks.html")


# --- triage --------------------------------------------------------------------------------------


@capability_required(*VIEW)
def queue(request):
    status = request.GET.get("status", ConsultationRequest.Status.NEW)
    if status not in ConsultationRequest.Status.values and status != "all":
        status = ConsultationRequest.Status.NEW
    rows = list(selectors.request_queue(status=None if status == "all" else status)[:QUEUE_LIMIT])
    statuses = [("new", "New"), ("accepted", "Accepted"), ("declined", "Declined"), ("all", "All")]
    return render(
        request,
        "intake/queue.html",
        {"rows": rows, "status": status, "statuses": statuses, "limit": QUEUE_LIMIT},
    )


def _appointment_type(request) -> AppointmentType | None:
    value = request.POST.get("appointment_type") or request.GET.get("type") or "consultation"
    found = appointment_type_resolve(value[:20])
    if found is None or not found.is_active:
        found = AppointmentType.objects.filter(is_active=True).order_by("name").first()
    return found


def _detail(request, item: ConsultationRequest, *, accept_form=None, decline_form=None, status=200):
    duplicates = selectors.request_duplicates(item) if item.status == ConsultationRequest.Status.NEW else []
    appointment_type = _appointment_type(request)
    slots = []
    if item.status == ConsultationRequest.Status.NEW and appointment_type is not None:
        slots = [
            {"value": slot_value(s.provider_id, s.room_id, s.start), "slot": s}
            for s in availability_next(appointment_type=appointment_type, limit=SLOTS_OFFERED)
        ]
    patient_choices = [(str(c.patient.pk), c.patient.display_name) for c in duplicates]
    context = {
        "item": item,
        "duplicates": duplicates,
        "slots": slots,
        "appointment_type": appointment_type,
        "types": AppointmentType.objects.filter(is_active=True).order_by("name"),
        "accept_form": accept_form
        or AcceptForm(
            patient_choices=patient_choices,
            initial={"patient": "new", "appointment_type": appointment_type},
        ),
        "decline_form": decline_form or DeclineForm(),
        "history": item.history.select_related("history_user").order_by("-history_date", "-history_id")[:20],
    }
    return render(request, "intake/detail.html", context, status=status)


@capability_required(*VIEW)
def detail(request, pk: int):
    item = get_object_or_404(selectors.request_queryset(), pk=pk)
    audit_record(
        actor=request.user, action="consultation_request.viewed", target=item, patient_id=item.patient_id
    )
    return _detail(request, item)


@require_POST
@capability_required(*DECIDE)
def accept(request, pk: int):
    item = get_object_or_404(selectors.request_queryset(), pk=pk)
    candidates = [(str(c.patient.pk), c.patient.display_name) for c in selectors.request_duplicates(item)]
    form = AcceptForm(request.POST, patient_choices=candidates)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        patient = None
        if data["patient"] != "new":
            patient = Patient.objects.filter(pk=int(data["patient"])).first()
        try:
            accepted = services.consultation_request_accept(
                request=item,
                actor=request.user,
                appointment_type=data["appointment_type"],
                provider=data["slot"]["provider"],
                room=data["slot"]["room"],
                starts_at=data["slot"]["starts_at"],
                patient=patient,
                confirm_not_duplicate=data["confirm_not_duplicate"],
            )
        except DomainError as exc:
            _form_errors(form, exc)
            status = exc.status
        except ValidationError as exc:
            for problems in exc.message_dict.values():
                for problem in problems:
                    form.add_error(None, problem)
        else:
            appointment = accepted.appointment
            assert appointment is not None  # noqa: S101 (an accepted request has its appointment)
            when = clock.local(appointment.starts_at)
            messages.success(
                request,
                f"Accepted: {accepted.display_name} is booked for {appointment.appointment_type} "
                f"at {when:%H:%M on %a %d %b}.",
            )
            return redirect(f"{reverse('scheduling:day')}?date={when.date().isoformat()}")
    return _detail(request, item, accept_form=form, status=status)


@require_POST
@capability_required(*DECIDE)
def decline(request, pk: int):
    item = get_object_or_404(selectors.request_queryset(), pk=pk)
    form = DeclineForm(request.POST)
    if form.is_valid():
        try:
            declined = services.consultation_request_decline(
                request=item, actor=request.user, message=form.cleaned_data["message"]
            )
        except DomainError as exc:
            _form_errors(form, exc)
            return _detail(request, item, decline_form=form, status=exc.status)
        else:
            note = "" if declined.email else " They gave no email address: please phone them."
            messages.success(request, f"Declined the request from {declined.display_name}.{note}")
            return redirect("intake:queue")
    return _detail(request, item, decline_form=form, status=400)


@capability_required(*DECIDE)
def referral(request):
    """Enter a referral from a clinician: it joins the queue like a request from the page."""
    form = ReferralForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.consultation_request_refer(data=form.request_data(), actor=request.user)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Referral for {item.display_name} added to the queue.")
            return redirect("intake:detail", pk=item.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/referral.html", {"form": form}, status=status)
