"""Pages of the photos app, under /photos/. Clinical: ``view_clinical`` to look, the recording
capability (``record_consultation``) to take, delete and record consent."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from clinic.api.errors import error_body
from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.forms import form_errors_add
from clinic.views import capability_required
from patients.models import Patient
from treatments import charts
from treatments import selectors as clinical_selectors
from treatments.models import Encounter

from . import selectors, services
from .forms import PhotoConsentForm, PhotoSetForm, ReasonForm
from .models import STANDARD_VIEWS, MediaItem, PhotoConsent, PhotoSet, View
from .uploads import UploadTooLarge, limit_uploads, request_too_large, too_large_error

VIEW_CLINICAL = "clinic.view_clinical"
RECORD = "clinic.record_consultation"


def _patient(patient_id: int) -> Patient:
    return get_object_or_404(Patient, pk=patient_id)


def _audit_page(request, action: str, patient: Patient, target=None, **changes) -> None:
    audit_record(actor=request.user, action=action, target=target, patient_id=patient.pk, changes=changes)


@capability_required(VIEW_CLINICAL)
def patient_photos(request, patient_id: int):
    patient = _patient(patient_id)
    sets = [selectors.set_layout(s) for s in selectors.patient_sets(patient_id=patient.pk)]
    _audit_page(request, "photos.listed", patient)
    return render(
        request,
        "photos/patient.html",
        {
            "patient": patient,
            "sets": sets,
            "consent": selectors.current_consent(patient_id=patient.pk),
            "views": STANDARD_VIEWS,
            "surgeries": Encounter.objects.filter(patient=patient, kind=Encounter.Kind.SURGERY).order_by(
                "-occurred_at"
            ),
        },
    )


@capability_required(VIEW_CLINICAL, RECORD)
def set_new(request, patient_id: int):
    patient = _patient(patient_id)
    form = PhotoSetForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            photo_set = services.photo_set_create(
                patient=patient,
                actor=request.user,
                taken_at=form.cleaned_data["taken_at"],
                encounter=form.cleaned_data["encounter"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            form_errors_add(form, exc)
        else:
            return redirect("photos:set", pk=photo_set.pk)
    if request.method == "GET" and request.GET.get("encounter"):
        form.initial["encounter"] = request.GET["encounter"]
    return render(request, "photos/set_new.html", {"patient": patient, "form": form})


def _set(pk: int) -> PhotoSet:
    return get_object_or_404(PhotoSet.objects.select_related("patient", "encounter"), pk=pk)


@capability_required(VIEW_CLINICAL)
def set_detail(request, pk: int):
    photo_set = selectors.set_with_items(pk=pk)
    if photo_set is None:
        raise Http404
    layout = selectors.set_layout(photo_set)
    _audit_page(request, "photo_set.viewed", photo_set.patient, target=photo_set)
    return render(
        request,
        "photos/set.html",
        {
            "patient": photo_set.patient,
            "photo_set": photo_set,
            "layout": layout,
            "can_record": request.user.has_perm(RECORD) and not photo_set.is_deleted,
            "reason_form": ReasonForm(),
        },
    )


@require_POST
@capability_required(VIEW_CLINICAL, RECORD)
def set_delete(request, pk: int):
    photo_set = _set(pk)
    try:
        services.photo_set_delete(
            photo_set=photo_set, actor=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, _message(exc))
        return redirect("photos:set", pk=pk)
    messages.success(request, "The photo set was deleted.")
    return redirect("photos:patient", patient_id=photo_set.patient_id)


def _message(exc: DomainError) -> str:
    fields = [m for msgs in exc.fields.values() for m in (msgs if isinstance(msgs, list) else [msgs])]
    return " ".join(fields) or exc.detail


def _refusal(exc: DomainError, status: int | None = None) -> JsonResponse:
    return JsonResponse(error_body(exc.code, exc.detail, exc.fields), status=status or exc.status)


@csrf_exempt  # the CSRF check runs below, after the limited upload handler is installed
@capability_required(VIEW_CLINICAL, RECORD)
def upload(request, pk: int):
    """One file into a set (the capture page sends one request per file, with progress).
    Content-Length is checked before any of the body is read; the handler stops a body that
    grows past the limit while it arrives."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    if request_too_large(request):
        return _refusal(too_large_error(), 413)
    limit_uploads(request)
    return _upload_checked(request, pk)


# Reads its own body, after installing the limited handler (clinic.middleware.RefuseNulMiddleware
# leaves the body alone for it; the service refuses NUL in the fields it takes).
upload.limits_own_upload = True


@csrf_protect
def _upload_checked(request, pk: int):
    photo_set = _set(pk)
    try:
        upload_file = request.FILES.get("file")
        view = request.POST.get("view", "")
        label = request.POST.get("label", "")
    except UploadTooLarge:
        return _refusal(too_large_error(), 413)
    try:
        item = services.media_upload(
            photo_set=photo_set, actor=request.user, upload=upload_file, view=view, label=label
        )
    except DomainError as exc:
        return _refusal(exc)
    return JsonResponse(
        {
            "id": item.pk,
            "status": item.status,
            "view": item.view,
            "tile": reverse("photos:item", args=[item.pk]),
        },
        status=202,
    )


def _item(pk: int) -> MediaItem:
    return get_object_or_404(MediaItem.objects.select_related("photo_set__patient"), pk=pk)


@capability_required(VIEW_CLINICAL)
def item_tile(request, pk: int):
    """One item's tile (the capture page polls it until processing ends)."""
    item = _item(pk)
    return render(
        request,
        "photos/_tile.html",
        {"item": item, "can_record": request.user.has_perm(RECORD), "reason_form": ReasonForm()},
    )


@capability_required(VIEW_CLINICAL)
def item_file(request, pk: int):
    """The bytes of one rendition (``?r=thumb|screen|main|poster``): permission-checked,
    audited, never cached."""
    item = _item(pk)
    try:
        handle, content_type = services.media_read(
            item=item, actor=request.user, rendition=request.GET.get("r", "screen")
        )
    except DomainError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = "inline"
    return response


@require_POST
@capability_required(VIEW_CLINICAL, RECORD)
def item_retry(request, pk: int):
    item = _item(pk)
    try:
        services.media_retry(item=item, actor=request.user)
    except DomainError as exc:
        messages.error(request, _message(exc))
    return redirect("photos:set", pk=item.photo_set_id)


@require_POST
@capability_required(VIEW_CLINICAL, RECORD)
def item_delete(request, pk: int):
    item = _item(pk)
    try:
        services.media_delete(item=item, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, f"{item.title} was deleted.")
    return redirect("photos:set", pk=item.photo_set_id)


# --- Comparison --------------------------------------------------------------------------------


def _view_param(request) -> str:
    view = request.GET.get("view", View.REST)
    return view if view in View.values else View.REST


def _pick(series, wanted: str, default_index: int):
    for index, (photo_set, _item) in enumerate(series):
        if str(photo_set.pk) == wanted:
            return index
    return default_index % len(series) if series else None


@capability_required(VIEW_CLINICAL)
def compare(request, patient_id: int):
    """Two dates of one view side by side; arrow keys step the right-hand date (with Shift,
    the left-hand one)."""
    patient = _patient(patient_id)
    view = _view_param(request)
    series = selectors.view_series(patient_id=patient.pk, view=view)
    a = _pick(series, request.GET.get("a", ""), 0)
    b = _pick(series, request.GET.get("b", ""), -1)

    def link(ai, bi):
        if ai is None or bi is None or not (0 <= ai < len(series)) or not (0 <= bi < len(series)):
            return ""
        return f"?view={view}&a={series[ai][0].pk}&b={series[bi][0].pk}"

    _audit_page(request, "photos.compared", patient, view=view)
    return render(
        request,
        "photos/compare.html",
        {
            "patient": patient,
            "view": view,
            "views": [*STANDARD_VIEWS, View.EXTRA],
            "view_label": View(view).label,
            "series": series,
            "a": series[a] if a is not None else None,
            "b": series[b] if b is not None else None,
            "a_index": a,
            "b_index": b,
            "prev_b": link(a, b - 1) if b is not None else "",
            "next_b": link(a, b + 1) if b is not None else "",
            "prev_a": link(a - 1, b) if a is not None else "",
            "next_a": link(a + 1, b) if a is not None else "",
        },
    )


@capability_required(VIEW_CLINICAL)
def view_grid(request, patient_id: int):
    """One view across every visit, beside the gradings trend with toxin and surgery marked."""
    patient = _patient(patient_id)
    view = _view_param(request)
    series = selectors.view_series(patient_id=patient.pk, view=view)
    trend = clinical_selectors.grading_trend(patient_id=patient.pk)
    events = trend.events
    cells = []
    for photo_set, item in series:
        on = timezone.localdate(photo_set.taken_at)
        before = [e for e in events if e.on <= on]
        cells.append({"set": photo_set, "item": item, "on": on, "last_event": before[-1] if before else None})
    _audit_page(request, "photos.grid_viewed", patient, view=view)
    return render(
        request,
        "photos/grid.html",
        {
            "patient": patient,
            "view": view,
            "view_label": View(view).label,
            "views": [*STANDARD_VIEWS, View.EXTRA],
            "cells": cells,
            "trend": trend,
            "charts": charts.trend_charts(trend),
        },
    )


@capability_required(VIEW_CLINICAL)
def before_after(request, pk: int):
    """Every standard view before a surgery (the last set before its day) and after it (the
    latest set since, or the one chosen)."""
    surgery = get_object_or_404(
        Encounter.objects.select_related("patient"), pk=pk, kind=Encounter.Kind.SURGERY
    )
    patient = surgery.patient
    sets = list(selectors.patient_sets(patient_id=patient.pk))
    before = next((s for s in sets if s.taken_at < surgery.occurred_at), None)
    afters = [s for s in sets if s.taken_at > surgery.occurred_at]
    after = next(
        (s for s in afters if str(s.pk) == request.GET.get("after", "")), afters[0] if afters else None
    )
    rows = []
    before_layout = selectors.set_layout(before) if before else None
    after_layout = selectors.set_layout(after) if after else None
    for index, view in enumerate(STANDARD_VIEWS):
        rows.append(
            {
                "view": view,
                "before": _first_image(before_layout.slots[index][2]) if before_layout else None,
                "after": _first_image(after_layout.slots[index][2]) if after_layout else None,
            }
        )
    _audit_page(request, "photos.before_after_viewed", patient, target=surgery)
    return render(
        request,
        "photos/before_after.html",
        {
            "patient": patient,
            "surgery": surgery,
            "before": before,
            "after": after,
            "afters": afters,
            "rows": rows,
        },
    )


def _first_image(items):
    ready = [i for i in items if i.is_ready]
    images = [i for i in ready if i.kind == MediaItem.Kind.IMAGE]
    return (images or ready or [None])[0]


# --- Consent and teaching ----------------------------------------------------------------------


@capability_required(VIEW_CLINICAL)
def consent(request, patient_id: int):
    patient = _patient(patient_id)
    can_record = request.user.has_perm(RECORD)
    form = PhotoConsentForm(request.POST or None)
    if request.method == "POST":
        if not can_record:
            raise Http404
        if form.is_valid():
            try:
                services.photo_consent_record(patient=patient, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "Photo consent recorded.")
                return redirect("photos:consent", patient_id=patient.pk)
    history = PhotoConsent.objects.filter(patient=patient).select_related("recorded_by", "withdrawn_by")
    return render(
        request,
        "photos/consent.html",
        {
            "patient": patient,
            "form": form,
            "history": history,
            "current": selectors.current_consent(patient_id=patient.pk),
            "can_record": can_record,
        },
    )


@require_POST
@capability_required(VIEW_CLINICAL, RECORD)
def consent_withdraw(request, pk: int):
    consent_row = get_object_or_404(PhotoConsent, pk=pk)
    try:
        services.photo_consent_withdraw(
            consent=consent_row, actor=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(
            request, "Photo consent withdrawn: the photographs are for the clinical record only."
        )
    return redirect("photos:consent", patient_id=consent_row.patient_id)


@capability_required(VIEW_CLINICAL)
def teaching_export(request):
    """A zip of the photographs that photo consent allows for teaching (``?view=`` narrows)."""
    view = request.GET.get("view", "")
    items = list(selectors.teaching_items(view=view if view in View.values else ""))
    data = services.teaching_export(actor=request.user, items=items)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="teaching-photographs.zip"'
    response["Cache-Control"] = "no-store"
    return response
