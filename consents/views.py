"""Staff pages: a patient's consents, one consent (sign on the tablet, countersign, withdraw, the
signed PDF), and the consent forms with their versions. Thin: the services decide."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.views import capability_required
from patients.models import Patient

from . import selectors, services
from .forms import SignatureForm, StartForm, TemplateForm, WithdrawForm
from .links import consent_link_url
from .models import ConsentTemplate, PatientConsent, Procedure

VIEW = "clinic.view_clinical"


def _form_errors(form, exc: DomainError) -> None:
    placed = False
    for name, errors in exc.fields.items():
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(name if name in form.fields else None, str(error))
            placed = True
    if not placed:
        form.add_error(None, exc.detail)


def pdf_response(consent: PatientConsent, data: bytes, *, download: bool = False) -> HttpResponse:
    """A signed PDF as a response nobody keeps a copy of (no-store), named by the consent."""
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="consent-{consent.pk}.pdf"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- a patient's consents ----------------------------------------------------------------------


@capability_required(VIEW)
def patient_consents(request, patient_id: int):
    patient = get_object_or_404(Patient, pk=patient_id)
    may_start = [p for p in Procedure.values if services.may_take_consent(request.user, p)]
    if request.method == "POST" and not may_start:
        raise PermissionDenied
    form = StartForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                consent = services.consent_start(
                    patient=patient,
                    procedure=form.cleaned_data["procedure"],
                    side=form.cleaned_data["side"],
                    details=form.cleaned_data["details"],
                    actor=request.user,
                )
            except DomainError as exc:
                if exc.status == 403:
                    raise PermissionDenied from exc
                _form_errors(form, exc)
            else:
                messages.success(request, "Consent started: the patient can now read and sign it.")
                return redirect("consents:detail", pk=consent.pk)
        status = 400
    consents = list(selectors.consents_of(patient_id=patient.pk))
    audit_record(actor=request.user, action="consent.listed", target=patient, patient_id=patient.pk)
    form.fields["procedure"].choices = [c for c in Procedure.choices if c[0] in may_start]
    return render(
        request,
        "consents/patient.html",
        {"patient": patient, "consents": consents, "form": form, "can_start": bool(may_start)},
        status=status,
    )


# --- one consent -------------------------------------------------------------------------------


def _consent(pk: int) -> PatientConsent:
    try:
        return selectors.consent_detail(pk)
    except PatientConsent.DoesNotExist:
        raise Http404 from None


def _detail_context(request, consent, **forms) -> dict:
    may_take = services.may_take_consent(request.user, consent.procedure)
    waiting = consent.status == PatientConsent.Status.AWAITING_PATIENT
    return {
        "consent": consent,
        "patient": consent.patient,
        "template": consent.template,
        "can_take": may_take and waiting,
        "link_url": consent_link_url(patient_id=consent.patient_id, consent_id=consent.pk)
        if may_take and consent.status != PatientConsent.Status.WITHDRAWN
        else "",
        "can_countersign": may_take and consent.status == PatientConsent.Status.AWAITING_COUNTERSIGNATURE,
        "can_withdraw": services.may_withdraw(request.user)
        and consent.status != PatientConsent.Status.WITHDRAWN,
        "countersign_form": forms.get("countersign_form")
        or SignatureForm(initial={"name": request.user.get_full_name() or request.user.get_username()}),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(),
    }


@require_GET
@capability_required(VIEW)
def consent_detail(request, pk: int):
    consent = _consent(pk)
    audit_record(actor=request.user, action="consent.viewed", target=consent, patient_id=consent.patient_id)
    return render(request, "consents/detail.html", _detail_context(request, consent))


@capability_required(VIEW)
def consent_tablet(request, pk: int):
    """The page handed to the patient on the clinic's tablet: the form and a signature pad."""
    consent = _consent(pk)
    if not services.may_take_consent(request.user, consent.procedure):
        raise PermissionDenied
    form = SignatureForm(request.POST or None, consenting=True)
    status = 200
    if request.method == "POST" and consent.status == PatientConsent.Status.AWAITING_PATIENT:
        if form.is_valid():
            try:
                services.consent_patient_sign(
                    consent=consent,
                    name=form.cleaned_data["name"],
                    method=form.cleaned_data["method"],
                    signature_png=form.cleaned_data["png"],
                    via=PatientConsent.Via.TABLET,
                    actor=request.user,
                )
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                return render(request, "consents/tablet_done.html", {"consent": consent})
        status = 400
    elif request.method == "GET":
        audit_record(
            actor=request.user, action="consent.tablet_opened", target=consent, patient_id=consent.patient_id
        )
    return render(
        request,
        "consents/tablet.html",
        {"consent": consent, "template": consent.template, "patient": consent.patient, "form": form},
        status=status,
    )


@require_POST
@capability_required(VIEW)
def consent_countersign(request, pk: int):
    consent = _consent(pk)
    if not services.may_take_consent(request.user, consent.procedure):
        raise PermissionDenied
    form = SignatureForm(request.POST)
    if form.is_valid():
        try:
            services.consent_countersign(
                consent=consent,
                actor=request.user,
                method=form.cleaned_data["method"],
                signature_png=form.cleaned_data["png"],
            )
        except DomainError as exc:
            if exc.status == 403:
                raise PermissionDenied from exc
            _form_errors(form, exc)
        else:
            messages.success(request, "Countersigned: the signed PDF is stored with the record.")
            return redirect("consents:detail", pk=pk)
    consent = _consent(pk)
    return render(
        request, "consents/detail.html", _detail_context(request, consent, countersign_form=form), status=400
    )


@require_POST
@capability_required(VIEW)
def consent_withdraw(request, pk: int):
    consent = _consent(pk)
    if not services.may_withdraw(request.user):
        raise PermissionDenied
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.consent_withdraw(consent=consent, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if exc.status == 403:
                raise PermissionDenied from exc
            _form_errors(form, exc)
        else:
            messages.success(request, "Withdrawal recorded.")
            return redirect("consents:detail", pk=pk)
    consent = _consent(pk)
    return render(
        request, "consents/detail.html", _detail_context(request, consent, withdraw_form=form), status=400
    )


@require_GET
@capability_required(VIEW)
def consent_pdf(request, pk: int):
    consent = _consent(pk)
    try:
        data = services.consent_pdf_read(consent=consent)
    except DomainError as exc:
        raise Http404(exc.detail) from exc
    audit_record(
        actor=request.user, action="consent.pdf_viewed", target=consent, patient_id=consent.patient_id
    )
    return pdf_response(consent, data, download=request.GET.get("download") == "1")


# --- the forms -------------------------------------------------------------------------------


@require_GET
@capability_required(VIEW)
def templates(request):
    return render(
        request,
        "consents/templates.html",
        {
            "templates": selectors.current_templates(),
            "editable": {p for p in Procedure.values if services.may_take_consent(request.user, p)},
        },
    )


@capability_required(VIEW)
def template_edit(request, procedure: str):
    if procedure not in Procedure.values:
        raise Http404
    current = services.template_current(procedure)
    versions = list(ConsentTemplate.objects.filter(procedure=procedure).select_related("created_by"))
    may_edit = services.may_take_consent(request.user, procedure)
    if request.method == "POST" and not may_edit:
        raise PermissionDenied
    initial = {name: getattr(current, name) for name in services.TEMPLATE_TEXT_FIELDS}
    form = TemplateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                template = services.template_revise(
                    procedure=procedure, actor=request.user, data=form.cleaned_data
                )
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(
                    request, f"Version {template.version} saved; earlier versions are kept as they were."
                )
                return redirect(reverse("consents:template", args=[procedure]))
        status = 400
    return render(
        request,
        "consents/template_edit.html",
        {
            "current": current,
            "versions": versions,
            "form": form,
            "may_edit": may_edit,
            "procedure_label": Procedure(procedure).label,
        },
        status=status,
    )
