"""Pages of the patient registry: list and search, registration, edit, chart, deactivate, merge."""

import re

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.errors import DomainError
from clinic.paging import CappedPaginator
from clinic.views import capability_required

from .chart import ChartPanel, panel_for, panel_keys, panels_for
from .exceptions import PossibleDuplicate
from .forms import ConsentForm, DeactivateForm, PatientForm, apply_service_errors
from .models import Patient
from .search import MIN_NAME_LENGTH, parse_query
from .selectors import consent_history, consent_overview, merge_preview, patient_duplicates, patient_search
from .serializers import may_see_clinical
from .services import (
    consent_record,
    patient_deactivate,
    patient_log_view,
    patient_merge,
    patient_reactivate,
    patient_register,
    patient_update,
)

PAGE_SIZE = 25
SEARCH_LIMIT = 50
# The element id a picker fills (search partial in pick mode): a plain HTML id, nothing else.
_PICK_TARGET = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


def _search_context(request) -> dict:
    """Results for the list page and the search partial (one query, or two with the pager)."""
    query = request.GET.get("q", "")[:200]
    include_inactive = request.GET.get("inactive") == "1"
    pick = request.GET.get("pick", "")
    context = {
        "q": query,
        "include_inactive": include_inactive,
        "pick": pick if _PICK_TARGET.match(pick) else "",
        "limit": SEARCH_LIMIT,
    }
    if not query.strip():
        if context["pick"]:
            return {**context, "state": "prompt", "patients": []}
        qs = (
            Patient.objects.all()
            if include_inactive
            else Patient.objects.filter(status=Patient.Status.ACTIVE)
        )
        page = CappedPaginator(qs.order_by("last_name", "first_name", "id"), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        return {**context, "state": "all", "page": page, "patients": page.object_list}
    if parse_query(query).is_empty:
        return {**context, "state": "too_short", "patients": [], "min_length": MIN_NAME_LENGTH}
    patients = list(patient_search(query=query, limit=SEARCH_LIMIT, include_inactive=include_inactive))
    return {**context, "state": "results", "patients": patients, "at_limit": len(patients) >= SEARCH_LIMIT}


HEADER_LIMIT = 8


def _header_context(request) -> dict:
    query = request.GET.get("q", "")[:200]
    if not query.strip() or parse_query(query).is_empty:
        return {"q": query, "patients": [], "searched": False}
    return {"q": query, "patients": list(patient_search(query=query, limit=HEADER_LIMIT)), "searched": True}


@capability_required("clinic.view_demographics")
@require_GET
def patient_list(request):
    return render(request, "patients/list.html", _search_context(request))


@capability_required("clinic.view_demographics")
@require_GET
def search_partial(request):
    """Result rows for a search box (htmx). ``?q=`` the text, ``?pick=<element id>`` renders
    "Select" buttons that fill that element instead of links to the chart (docs/patients.md)."""
    if request.GET.get("box") == "header":
        # The header's search on every page: a few best matches, no list page to keep in step.
        return render(request, "patients/_header_results.html", _header_context(request))
    response = render(request, "patients/_results.html", _search_context(request))
    if request.htmx and not request.GET.get("pick"):
        # Keep the list page's address in step, so that Back returns to the same search.
        query = request.GET.urlencode()
        response["HX-Replace-Url"] = reverse("patients:list") + (f"?{query}" if query else "")
    return response


def _form_page(request, form, *, patient=None, duplicates=None, status=200):
    return render(
        request,
        "patients/form.html",
        {"form": form, "patient": patient, "duplicates": duplicates or []},
        status=status,
    )


@capability_required("clinic.edit_demographics")
@require_http_methods(["GET", "POST"])
def register(request):
    clinical = may_see_clinical(request.user)
    if request.method == "GET":
        return _form_page(request, PatientForm(clinical=clinical))
    form = PatientForm(request.POST, clinical=clinical)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    try:
        patient = patient_register(
            data=form.service_data(),
            actor=request.user,
            confirm_not_duplicate=request.POST.get("confirm_not_duplicate") == "1",
        )
    except PossibleDuplicate as exc:
        return _form_page(request, form, duplicates=exc.extra["candidates"], status=409)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _form_page(request, form, status=400)
    messages.success(request, format_html("Registered {} with MRN {}.", patient.display_name, patient.mrn))
    return redirect("patients:chart", pk=patient.pk)


@capability_required("clinic.edit_demographics")
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    clinical = may_see_clinical(request.user)
    if patient.inactive_reason == Patient.InactiveReason.MERGED:
        messages.error(request, "This record was merged into another one: edit that record instead.")
        return redirect("patients:chart", pk=patient.pk)
    if request.method == "GET":
        return _form_page(request, PatientForm(instance=patient, clinical=clinical), patient=patient)
    form = PatientForm(request.POST, instance=Patient.objects.get(pk=pk), clinical=clinical)
    if not form.is_valid():
        return _form_page(request, form, patient=patient, status=400)
    try:
        patient = patient_update(patient=patient, data=form.service_data(), actor=request.user)
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return _form_page(request, form, patient=patient, status=400)
    except DomainError as exc:
        form.add_error(None, exc.detail)
        return _form_page(request, form, patient=patient, status=409)
    messages.success(request, "Saved.")
    return redirect("patients:chart", pk=patient.pk)


@capability_required("clinic.edit_demographics")
@require_POST
def validate(request):
    """Check a registration or edit form as it is filled in (htmx, on change).

    Answers with out-of-band replacements of every field's error slot. Fields still empty do
    not get "required" errors yet (the user has not reached them), and a registration also
    gets an early duplicate warning.
    """
    clinical = may_see_clinical(request.user)
    instance = None
    pk = request.GET.get("pk", "")
    if pk.isdigit() and len(pk) < 19:
        instance = Patient.objects.filter(pk=int(pk)).first()
    form = PatientForm(request.POST, instance=instance, clinical=clinical)
    form.is_valid()
    slots = []
    for name in form.fields:
        errors = form.errors.get(name, [])
        if not request.POST.get(name, "").strip():
            errors = [e for e in errors if e != form.fields[name].error_messages["required"]]
        slots.append({"id": f"errors-{name}", "errors": errors})
    duplicates = []
    if instance is None:
        data = form.cleaned_data
        mobile = data.get("mobile")
        duplicates = patient_duplicates(
            last_name=data.get("last_name", ""),
            date_of_birth=data.get("date_of_birth"),
            mobile=str(mobile) if mobile else "",
            email=data.get("email", ""),
        )
    html = render_to_string(
        "patients/_validation.html",
        {
            "slots": slots,
            "duplicates": [c.as_dict() for c in duplicates],
            "check_duplicates": instance is None,
        },
        request=request,
    )
    return HttpResponse(html)


def _panel_html(request, patient: Patient, panel: ChartPanel) -> str:
    user = request.user
    context = {"patient": patient, "user": user, **panel.context(patient=patient, user=user)}
    return render_to_string(panel.template, context, request=request)


def _chart_context(request, patient: Patient, *, consent_form=None, deactivate_form=None) -> dict:
    """The chart page. Panels are placeholders that load themselves (patients.chart) unless
    ``?panels=all`` asks for all of them inline."""
    inline = request.GET.get("panels") == "all"
    panels = [
        {"panel": panel, "html": _panel_html(request, patient, panel) if inline else None}
        for panel in panels_for(request.user)
    ]
    return {
        "patient": patient,
        "clinical": may_see_clinical(request.user),
        "consents": consent_overview(patient=patient),
        "consent_history": consent_history(patient=patient)[:20],
        "consent_form": consent_form or ConsentForm(),
        "panels": panels,
    }


@capability_required("clinic.view_demographics")
@require_GET
def chart(request, pk: int):
    patient = get_object_or_404(Patient.objects.select_related("merged_into"), pk=pk)
    # With ?panels=all every panel's records are read here too: the audit says so.
    via = "chart:all" if request.GET.get("panels") == "all" else "chart"
    patient_log_view(patient=patient, actor=request.user, via=via)
    return render(request, "patients/chart.html", _chart_context(request, patient))


@capability_required("clinic.view_demographics")
@require_GET
def chart_panel(request, pk: int, key: str):
    """One panel of the chart: the fragment that replaces its placeholder on the chart page."""
    panel = panel_for(request.user, key)
    if panel is None:
        if key not in panel_keys():
            raise Http404("No such chart panel.")
        raise PermissionDenied
    patient = get_object_or_404(Patient, pk=pk)
    patient_log_view(patient=patient, actor=request.user, via=f"chart:{key}")
    html = _panel_html(request, patient, panel)
    return render(request, "patients/_panel_body.html", {"panel": panel, "html": html})


@capability_required("clinic.edit_demographics")
@require_POST
def record_consent(request, pk: int):
    patient = get_object_or_404(Patient.objects.select_related("merged_into"), pk=pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            for purpose in form.cleaned_data["purposes"]:
                consent_record(
                    patient=patient,
                    channel=form.cleaned_data["channel"],
                    purpose=purpose,
                    granted=form.cleaned_data["granted"],
                    method=form.cleaned_data["method"],
                    note=form.cleaned_data["note"],
                    actor=request.user,
                )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.detail)
    if form.errors:
        context = _chart_context(request, patient, consent_form=form)
        return render(request, "patients/chart.html", context, status=400)
    verb = "Consent recorded" if form.cleaned_data["granted"] else "Opt-out recorded"
    messages.success(request, f"{verb}.")
    return redirect(reverse("patients:chart", kwargs={"pk": patient.pk}) + "#consent")


@capability_required("clinic.merge_patients")
@require_http_methods(["GET", "POST"])
def deactivate(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    form = DeactivateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient_deactivate(patient=patient, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"{patient.mrn} is now inactive.")
            return redirect("patients:chart", pk=patient.pk)
    status = 400 if form.errors else 200
    return render(request, "patients/deactivate.html", {"patient": patient, "form": form}, status=status)


@capability_required("clinic.merge_patients")
@require_POST
def reactivate(request, pk: int):
    patient = get_object_or_404(Patient, pk=pk)
    try:
        patient_reactivate(patient=patient, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"{patient.mrn} is active again.")
    return redirect("patients:chart", pk=patient.pk)


@capability_required("clinic.merge_patients")
@require_http_methods(["GET", "POST"])
def merge(request, pk: int):
    """Merge a duplicate into this record (the survivor): pick, compare, confirm."""
    survivor = get_object_or_404(Patient, pk=pk)
    raw = request.POST.get("duplicate") or request.GET.get("duplicate", "")
    duplicate = None
    if raw.isdigit() and len(raw) < 19:
        duplicate = Patient.objects.filter(pk=int(raw)).exclude(pk=survivor.pk).first()
    if raw and duplicate is None:
        messages.error(request, "Choose another record than this one.")
    if request.method == "POST" and duplicate is not None:
        try:
            result = patient_merge(survivor=survivor, duplicate=duplicate, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            moved = sum(result.moved.values())
            messages.success(
                request, f"Merged {duplicate.mrn} into {survivor.mrn}: {moved} linked records moved."
            )
            for label, changes in result.adjusted.items():
                meta = apps.get_model(label)._meta
                for what, ids in changes.items():
                    things = meta.verbose_name if len(ids) == 1 else meta.verbose_name_plural
                    messages.info(
                        request,
                        f"{what.replace('_', ' ').capitalize()}: {len(ids)} {things} from {duplicate.mrn}.",
                    )
            if result.not_moved:
                left = sum(len(v) for v in result.not_moved.values())
                messages.warning(
                    request,
                    f"{left} linked records clash with this record's (for example overlapping appointments) "
                    f"and stayed on {duplicate.mrn}: resolve them there.",
                )
            return redirect("patients:chart", pk=survivor.pk)
    context = {"survivor": survivor, "duplicate": duplicate}
    if duplicate is not None:
        context["preview"] = merge_preview(survivor=survivor, duplicate=duplicate)
    return render(request, "patients/merge.html", context)
