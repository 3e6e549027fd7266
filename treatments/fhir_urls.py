"""FHIR routes, included under /api/v1/fhir/ (the ``$`` of ``$everything`` is literal)."""

from django.urls import path

from . import fhir
from .fhir_api import PatientEverythingView, ResourceReadView

urlpatterns = [
    path("Patient/<int:pk>/$everything", PatientEverythingView.as_view(), name="fhir-patient-everything"),
    *[
        path(
            f"{resource_type}/<int:pk>",
            ResourceReadView.as_view(resource_type=resource_type),
            name=f"fhir-{resource_type.lower()}",
        )
        for resource_type in fhir.readable_types()
    ],
]
