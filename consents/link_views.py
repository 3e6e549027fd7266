"""What a patient sees through their consent link (no login: the signed token is the key, for
one patient and one consent): the form to read and sign, then the signed PDF once the clinician
has countersigned."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.audit import audit_record
from clinic.errors import DomainError

from . import services
from .forms import SignatureForm
from .links import LinkExpired, LinkInvalid, consent_link_read
from .models import PatientConsent
from .views import _form_errors, pdf_response


def _problem(request, *, expired: bool):
    return render(request, "links/problem.html", {"expired": expired}, status=410 if expired else 400)


def _consent_for(token: str):
    """(consent, None) for a good link, else (None, problem kind)."""
    try:
        link = consent_link_read(token)
    except LinkExpired:
        return None, "expired"
    except LinkInvalid:
        return None, "invalid"
    consent = (
        PatientConsent.objects.select_related("template", "patient")
        .filter(pk=link.consent_id, patient_id=link.patient_id, patient__status="active")
        .first()
    )
    return (consent, None) if consent is not None else (None, "invalid")


@never_cache
def sign(request, token: str):
    consent, problem = _consent_for(token)
    if consent is None:
        return _problem(request, expired=problem == "expired")
    form = SignatureForm(request.POST or None, consenting=True)
    status = 200
    if request.method == "POST" and consent.status == PatientConsent.Status.AWAITING_PATIENT:
        if form.is_valid():
            try:
                consent = services.consent_patient_sign(
                    consent=consent,
                    name=form.cleaned_data["name"],
                    method=form.cleaned_data["method"],
                    signature_png=form.cleaned_data["png"],
                    via=PatientConsent.Via.LINK,
                )
            except DomainError as exc:
                _form_errors(form, exc)
                status = 400
            else:
                form = None
        else:
            status = 400
    elif request.method == "GET":
        audit_record(actor=None, action="consent.link_opened", target=consent, patient_id=consent.patient_id)
    return render(
        request,
        "consents/link_sign.html",
        {
            "consent": consent,
            "template": consent.template,
            "patient": consent.patient,
            "form": form,
            "token": token,
        },
        status=status,
    )


@require_GET
@never_cache
def pdf(request, token: str):
    consent, problem = _consent_for(token)
    if consent is None:
        return _problem(request, expired=problem == "expired")
    try:
        data = services.consent_pdf_read(consent=consent)
    except DomainError:
        return render(request, "consents/link_no_pdf.html", {"consent": consent}, status=404)
    audit_record(
        actor=None, action="consent.pdf_fetched_by_patient", target=consent, patient_id=consent.patient_id
    )
    return pdf_response(consent, data)
