"""FHIR routes, included under /api/v1/fhir/ (the ``$`` of ``$everything`` is literal)."""

from django.urls import path, re_path

from . import fhir
from .fhir_api import (
    CapabilityStatementView,
    ListEntryReadView,
    PatientEverythingView,
    PatientSearchView,
    ResourceReadView,
    ResourceSearchView,
    UnknownRouteView,
)

urlpatterns = [
    path("metadata", CapabilityStatementView.as_view(), name="fhir-metadata"),
    path("Patient/<int:pk>/$everything", PatientEverythingView.as_view(), name="fhir-patient-everything"),
    *[
        path(
            f"{resource_type}/<int:pk>",
            ResourceReadView.as_view(resource_type=resource_type),
            name=f"fhir-{resource_type.lower()}",
        )
        for resource_type in fhir.READABLE_TYPES
    ],
    *[
        path(
            f"{resource_type}/<int:pk>-<slug:entry>",
            ListEntryReadView.as_view(resource_type=resource_type),
            name=f"fhir-{resource_type.lower()}",
        )
        for resource_type in fhir.LIST_TYPES
    ],
    path("Patient", PatientSearchView.as_view(), name="fhir-patient-search"),
    *[
        path(
            resource_type,
            ResourceSearchView.as_view(resource_type=resource_type),
            name=f"fhir-{resource_type.lower()}-search",
        )
        for resource_type in fhir.SEARCH_DATES
    ],
    # Last: anything else under the FHIR base answers an OperationOutcome 404.
    re_path(r"^(?P<rest>.*)$", UnknownRouteView.as_view(), name="fhir-unknown"),
]
