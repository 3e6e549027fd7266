"""The clinic's code map as a section of the clinic settings page: the practice manager maps a
product, procedure or muscle to its code in SNOMED CT, dm+d or RxNorm, from the clinic's own
terminology browser, and removes a mapping (``insight.terminology`` does the work)."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from clinic.configuration import SettingsSection, register_settings_section
from clinic.errors import DomainError
from clinic.views import capability_required

from . import terminology
from .models import CodeMapping

KEY = "code-map"


def _concept_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (CodeMapping.Source(source).label, [(f"{source}:{code}", label) for code, label in concepts.items()])
        for source, concepts in terminology.CONCEPTS.items()
    ]


class CodeMappingForm(forms.Form):
    concept = forms.ChoiceField(label="Concept", choices=_concept_choices)
    target = forms.ChoiceField(label="Terminology", choices=CodeMapping.Target.choices)
    code = forms.CharField(
        label="Code", max_length=18, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    display = forms.CharField(label="Preferred term", max_length=255)
    checked_against = forms.CharField(
        label="Checked in release",
        max_length=80,
        help_text="For example 'SNOMED CT UK 2026-11' or 'dm+d 2026-11-30'.",
    )


def section_context(*, user, clinic_settings) -> dict:
    labels = {
        (source, code): label
        for source, concepts in terminology.CONCEPTS.items()
        for code, label in concepts.items()
    }
    rows = [
        {"row": row, "label": labels.get((row.source, row.local_code), row.local_code)}
        for row in CodeMapping.objects.select_related("updated_by")
    ]
    return {
        "mappings": rows,
        "code_map_form": CodeMappingForm(),
        "medicines": clinic_settings.get_medicines_terminology_display(),
    }


def register() -> None:
    register_settings_section(
        SettingsSection(
            key=KEY,
            title="Standard codes in record exports",
            template="insight/settings/code_map.html",
            context=section_context,
            audit_actions=("code_mapping.",),
            unset_label="local code only",
            order=40,
        )
    )


def _errors(exc: DomainError) -> str:
    return " ".join(" ".join(map(str, errs)) for errs in exc.fields.values()) or str(exc.detail)


@require_POST
@capability_required("clinic.manage_settings")
def code_mapping_add(request):
    back = redirect(reverse("clinic:settings") + f"#{KEY}")
    form = CodeMappingForm(request.POST)
    if not form.is_valid():
        errors = " ".join(" ".join(errs) for errs in form.errors.values())
        messages.error(request, f"Code mapping not saved: {errors}")
        return back
    source, _, local_code = form.cleaned_data["concept"].partition(":")
    try:
        row = terminology.code_mapping_set(
            source=source,
            local_code=local_code,
            target=form.cleaned_data["target"],
            code=form.cleaned_data["code"],
            display=form.cleaned_data["display"],
            checked_against=form.cleaned_data["checked_against"],
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, f"Code mapping not saved: {_errors(exc)}")
        return back
    messages.success(
        request, f"{row.get_target_display()} {row.code} ({row.display}) is now exported for {local_code}."
    )
    return back


@require_POST
@capability_required("clinic.manage_settings")
def code_mapping_remove(request, pk: int):
    row = get_object_or_404(CodeMapping, pk=pk)
    terminology.code_mapping_clear(mapping=row, actor=request.user)
    messages.success(
        request, f"{row.local_code} is exported with its local code only for {row.get_target_display()}."
    )
    return redirect(reverse("clinic:settings") + f"#{KEY}")
