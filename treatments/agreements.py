"""The patient's agreement to a plan version: the staff page (tablet signature, verbal with a
witness, a link for the patient) and the patient's own link (an action registered with
scheduling's patient links). The rules are the service's (services.plans.plan_agree)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.forms import form_errors_add
from clinic.views import capability_required
from scheduling.reminders.links import link_url, register_link_action

from . import selectors
from .models import PlanAgreement, TreatmentPlan
from .services import plan_agree

ACTION = "plan_agreement"  # target: "<plan id>:<version>"


def agreement_link_url(plan: TreatmentPlan) -> str:
    return link_url(patient_id=plan.patient_id, action=ACTION, target=f"{plan.pk}:{plan.version}")


def _witnesses():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__isnull=False)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class _StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return getattr(obj, "display_name", "") or obj.get_full_name() or obj.get_username()


class VerbalForm(forms.Form):
    witness = _StaffChoice(
        queryset=get_user_model().objects.none(),
        label="Witness (member of staff who heard the patient agree)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["witness"].queryset = _witnesses()


class TabletForm(forms.Form):
    signer_name = forms.CharField(max_length=200, label="Full name of the patient signing")
    signature = forms.CharField(required=False, widget=forms.HiddenInput)
    agree = forms.BooleanField(
        label="I have read this plan, I have been able to ask questions, and I agree to it."
    )


def _plan(pk: int) -> TreatmentPlan:
    return get_object_or_404(
        TreatmentPlan.objects.select_related("patient", "author").prefetch_related(
            "stages", selectors.plan_agreements()
        ),
        pk=pk,
    )


@capability_required("clinic.view_clinical", "clinic.record_consultation")
def plan_agreement(request, pk: int):
    """The plan as the patient reads it, its agreement (or "Not yet agreed") and history, and
    the three ways to record agreement to the current version."""
    plan = _plan(pk)
    verbal, tablet, link = VerbalForm(), TabletForm(), ""
    status = 200
    if request.method == "POST":
        method = request.POST.get("method", "")
        form = None
        try:
            if method == PlanAgreement.Method.VERBAL:
                form = verbal = VerbalForm(request.POST)
                if form.is_valid():
                    plan_agree(
                        plan=plan,
                        actor=request.user,
                        method=method,
                        version=_version(request),
                        witness_id=form.cleaned_data["witness"].pk,
                    )
                    messages.success(request, "The patient's verbal agreement is recorded.")
                    return redirect("treatments:plan_agreement", pk=plan.pk)
            elif method == PlanAgreement.Method.TABLET:
                form = tablet = TabletForm(request.POST)
                if form.is_valid():
                    plan_agree(
                        plan=plan,
                        actor=request.user,
                        method=method,
                        version=_version(request),
                        signer_name=form.cleaned_data["signer_name"],
                        signature=form.cleaned_data["signature"],
                    )
                    messages.success(request, "The patient's signature is recorded.")
                    return redirect("treatments:plan_agreement", pk=plan.pk)
            elif method == PlanAgreement.Method.LINK:
                link = agreement_link_url(plan)
                audit_record(
                    actor=request.user,
                    action="treatment_plan.agreement_link_made",
                    target=plan,
                    patient_id=plan.patient_id,
                    changes={"version": plan.version},
                )
        except DomainError as exc:
            form_errors_add(form, exc)
            status = exc.status
        if form is not None and form.errors and status == 200:
            status = 400
        plan = _plan(pk)
    return render(
        request,
        "treatments/plan_agreement.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "agreement": plan.current_agreement,
            "verbal": verbal,
            "tablet": tablet,
            "link": link,
        },
        status=status,
    )


def _version(request) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() and len(value) < 9 else None


@never_cache
def agreement_link_view(request, *, link, patient, token: str):
    """The patient's link: read the plan (the version the link was made for) and agree."""
    plan_id, _, version = link.target.partition(":")
    plan = (
        TreatmentPlan.objects.filter(pk=int(plan_id), patient=patient).prefetch_related("stages").first()
        if plan_id.isdigit() and version.isdigit()
        else None
    )
    if plan is None:
        return render(request, "links/problem.html", {"expired": False}, status=400)
    error, status = "", 200
    if request.method == "POST":
        if request.POST.get("agree") != "yes":
            error, status = "Tick the box to agree to the plan.", 400
        else:
            try:
                with transaction.atomic():
                    plan_agree(
                        plan=plan,
                        actor=None,
                        method=PlanAgreement.Method.LINK,
                        version=int(version),
                        signer_name=request.POST.get("name", "")[:200],
                    )
            except DomainError as exc:
                error, status = exc.detail, exc.status
    agreed = PlanAgreement.objects.filter(plan=plan, plan_version=int(version)).first()
    return render(
        request,
        "links/plan_agreement.html",
        {
            "plan": plan,
            "agreed": agreed,
            "changed": plan.version != int(version),
            "error": error,
        },
        status=status,
    )


def register() -> None:
    register_link_action(ACTION, agreement_link_view)
