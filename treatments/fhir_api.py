"""FHIR R4B endpoints under /api/v1/fhir/: the server's CapabilityStatement (``metadata``), a
patient's whole record as a Bundle (``Patient/{id}/$everything``), single-resource reads
(``{type}/{id}``) and searches by patient and date (``{type}?patient=..&date=ge..``).

Clinical data: ``view_clinical`` only; every export, read and search is audited against the
patient. The CapabilityStatement holds no patient data and is public, as FHIR clients read it
before they authenticate. Every error on these routes is an OperationOutcome with its HTTP
status.
"""

import re
from datetime import date, time, timedelta

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.audit import audit_record
from clinic.permissions import require
from clinic.throttling import AuditedRateThrottle
from patients.models import Patient
from scheduling import clock

from . import fhir
from .export import EXPORT_ACTIONS, THROTTLED

BIGINT = 2**63 - 1
DATE_PARAM = re.compile(
    r"^(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)$"
)


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class FhirError(exceptions.APIException):
    """A request the FHIR API refuses, with the OperationOutcome issue code (FHIR's IssueType)."""

    status_code = 400
    default_detail = "Invalid request."

    def __init__(self, detail: str, *, issue: str = "invalid", status: int = 400):
        super().__init__(detail)
        self.issue = issue
        self.status_code = status


# HTTP status -> OperationOutcome issue code when the error is not a FhirError.
ISSUE_BY_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    415: "not-supported",
    429: "throttled",
}


def operation_outcome(*, issue: str, diagnostics: str, severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": issue, "diagnostics": diagnostics}],
    }


def _diagnostics(data) -> str:
    if isinstance(data, dict):
        if "detail" in data:
            return str(data["detail"])
        return "; ".join(f"{key}: {_diagnostics(value)}" for key, value in data.items())
    if isinstance(data, list):
        return "; ".join(_diagnostics(value) for value in data)
    return str(data)


class _FhirView(APIView):
    permission_classes = [require("clinic.view_clinical")]
    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    def base_url(self) -> str:
        return self.request.build_absolute_uri("/api/v1/fhir/")

    def handle_exception(self, exc):
        # Every refusal (401, 403, 404, 405, 429, bad parameters) as an OperationOutcome.
        response = super().handle_exception(exc)
        issue = getattr(exc, "issue", None) or ISSUE_BY_STATUS.get(response.status_code, "exception")
        response.data = operation_outcome(issue=issue, diagnostics=_diagnostics(response.data))
        return response


def _checked_pk(pk: int) -> int:
    # Ids beyond the column's range cannot exist; answer 404 rather than a database error.
    if not 1 <= pk <= BIGINT:
        raise Http404
    return pk


class CapabilityStatementView(_FhirView):
    permission_classes = [AllowAny]
    # No session or token is needed; none is read (a stale one would otherwise answer 401).
    authentication_classes = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="FHIR CapabilityStatement")
    def get(self, request):
        return Response(fhir.capability_statement(base_url=self.base_url(), software=settings.CLINIC_NAME))


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


def _patient_param(value: str) -> int:
    match = re.fullmatch(r"(?:Patient/)?(\d{1,19})", value)
    if match is None or not 1 <= int(match.group(1)) <= BIGINT:
        raise FhirError(f"patient: not a patient id: {value!r}.", issue="value")
    return int(match.group(1))


def date_bound(value: str) -> fhir.DateBound:
    """One ``date`` parameter as [start, end): the value's own precision (a day in the clinic's
    zone, a minute, a second) is the range it stands for, as FHIR's search rules say."""
    match = DATE_PARAM.match(value)
    if match is None:
        raise FhirError(
            f"date: {value!r} is not a date search (e.g. ge2026-01-01; prefixes eq, ge, gt, le, lt).",
            issue="value",
        )
    prefix, moment = match.group(1) or "eq", match.group(2)
    try:
        start = fhir._moment(moment)
    except ValueError as exc:
        raise FhirError(f"date: {value!r} is not a valid date.", issue="value") from exc
    if "T" not in moment:
        end = clock.at(date.fromisoformat(moment) + timedelta(days=1), time.min)
    else:
        end = start + (timedelta(seconds=1) if match.group(4) else timedelta(minutes=1))
    return fhir.DateBound(prefix=prefix, start=start, end=end)


class ResourceSearchView(_FhirView):
    """``GET {type}?patient=ID&date=ge2026-01-01``: a searchset Bundle of the patient's
    resources of that type (``Patient?_id=ID`` for the patient)."""

    resource_type = ""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="FHIR search by patient and date")
    def get(self, request):
        params = request.query_params
        _, own_date = fhir.SEARCH_DATES.get(self.resource_type, (None, "date"))
        allowed = {"_format"} | (
            {"_id"} if self.resource_type == "Patient" else {"patient", "date", own_date}
        )
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise FhirError(f"Unsupported search parameter(s): {', '.join(unknown)}.", issue="not-supported")
        key = "_id" if self.resource_type == "Patient" else "patient"
        values = params.getlist(key)
        if len(values) != 1:
            raise FhirError(f"{key}: exactly one patient is required.", issue="required")
        patient_id = _patient_param(values[0])
        dates = [date_bound(v) for name in {"date", own_date} for v in params.getlist(name)]
        resources = fhir.search(resource_type=self.resource_type, patient_id=patient_id, dates=dates)
        if Patient.objects.filter(pk=patient_id).exists():
            audit_record(
                actor=request.user,
                action="fhir.searched",
                patient_id=patient_id,
                changes={
                    "type": self.resource_type,
                    "query": request.GET.urlencode(),
                    "matches": len(resources),
                },
            )
        return Response(
            fhir.search_bundle(
                resources=resources, base_url=self.base_url(), self_url=request.build_absolute_uri()
            )
        )


class UnknownRouteView(_FhirView):
    """Anything else under the FHIR base: an OperationOutcome 404 (not Django's HTML page)."""

    @extend_schema(exclude=True)
    def get(self, request, rest: str):
        raise FhirError(f"No FHIR resource or operation at {rest!r}.", issue="not-found", status=404)
