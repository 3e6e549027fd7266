"""Clinical pages: the encounter forms, encounter records with signing and addenda, gradings,
plans, the lot register and a per-patient clinical overview. They call the same services as
the API; a service's DomainError becomes form errors on the page."""

from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.permissions import is_staff_member
from clinic.views import capability_required
from patients.chart import panels_for
from patients.models import Patient
from scheduling.models import Appointment

from . import consent_needs, forms, instruments, programme, selectors, services
from .exceptions import ActivePlanExists, RecordSigned
from .interval import interval_finding_review as interval_review
from .interval import toxin_interval_check
from .lot_views import LotCampaignForm
from .models import (
    DEFAULT_POST_OP_PLAN,
    Assessment,
    Encounter,
    IntervalFinding,
    PlanStage,
    Product,
    ToxinLot,
    TreatmentPlan,
)
from .panels import PANEL_KEYS
from .services.consultations import GradingsInvalid, consultation_record_with_gradings
from .services.encounters import ENCOUNTER_FIELDS

BIGINT = 2**63 - 1


def any_capability_required(*perms: str):
    """Page decorator: a logged-in staff member holding at least one of ``perms``."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not is_staff_member(request.user) or not any(request.user.has_perm(p) for p in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _id_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) <= BIGINT else None


def _patient_from_query(request) -> Patient:
    patient_id = _id_param(request, "patient")
    if patient_id is None:
        raise Http404("No patient given.")
    return get_object_or_404(Patient, pk=patient_id)


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def apply_domain_error(exc: DomainError, form, formsets: dict | None = None) -> None:
    """Put a service's field errors on the fields, rows and forms they name."""
    formsets = formsets or {}
    placed = False
    for name, errors in exc.fields.items():
        if name in formsets:
            formsets[name].add_row_errors(errors)
            placed = True
            continue
        messages_ = errors if isinstance(errors, list) else [errors]
        target = name if name in form.fields else None
        for message in messages_:
            form.add_error(target, str(message))
        placed = True
    if not placed:
        form.add_error(None, exc.detail)


# --- Encounter forms ---------------------------------------------------------------------------


@dataclass
class KindPage:
    spec: services.KindSpec
    form: type
    template: str
    title: str
    formsets: dict = field(default_factory=dict)


KIND_PAGES = {
    Encounter.Kind.TOXIN: KindPage(
        services.TOXIN,
        forms.ToxinSessionForm,
        "treatments/toxin_form.html",
        "Toxin session",
        {"injections": forms.InjectionFormSet},
    ),
    Encounter.Kind.THERAPY: KindPage(
        services.THERAPY,
        forms.TherapyVisitForm,
        "treatments/therapy_form.html",
        "Therapy visit",
        {
            "exercises": forms.ExerciseFormSet,
            "patterns": forms.PatternFormSet,
            "recommendations": forms.RecommendationFormSet,
        },
    ),
    Encounter.Kind.SURGERY: KindPage(
        services.SURGERY,
        forms.SurgeryForm,
        "treatments/surgery_form.html",
        "Surgery",
        {
            "procedures": forms.ProcedureFormSet,
            "complications": forms.ComplicationFormSet,
            "follow_up_plan": forms.FollowUpPlanFormSet,
            "stimulated_branches": forms.StimulatedBranchFormSet,
        },
    ),
    Encounter.Kind.CONSULTATION: KindPage(
        services.CONSULTATION, forms.ConsultationForm, "treatments/consultation_form.html", "Consultation"
    ),
    Encounter.Kind.FOLLOW_UP: KindPage(
        services.FOLLOW_UP, forms.FollowUpForm, "treatments/follow_up_form.html", "Follow-up"
    ),
}

# Child rows of each kind as {name: [fields]} for filling a draft's form back in.
ROW_FIELDS = {
    "injections": ["muscle", "side", "units", "points", "diagram_x", "diagram_y"],
    "exercises": ["exercise", "repetitions", "hold_seconds", "times_per_day", "instructions", "notes"],
    "patterns": ["trigger", "region", "severity"],
    "recommendations": ["muscle", "side", "note"],
    "procedures": [
        "kind",
        "muscle",
        "branches_divided",
        "branches_preserved",
        "gold_weight_grams",
        "implant_lot",
        "detail",
        "approach",
        "function_test_smile",
        "function_test_eye_closure",
        "donor_muscle",
        "donor_nerve",
    ],
    "stimulated_branches": ["branch", "response", "action"],
    "complications": ["description", "grade"],
    "follow_up_plan": ["label", "after_days"],
}


def _rows_of(detail, name: str) -> list[dict]:
    return [{f: getattr(row, f) for f in ROW_FIELDS[name]} for row in getattr(detail, name).all()]


def _draft_initial(page: KindPage, detail) -> tuple[dict, dict]:
    encounter = detail.encounter
    initial = {}
    for name in page.form.base_fields:
        source = encounter if name in ENCOUNTER_FIELDS else detail
        if hasattr(source, name):
            initial[name] = getattr(source, name)
    if "occurred_at" in initial:
        initial["occurred_at"] = timezone.localtime(initial["occurred_at"])
    for name in ("started_at", "ended_at"):
        if name in initial:
            initial[name] = timezone.localtime(initial[name])
    if encounter.kind == Encounter.Kind.TOXIN:
        initial["override_reason"] = detail.interval_override_reason
    return initial, {name: _rows_of(detail, name) for name in page.formsets}


def _new_initial(request, page: KindPage, patient, appointment) -> tuple[dict, dict]:
    initial: dict = {}
    rows: dict = {}
    if appointment is not None:
        # The record starts from the visit: its appointment, its time (not the time the form
        # happens to be opened) and the provider it was booked with (shown on the form).
        initial["appointment"] = appointment
        initial["occurred_at"] = timezone.localtime(appointment.starts_at)
    stage = _stage_for(patient, page.spec.kind)
    if stage is not None:
        initial["plan_stage"] = stage
    kind = page.spec.kind
    if kind == Encounter.Kind.TOXIN:
        previous = selectors.recent_toxin_sessions(patient_id=patient.pk, limit=1)
        if previous:
            initial["product"] = previous[0].product
            initial["dilution_ml"] = previous[0].dilution_ml
            if request.GET.get("repeat") == "last":
                rows["injections"] = _rows_of(previous[0], "injections")
    elif kind == Encounter.Kind.THERAPY:
        # The home programme usually carries on from the last visit.
        last = (
            Encounter.objects.filter(patient=patient, kind=Encounter.Kind.THERAPY)
            .select_related("therapy_visit")
            .order_by("-occurred_at")
            .first()
        )
        if last is not None:
            rows["exercises"] = _rows_of(last.therapy_visit, "exercises")
    elif kind == Encounter.Kind.SURGERY:
        rows["follow_up_plan"] = [
            {"label": label, "after_days": days} for label, days in DEFAULT_POST_OP_PLAN
        ]
        initial["started_at"] = timezone.localtime().replace(second=0, microsecond=0)
    return initial, rows


def _stage_for(patient, kind):
    """The stage of the patient's active plan that this kind of encounter most likely belongs to."""
    modality = {"toxin": "toxin", "therapy": "therapy", "surgery": "surgery"}.get(kind)
    if modality is None:
        return None
    return (
        PlanStage.objects.filter(
            plan__patient=patient, plan__status=TreatmentPlan.Status.ACTIVE, modality=modality
        )
        .exclude(status__in=[PlanStage.Status.DONE, PlanStage.Status.SKIPPED])
        .order_by("position")
        .first()
    )


def _grading_forms(request) -> list:
    """One optional grading form per instrument of the registry, clinician-rated ones first."""
    data = request.POST if request.method == "POST" else None
    ordered = sorted(instruments.all_instruments(), key=lambda i: i.reported_by != "clinician")
    return [forms.GradingForm(data, instrument=instrument) for instrument in ordered]


def _grading_context(grading) -> dict:
    sections: dict = {}
    for item in grading.instrument.items:
        sections.setdefault(item.group or "questions", []).append(grading.item_field(item.key))
    return {
        "form": grading,
        "instrument": grading.instrument,
        "sections": sections,
        "open": grading.started or bool(grading.errors),
    }


def _toxin_context(request, patient, detail, form, appointment=None) -> dict:
    exclude = detail.pk if detail is not None else None
    before = detail.encounter.occurred_at if detail is not None else None
    sessions = selectors.recent_toxin_sessions(
        patient_id=patient.pk, before=before, exclude_pk=exclude, limit=3
    )
    interval = None
    if sessions or detail is None:
        # The reinjection rule's owner answers for the date shown: sessions before and after,
        # and toxin bookings, not only the last session.
        on = timezone.localdate(before) if before else timezone.localdate()
        verdict = toxin_interval_check(
            patient_id=patient.pk,
            on=on,
            product=detail.product if detail is not None else None,
            exclude_encounter_id=exclude,
            exclude_appointment_id=detail.encounter.appointment_id if detail is not None else None,
        )
        previous = timezone.localdate(sessions[0].encounter.occurred_at) if sessions else None
        if previous is not None or not verdict.allowed:
            interval = {
                "previous": previous,
                "days": (on - previous).days if previous else None,
                "minimum": verdict.minimum_days,
                "earliest": verdict.earliest,
                "too_soon": not verdict.allowed,
                "message": verdict.message(),
            }
    limits = selectors.dose_limits()
    last = sessions[0] if sessions else None
    return {
        "comparison": selectors.compare_maps(sessions),
        # The last session's rows, for the face diagram's faint points and "Repeat last map".
        "previous_map": [
            {
                "muscle": row.muscle,
                "side": row.side,
                "units": str(row.units),
                "points": row.points,
                "diagram_x": None if row.diagram_x is None else str(row.diagram_x),
                "diagram_y": None if row.diagram_y is None else str(row.diagram_y),
            }
            for row in last.injections.all()
        ]
        if last is not None
        else [],
        "previous_map_date": last.encounter.occurred_at if last is not None else None,
        "recommendations": selectors.open_recommendations(
            patient_id=patient.pk, before=before, exclude_pk=exclude
        ),
        "interval": interval,
        "can_override": request.user.has_perm("clinic.override_toxin_interval"),
        "dose_limits": {
            p: {
                "session": str(limits[p].max_units_per_session or "") if p in limits else "",
                "site": str(limits[p].max_units_per_site or "") if p in limits else "",
                "label": Product(p).label,
            }
            for p in Product.values
        },
        "repeat_url": f"{reverse('treatments:toxin_new')}?patient={patient.pk}&repeat=last"
        + (f"&appointment={appointment.pk}" if appointment is not None else ""),
    }


def _encounter_form(request, page: KindPage, *, patient, detail=None, appointment=None):
    form_kwargs = {"patient": patient}
    if page.spec.kind == Encounter.Kind.TOXIN:
        form_kwargs["current_lot"] = detail.lot if detail is not None else None
    status = 200
    # A consultation takes its gradings on the same page, saved in the same transaction.
    with_gradings = page.spec.kind == Encounter.Kind.CONSULTATION
    gradings = _grading_forms(request) if with_gradings else []
    if request.method == "POST":
        form = page.form(request.POST, **form_kwargs)
        formsets = {name: fs(request.POST, prefix=name) for name, fs in page.formsets.items()}
        # Every grading validated (not stopping at the first invalid one): all errors show.
        grading_valid = [g.is_valid() for g in gradings].count(False) == 0
        if form.is_valid() and all(fs.is_valid() for fs in formsets.values()) and grading_valid:
            data = form.service_data()
            for name, formset in formsets.items():
                data[name] = formset.rows()
            try:
                if with_gradings:
                    taken = {g.instrument.code: g.items() for g in gradings if g.items()}
                    detail = consultation_record_with_gradings(
                        patient=patient, actor=request.user, data=data, gradings=taken, detail=detail
                    )
                elif detail is None:
                    detail = services.encounter_record(
                        page.spec, patient=patient, actor=request.user, data=data
                    )
                else:
                    services.encounter_update(page.spec, detail=detail, actor=request.user, data=data)
            except GradingsInvalid as exc:
                by_code = {g.instrument.code: g for g in gradings}
                for code, fields in exc.fields["gradings"].items():
                    by_code[code].add_service_errors(fields)
                status = 400
            except DomainError as exc:
                apply_domain_error(exc, form, formsets)
                status = exc.status if isinstance(exc, RecordSigned) else 200
            else:
                graded = [g.instrument.name for g in gradings if g.items()]
                saved = f"{page.title} saved as a draft"
                if graded:
                    saved += f" with {', '.join(graded)}"
                messages.success(request, f"{saved}. Sign it when it is complete.")
                return redirect("treatments:encounter", pk=detail.pk)
        elif not grading_valid:
            status = 400
    else:
        if detail is not None:
            initial, rows = _draft_initial(page, detail)
        else:
            initial, rows = _new_initial(request, page, patient, appointment)
        form = page.form(initial=initial, **form_kwargs)
        formsets = {
            name: fs(initial=rows.get(name) or None, prefix=name) for name, fs in page.formsets.items()
        }
        for name, formset in formsets.items():
            if rows.get(name):
                formset.extra = 0
    context = {
        "page": page,
        "gradings": [_grading_context(g) for g in gradings],
        "appointment": appointment if detail is None else None,
        "heading": f"Edit draft: {page.title.lower()}" if detail is not None else f"New {page.title.lower()}",
        "patient": patient,
        "form": form,
        "formsets": formsets,
        "detail": detail,
        "interval_error": form.is_bound and bool(form.errors.get("override_reason")),
    }
    if detail is None:
        context["consent_warnings"] = consent_needs.new_record_warnings(
            patient=patient, kind=page.spec.kind, at=timezone.now()
        )
    else:
        context["consent_warnings"] = consent_needs.encounter_consent_warnings(detail.encounter)
    if page.spec.kind == Encounter.Kind.THERAPY:
        # What the patient said about their home programme since the visit before this one.
        context["checkins"] = _checkins_for_form(patient, detail)
    if page.spec.kind == Encounter.Kind.TOXIN:
        # The form shows the patient's previous maps and responses: a read of their record.
        context.update(_toxin_context(request, patient, detail, form, appointment))
        if request.method == "GET":
            audit_record(
                actor=request.user,
                action="patient.clinical_viewed",
                target=patient,
                patient_id=patient.pk,
                changes={"page": "toxin_form"},
            )
    return render(request, page.template, context, status=status)


def _checkins_for_form(patient, detail) -> list:
    before = detail.encounter.occurred_at if detail is not None else None
    since = programme.last_signed_visit_at(patient_id=patient.pk, before=before)
    return list(programme.checkins_since(patient_id=patient.pk, since=since)[:20])


@capability_required("clinic.view_clinical")
def encounter_new(request, kind: str):
    page = KIND_PAGES[kind]
    _require(request, page.spec.capability)
    patient = _patient_from_query(request)
    appointment = None
    appointment_id = _id_param(request, "appointment")
    if appointment_id is not None:
        appointment = get_object_or_404(
            Appointment.objects.select_related("provider__user", "room", "appointment_type"),
            pk=appointment_id,
            patient=patient,
        )
    elif request.method == "GET":
        appointment = _todays_visit(patient, page.spec.kind)
    return _encounter_form(request, page, patient=patient, appointment=appointment)


def _todays_visit(patient, kind: str):
    """The patient's appointment today that this record is most likely for, when the form is
    opened without one (from the chart): of this kind (a toxin type for a toxin session), not
    cancelled or missed, not yet recorded; the one nearest to now."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    visits = (
        Appointment.objects.filter(patient=patient, starts_at__gte=start, starts_at__lt=end)
        .active()
        .filter(encounters__isnull=True)
        .select_related("provider__user", "room", "appointment_type")
    )
    if kind == Encounter.Kind.TOXIN:
        visits = visits.filter(appointment_type__is_toxin=True)
    else:
        visits = visits.filter(appointment_type__code=kind)
    now = timezone.now()
    return min(visits, key=lambda a: abs(a.starts_at - now), default=None)


@capability_required("clinic.view_clinical")
def encounter_edit(request, pk: int):
    encounter = get_object_or_404(Encounter.objects.select_related("patient"), pk=pk)
    page = KIND_PAGES[encounter.kind]
    _require(request, page.spec.capability)
    if encounter.is_signed:
        messages.error(request, RecordSigned.default_detail)
        if request.method == "POST":
            return _detail_page(request, encounter.pk, status=409)
        return redirect("treatments:encounter", pk=pk)
    detail = selectors.detail_for(encounter)
    detail.encounter = encounter
    return _encounter_form(request, page, patient=encounter.patient, detail=detail)


# --- Encounter record, signing, addenda --------------------------------------------------------


def _detail_page(request, pk: int, *, addendum_form=None, cosign_form=None, status=200):
    encounter = get_object_or_404(Encounter, pk=pk)
    encounter = selectors.encounter_detail(encounter_id=encounter.pk)
    page = KIND_PAGES[encounter.kind]
    may_record = request.user.has_perm(page.spec.capability)
    context = {
        "encounter": encounter,
        "detail": encounter.detail,
        "patient": encounter.patient,
        "page": page,
        "can_edit": not encounter.is_signed and may_record,
        "can_sign": not encounter.is_signed and encounter.clinician_id == request.user.pk,
        "can_amend": encounter.is_signed and may_record,
        "can_cosign": encounter.is_signed
        and may_record
        and encounter.clinician_id != request.user.pk
        and all(c.cosigned_by_id != request.user.pk for c in encounter.cosignatures_list),
        "addendum_form": addendum_form or forms.AddendumForm(),
        "cosign_form": cosign_form or forms.CosignForm(),
    }
    context["consent_warnings"] = consent_needs.encounter_consent_warnings(encounter)
    if encounter.kind == Encounter.Kind.TOXIN:
        session = encounter.detail
        context["total_units"] = selectors.session_total(session)
        context["warnings"] = selectors.dose_warnings(
            product=session.product,
            injections=session.injections.all(),
            limit=selectors.dose_limits().get(session.product),
        )
    audit_record(
        actor=request.user,
        action=f"{encounter.kind}.viewed",
        target=encounter,
        patient_id=encounter.patient_id,
    )
    return render(request, "treatments/encounter_detail.html", context, status=status)


@capability_required("clinic.view_clinical")
def encounter_detail(request, pk: int):
    return _detail_page(request, pk)


@require_POST
@capability_required("clinic.view_clinical")
def encounter_sign(request, pk: int):
    encounter = get_object_or_404(Encounter, pk=pk)
    _require(request, KIND_PAGES[encounter.kind].spec.capability)
    try:
        services.encounter_sign(encounter=encounter, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return _detail_page(request, pk, status=exc.status)
    messages.success(request, "Signed. The record is now read-only; corrections are addenda.")
    return redirect("treatments:encounter", pk=pk)


@require_POST
@capability_required("clinic.view_clinical")
def encounter_cosign(request, pk: int):
    encounter = get_object_or_404(Encounter, pk=pk)
    _require(request, KIND_PAGES[encounter.kind].spec.capability)
    form = forms.CosignForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, pk, cosign_form=form, status=400)
    try:
        services.encounter_cosign(encounter=encounter, actor=request.user, note=form.cleaned_data["note"])
    except DomainError as exc:
        messages.error(request, exc.detail)
        return _detail_page(request, pk, cosign_form=form, status=exc.status)
    messages.success(request, "Co-signed.")
    return redirect("treatments:encounter", pk=pk)


@require_POST
@capability_required("clinic.view_clinical")
def encounter_addendum(request, pk: int):
    encounter = get_object_or_404(Encounter, pk=pk)
    _require(request, KIND_PAGES[encounter.kind].spec.capability)
    form = forms.AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.encounter_add_addendum(
                encounter=encounter, actor=request.user, text=form.cleaned_data["text"]
            )
        except DomainError as exc:
            apply_domain_error(exc, form)
            return _detail_page(request, pk, addendum_form=form, status=exc.status)
        messages.success(request, "Addendum added.")
        return redirect("treatments:encounter", pk=pk)
    return _detail_page(request, pk, addendum_form=form, status=400)


@capability_required("clinic.view_clinical")
def drafts(request):
    """The signed-in clinician's unsigned notes, oldest first: what still needs signing."""
    encounters = (
        Encounter.objects.filter(clinician=request.user, status=Encounter.Status.DRAFT)
        .select_related("patient")
        .order_by("occurred_at", "id")
    )
    return render(request, "treatments/drafts.html", {"encounters": encounters})


# --- Patient overview --------------------------------------------------------------------------


@capability_required("clinic.view_clinical")
def patient_clinical(request, patient_id: int):
    """The patient's clinical panels (plan, timeline, gradings, toxin) and what can be recorded."""
    patient = get_object_or_404(Patient, pk=patient_id)
    panels = []
    for panel in panels_for(request.user):
        if panel.key not in PANEL_KEYS:
            continue
        context = panel.context(patient=patient, user=request.user)
        panels.append({"panel": panel, "html": mark_safe(render_to_string(panel.template, context, request))})  # noqa: S308 (our own rendered template)
    audit_record(actor=request.user, action="patient.clinical_viewed", target=patient, patient_id=patient.pk)
    return render(request, "treatments/patient.html", {"patient": patient, "panels": panels})


# --- Gradings ----------------------------------------------------------------------------------


@capability_required("clinic.view_clinical", "clinic.record_consultation")
def assessment_new(request):
    patient = _patient_from_query(request)
    definition = instruments.get(request.GET.get("instrument", ""))
    if definition is None:
        return render(
            request,
            "treatments/assessment_choose.html",
            {"patient": patient, "instruments": instruments.all_instruments()},
        )
    if request.method == "POST":
        form = forms.AssessmentForm(request.POST, instrument=definition)
        if form.is_valid():
            try:
                assessment = services.assessment_record(
                    patient=patient,
                    instrument=definition.code,
                    items=form.items(),
                    assessed_at=form.cleaned_data["assessed_at"],
                    actor=request.user,
                    side=form.cleaned_data["side"] or None,
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                item_errors = exc.fields.pop("items", {})
                for key, errors in item_errors.items():
                    for message in errors:
                        form.add_error(f"item_{key}" if f"item_{key}" in form.fields else None, message)
                if exc.fields:
                    apply_domain_error(exc, form)
            else:
                messages.success(request, f"{definition.name} recorded.")
                return redirect("treatments:assessment", pk=assessment.pk)
    else:
        side = patient.affected_side if definition.reported_by == "clinician" else ""
        form = forms.AssessmentForm(instrument=definition, initial={"side": side})
    sections = {}
    for item in definition.items:
        sections.setdefault(item.group or "questions", []).append(
            {"item": item, "field": form.item_field(item.key)}
        )
    # Sunnybrook is laid out like its paper form; other instruments as a list of questions.
    template = "treatments/assessment_sunnybrook.html" if definition.code == "sunnybrook" else None
    return render(
        request,
        template or "treatments/assessment_form.html",
        {
            "patient": patient,
            "form": form,
            "instrument": definition,
            "sections": sections,
            "scales": {name: sorted(rows[0]["item"].anchors.items()) for name, rows in sections.items()},
            "weights": {
                i.key: {o.value: o.points for o in i.options} for i in definition.items if i.is_categorical
            },
        },
    )


@capability_required("clinic.view_clinical")
def assessment_detail(request, pk: int):
    assessment = get_object_or_404(Assessment.objects.select_related("patient", "rater", "encounter"), pk=pk)
    definition = instruments.get(assessment.instrument)
    items = []
    if definition is not None:
        for item in definition.items:
            value = assessment.items.get(item.key)
            label = dict(item.choices).get(value, value)
            items.append({"item": item, "value": value, "label": label})
    audit_record(
        actor=request.user, action="assessment.viewed", target=assessment, patient_id=assessment.patient_id
    )
    return render(
        request,
        "treatments/assessment_detail.html",
        {
            "assessment": assessment,
            "patient": assessment.patient,
            "instrument": definition,
            "items": items,
            "scores": [(s, assessment.scores.get(s.key)) for s in definition.scores] if definition else [],
            "error_form": forms.EnteredInErrorForm(),
            "can_correct": request.user.has_perm("clinic.record_consultation")
            and assessment.status == Assessment.Status.RECORDED,
        },
    )


@require_POST
@capability_required("clinic.view_clinical", "clinic.record_consultation")
def assessment_entered_in_error(request, pk: int):
    assessment = get_object_or_404(Assessment, pk=pk)
    form = forms.EnteredInErrorForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why this grading is wrong.")
        return redirect("treatments:assessment", pk=pk)
    try:
        services.assessment_mark_entered_in_error(
            assessment=assessment, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Marked as entered in error; it no longer counts in the trend.")
    return redirect("treatments:assessment", pk=pk)


# --- Plans -------------------------------------------------------------------------------------


def _plan_page(request, *, patient, plan=None):
    if request.method == "POST":
        form = forms.PlanForm(request.POST)
        stages = forms.StageFormSet(request.POST, prefix="stages")
        if form.is_valid() and stages.is_valid():
            data = {**form.service_data(), "stages": stages.rows()}
            for row in data["stages"]:
                if row.get("id") is None:
                    row.pop("id", None)
            try:
                if plan is None:
                    plan = services.plan_create(patient=patient, actor=request.user, data=data)
                else:
                    services.plan_update(plan=plan, actor=request.user, data=data)
            except ActivePlanExists as exc:
                form.add_error("status", f"{exc.detail} (plan {exc.extra.get('active_plan', '')})")
            except DomainError as exc:
                apply_domain_error(exc, form, {"stages": stages})
            else:
                messages.success(request, "Treatment plan saved.")
                return redirect("treatments:patient", patient_id=patient.pk)
    elif plan is not None:
        form = forms.PlanForm(initial={name: getattr(plan, name) for name in forms.PlanForm.base_fields})
        rows = [
            {
                "id": s.pk,
                **{
                    f: getattr(s, f)
                    for f in ("modality", "description", "target_start", "target_end", "status")
                },
            }
            for s in plan.stages.all()
        ]
        stages = forms.StageFormSet(initial=rows, prefix="stages")
        stages.extra = 0 if rows else 1
    else:
        form = forms.PlanForm()
        stages = forms.StageFormSet(prefix="stages")
    return render(
        request,
        "treatments/plan_form.html",
        {"patient": patient, "plan": plan, "form": form, "stages": stages},
    )


@capability_required("clinic.view_clinical", "clinic.record_consultation")
def plan_new(request):
    return _plan_page(request, patient=_patient_from_query(request))


@capability_required("clinic.view_clinical", "clinic.record_consultation")
def plan_edit(request, pk: int):
    plan = get_object_or_404(
        TreatmentPlan.objects.select_related("patient").prefetch_related(selectors.plan_agreements()), pk=pk
    )
    return _plan_page(request, patient=plan.patient, plan=plan)


# --- Lot register ------------------------------------------------------------------------------


def _save_lot_form(request, save, form_class=forms.LotForm):
    """(form, status, saved lot or None) for a lot form posted by a lot manager."""
    if not request.user.has_perm("clinic.manage_lots"):
        raise PermissionDenied
    form = form_class(request.POST)
    if not form.is_valid():
        return form, 400, None
    try:
        return form, 200, save(form.cleaned_data)
    except DomainError as exc:
        apply_domain_error(exc, form)
        return form, exc.status, None


@any_capability_required("clinic.view_clinical", "clinic.manage_lots")
def lots(request):
    """The lot register: clinicians read it, lot managers add lots and set dose limits."""
    can_manage = request.user.has_perm("clinic.manage_lots")
    form = forms.LotForm()
    status = 200
    if request.method == "POST":
        form, status, lot = _save_lot_form(
            request, lambda data: services.toxin_lot_create(actor=request.user, data=data)
        )
        if lot is not None:
            messages.success(request, f"Lot {lot.lot_number} added to the register.")
            return redirect("treatments:lots")
    limits = selectors.dose_limits()
    limit_forms = []
    for product, label in Product.choices:
        limit = limits.get(product)
        limit_form = forms.DoseLimitForm(
            prefix=product,
            initial={name: getattr(limit, name, None) for name in forms.DoseLimitForm.base_fields},
        )
        # One small form per product row: the inputs sit in table cells, tied to it by id.
        for bound_field in limit_form.fields.values():
            bound_field.widget.attrs["form"] = f"limit-{product}"
        limit_forms.append({"product": product, "label": label, "limit": limit, "form": limit_form})
    return render(
        request,
        "treatments/lots.html",
        {
            "lots": selectors.lots_with_usage(),
            "today": timezone.localdate(),
            "soon": timezone.localdate() + timedelta(days=60),
            "form": form,
            "can_manage": can_manage,
            "limit_forms": limit_forms,
        },
        status=status,
    )


@any_capability_required("clinic.view_clinical", "clinic.manage_lots")
def lot_detail(request, pk: int):
    lot = get_object_or_404(ToxinLot, pk=pk)
    can_manage = request.user.has_perm("clinic.manage_lots")
    status = 200
    if request.method == "POST":
        form, status, saved = _save_lot_form(
            request,
            lambda data: services.toxin_lot_update(lot=lot, actor=request.user, data=data),
            forms.LotEditForm,
        )
        if saved is not None:
            messages.success(request, "Lot updated.")
            return redirect("treatments:lot", pk=pk)
    else:
        form = forms.LotEditForm(initial={name: getattr(lot, name) for name in forms.LotForm.base_fields})
    recipients = None
    if request.user.has_perm("clinic.view_clinical"):
        recipients = services.lot_recall(lot=lot, actor=request.user)
    return render(
        request,
        "treatments/lot_detail.html",
        {
            "lot": lot,
            "form": form,
            "can_manage": can_manage,
            "recipients": recipients,
            "campaign_form": LotCampaignForm(),
            "today": timezone.localdate(),
            "used": lot.sessions.exists(),
        },
        status=status,
    )


@require_POST
@capability_required("clinic.manage_lots")
def dose_limit_edit(request, product: str):
    if product not in Product.values:
        raise Http404
    form = forms.DoseLimitForm(request.POST, prefix=product)
    if form.is_valid():
        services.dose_limit_set(product=product, actor=request.user, data=form.cleaned_data)
        messages.success(request, f"Dose limits for {Product(product).label} saved.")
    else:
        messages.error(
            request,
            f"Dose limits for {Product(product).label} not saved: "
            + "; ".join(f"{name}: {', '.join(errs)}" for name, errs in form.errors.items()),
        )
    return redirect(reverse("treatments:lots") + "#dose-limits")


# --- The reinjection interval's safety net ----------------------------------------------------


@capability_required("clinic.review_interval_findings")
def interval_findings(request):
    """Toxin sessions found closer than the interval without an override, for the clinical lead."""
    findings = IntervalFinding.objects.select_related(
        "patient", "earlier__toxin_session", "later__toxin_session", "reviewed_by"
    ).order_by("status", "-found_at", "-id")[:200]
    audit_record(actor=request.user, action="interval_finding.listed", changes={})
    return render(request, "treatments/interval_findings.html", {"findings": findings})


@require_POST
@capability_required("clinic.review_interval_findings")
def interval_finding_review(request, pk: int):
    finding = get_object_or_404(IntervalFinding, pk=pk)
    try:
        interval_review(finding=finding, actor=request.user, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, " ".join(m for ms in (exc.fields or {}).values() for m in ms) or exc.detail)
    else:
        messages.success(request, "Finding reviewed.")
    return redirect("treatments:interval_findings")
