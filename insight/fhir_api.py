"""FHIR R4 endpoints under /api/v1/fhir/: a patient's whole record as a Bundle
(``Patient/{id}/$everything``) and single-resource reads (``{type}/{id}``).

Clinical data: ``view_clinical`` only; every export and read is audited against the patient.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.audit import audit_record
from clinic.permissions import require
from clinic.throttling import AuditedRateThrottle
from patients.models import Patient

from . import fhir
from .export import EXPORT_ACTIONS, THROTTLED

BIGINT = 2**63 - 1


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class _FhirView(APIView):
    permission_classes = [require("clinic.view_clinical")]
    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    def base_url(self) -> str:
        return self.request.build_absolute_uri("/api/v1/fhir/")


def _checked_pk(pk: int) -> int:
    # Ids beyond the column's range cannot exist; answer 404 rather than a database error.
    if not 1 <= pk <= BIGINT:
        raise Http404
    return pk


class PatientEverythingView(_FhirView):
    # A whole record: the same per-user export rate as /patients/{id}/export/.
    throttle_classes = [*APIView.throttle_classes, AuditedRateThrottle]
    throttle_scope = "export"
    throttle_actions = EXPORT_ACTIONS

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 429: THROTTLED}, summary="FHIR Patient $everything (Bundle)"
    )
    def get(self, request, pk: int):
        patient = Patient.objects.filter(pk=_checked_pk(pk)).first()
        if patient is None:
            raise Http404
        everything = fhir.patient_everything(patient=patient)
        audit_record(
            actor=request.user,
            action="fhir.patient_exported",
            target=patient,
            patient_id=patient.pk,
            changes={"resources": len(everything.resources)},
        )
        return Response(fhir.bundle(resources=everything.resources, base_url=self.base_url()))


class ResourceReadView(_FhirView):
    resource_type = ""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="FHIR resource read")
    def get(self, request, pk: int):
        found = fhir.resource_read(resource_type=self.resource_type, pk=_checked_pk(pk))
        if found is None:
            raise Http404
        resource, patient_id = found
        audit_record(
            actor=request.user,
            action="fhir.resource_read",
            patient_id=patient_id,
            changes={"resource": f"{self.resource_type}/{resource['id']}"},
        )
        return Response(resource)
