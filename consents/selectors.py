"""Reads of consent forms and consents for pages and the API."""

from django.db.models import OuterRef, Subquery

from .models import ConsentTemplate, PatientConsent

LIGHT = ("patient_signature_png", "countersignature_png")


def current_templates() -> list[ConsentTemplate]:
    """The newest version of each procedure's form."""
    newest = (
        ConsentTemplate.objects.filter(procedure=OuterRef("procedure")).order_by("-version").values("pk")[:1]
    )
    return list(
        ConsentTemplate.objects.filter(pk=Subquery(newest)).select_related("created_by").order_by("procedure")
    )


def consents_of(*, patient_id: int):
    return (
        PatientConsent.objects.filter(patient_id=patient_id)
        .select_related("template", "created_by", "countersigned_by", "withdrawn_by")
        .defer(*LIGHT)
        .order_by("-created_at", "-id")
    )


def consent_detail(pk: int) -> PatientConsent:
    return PatientConsent.objects.select_related(
        "template", "patient", "created_by", "countersigned_by", "withdrawn_by"
    ).get(pk=pk)
