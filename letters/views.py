"""Staff pages: a patient's letters (and drafting one from the record), one letter (edit the
draft, preview, sign, send or print, the PDF), and a correction of a signed letter. Clinicians
only; every read is audited. Thin: the services decide."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.forms import form_errors_add
from clinic.views import capability_required
from patients.models import Patient
from treatments.models import Encounter

from . import documents, filling, selectors, services
from .forms import DraftForm, EditForm, SendForm
from .models import Letter

CLINICIAN = services.PERMISSIONS


def pdf_response(letter: Letter, data: bytes, *, draft: bool = False) -> HttpResponse:
    """A PDF nobody keeps a copy of (no-store), named by the letter."""
    response = HttpResponse(data, content_type="application/pdf")
    name = f"letter-{letter.pk}{'-draft' if draft else ''}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _refused(exc: DomainError) -> None:
    if exc.status == 403:
        raise PermissionDenied from exc


@capability_required(*CLINICIAN)
def patient_letters(request, patient_id: int):
    """The patient's letters, and a new draft from the record (``?encounter=`` preselects one)."""
    patient = get_object_or_404(Patient, pk=patient_id)
    encounters = filling.letter_encounters(patient_id=patient.pk)
    initial = {}
    chosen = request.GET.get("encounter", "")
    if chosen.isdigit():
        picked = next((e for e in encounters if e.pk == int(chosen)), None)
        if picked is not None:
            initial["encounter"] = picked.pk
            kind = next(k for k, kinds in filling.ENCOUNTER_KINDS.items() if picked.kind in kinds)
            initial["kind"] = kind
    form = DraftForm(request.POST or None, encounters=encounters, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            encounter = None
            if form.cleaned_data["encounter"]:
                encounter = Encounter.objects.filter(pk=form.cleaned_data["encounter"]).first()
            try:
                letter = services.letter_draft(
                    actor=request.user, patient=patient, kind=form.cleaned_data["kind"], encounter=encounter
                )
            except DomainError as exc:
                _refused(exc)
                form_errors_add(form, exc)
            else:
                messages.success(request, "Draft written from the record: read it, edit it, then sign it.")
                return redirect("letters:detail", pk=letter.pk)
        status = 400
    letters = list(selectors.letters_of(patient_id=patient.pk))
    audit_record(actor=request.user, action="letter.listed", target=patient, patient_id=patient.pk)
    return render(
        request, "letters/patient.html", {"patient": patient, "letters": letters, "form": form}, status=status
    )


def _letter(pk: int) -> Letter:
    try:
        return selectors.letter_detail(pk)
    except Letter.DoesNotExist:
        raise Http404 from None


def _detail(request, letter: Letter, *, edit_form=None, send_form=None, status: int = 200):
    recipients = services.recipients_of(letter.patient)
    return render(
        request,
        "letters/detail.html",
        {
            **documents.letter_context(letter),
            "edit_form": edit_form or EditForm(initial={"subject": letter.subject, "body": letter.body}),
            "send_form": send_form or SendForm(),
            "recipients": recipients,
            "deliveries": list(letter.deliveries.all()),
            "corrections": list(letter.corrections.all()),
        },
        status=status,
    )


@capability_required(*CLINICIAN)
def letter_detail(request, pk: int):
    """The letter: its text as it will print; a draft's edit form (POST saves it)."""
    letter = _letter(pk)
    if request.method == "POST":
        form = EditForm(request.POST)
        if form.is_valid():
            try:
                services.letter_update(actor=request.user, letter=letter, data=form.cleaned_data)
            except DomainError as exc:
                _refused(exc)
                form_errors_add(form, exc)
            else:
                messages.success(request, "Draft saved.")
                return redirect("letters:detail", pk=letter.pk)
        return _detail(request, letter, edit_form=form, status=400)
    audit_record(actor=request.user, action="letter.viewed", target=letter, patient_id=letter.patient_id)
    return _detail(request, letter)


@require_POST
@capability_required(*CLINICIAN)
def letter_sign(request, pk: int):
    letter = _letter(pk)
    try:
        services.letter_sign(actor=request.user, letter=letter)
    except DomainError as exc:
        _refused(exc)
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Letter signed. It can now be sent or printed; it can no longer be edited.")
    return redirect("letters:detail", pk=letter.pk)


@require_POST
@capability_required(*CLINICIAN)
def letter_send(request, pk: int):
    letter = _letter(pk)
    form = SendForm(request.POST)
    if form.is_valid():
        try:
            deliveries = services.letter_send(actor=request.user, letter=letter, **form.cleaned_data)
        except DomainError as exc:
            _refused(exc)
            form_errors_add(form, exc)
        else:
            names = ", ".join(d.get_recipient_display() for d in deliveries)
            messages.success(request, f"Letter queued for email to: {names}.")
            return redirect("letters:detail", pk=letter.pk)
    return _detail(request, letter, send_form=form, status=400)


@require_POST
@capability_required(*CLINICIAN)
def letter_correct(request, pk: int):
    """A new draft that corrects this signed letter, starting from its text."""
    letter = _letter(pk)
    try:
        correction = services.letter_draft(actor=request.user, patient=letter.patient, amends=letter)
    except DomainError as exc:
        _refused(exc)
        messages.error(request, exc.detail)
        return redirect("letters:detail", pk=letter.pk)
    messages.success(request, "A correction was started from the signed letter's text.")
    return redirect("letters:detail", pk=correction.pk)


@require_GET
@capability_required(*CLINICIAN)
def letter_pdf(request, pk: int):
    """The signed PDF as stored (``?print=1`` records that it was printed), or a draft's
    preview, marked as a draft and never stored."""
    letter = _letter(pk)
    if not letter.is_signed:
        data = services.letter_preview_pdf(letter=letter)
        audit_record(
            actor=request.user, action="letter.previewed", target=letter, patient_id=letter.patient_id
        )
        return pdf_response(letter, data, draft=True)
    try:
        if request.GET.get("print") == "1":
            data = services.letter_print(actor=request.user, letter=letter)
        else:
            data = services.letter_pdf_read(letter=letter)
            audit_record(
                actor=request.user, action="letter.pdf_viewed", target=letter, patient_id=letter.patient_id
            )
    except DomainError as exc:
        _refused(exc)
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    return pdf_response(letter, data)
