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
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
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
from .export import EXPORT_ACTIONS

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

    def __init__(self, detail: str, *, issue: str = "invalid", status: int = 400, parameters=()):
        super().__init__(detail)
        self.issue = issue
        self.status_code = status
        self.parameters = list(parameters)


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


# The errors of the FHIR routes, in the schema: OperationOutcome resources.
OPERATION_OUTCOME_SCHEMA = {
    "type": "object",
    "description": "A FHIR R4B OperationOutcome.",
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "severity": {"type": "string", "enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["severity", "code"],
            },
        },
    },
    "required": ["resourceType", "issue"],
}
_ERROR_TEXT = {
    400: "A search parameter the server does not take or cannot read.",
    401: "No valid session or API token.",
    403: "Not a clinician.",
    404: "No such resource, or a format the server does not write.",
    429: "Too many requests: wait for the seconds in Retry-After.",
}


def fhir_errors(*statuses: int) -> dict:
    return {
        status: OpenApiResponse(response=OPERATION_OUTCOME_SCHEMA, description=_ERROR_TEXT[status])
        for status in statuses
    }


def operation_outcome(*, issue: str, diagnostics: str, severity: str = "error", expression=()) -> dict:
    """One issue; ``expression`` names the request parameters at fault (FHIR's way of naming
    the field)."""
    entry = {"severity": severity, "code": issue, "diagnostics": diagnostics}
    if expression:
        entry["expression"] = list(expression)
    return {"resourceType": "OperationOutcome", "issue": [entry]}


def _diagnostics(data) -> str:
    if isinstance(data, dict):
        if "detail" in data:
            return str(data["detail"])
        return "; ".join(f"{key}: {_diagnostics(value)}" for key, value in data.items())
    if isinstance(data, list):
        return "; ".join(_diagnostics(value) for value in data)
    return str(data)


class FhirAutoSchema(AutoSchema):
    """Stable operation ids: ``fhir_{Type}_{interaction}`` (the views are shared by types)."""

    def get_operation_id(self):
        interaction = getattr(self.view, "interaction", "")
        if not interaction:
            return super().get_operation_id()
        resource_type = getattr(self.view, "resource_type", "")
        return f"fhir_{resource_type}_{interaction}" if resource_type else f"fhir_{interaction}"


class _FhirView(APIView):
    permission_classes = [require("clinic.view_clinical")]
    renderer_classes = [FhirJSONRenderer, JSONRenderer]
    schema = FhirAutoSchema()
    interaction = ""

    def base_url(self) -> str:
        return self.request.build_absolute_uri("/api/v1/fhir/")

    def handle_exception(self, exc):
        # Every refusal (401, 403, 404, 405, 429, bad parameters) as an OperationOutcome.
        response = super().handle_exception(exc)
        issue = getattr(exc, "issue", None) or ISSUE_BY_STATUS.get(response.status_code, "exception")
        response.data = operation_outcome(
            issue=issue,
            diagnostics=_diagnostics(response.data),
            expression=getattr(exc, "parameters", ()),
        )
        return response


def _checked_pk(pk: int) -> int:
    # Ids beyond the column's range cannot exist; answer 404 rather than a database error.
    if not 1 <= pk <= BIGINT:
        raise Http404
    return pk


class CapabilityStatementView(_FhirView):
    interaction = "capabilities"
    permission_classes = [AllowAny]
    # No session or token is needed; none is read (a stale one would otherwise answer 401).
    authentication_classes = []

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **fhir_errors(400, 401, 403, 404, 429)},
        summary="FHIR CapabilityStatement",
    )
    def get(self, request):
        return Response(fhir.capability_statement(base_url=self.base_url(), software=settings.CLINIC_NAME))


class PatientEverythingView(_FhirView):
    interaction = "Patient_everything"
    # A whole record: the same per-user export rate as /patients/{id}/export/.
    throttle_classes = [*APIView.throttle_classes, AuditedRateThrottle]
    throttle_scope = "export"
    throttle_actions = EXPORT_ACTIONS

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **fhir_errors(400, 401, 403, 404, 429)},
        summary="FHIR Patient $everything (Bundle)",
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
    interaction = "read"

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **fhir_errors(400, 401, 403, 404, 429)},
        summary="FHIR resource read",
    )
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


class ListEntryReadView(_FhirView):
    """``AllergyIntolerance/{patient}-{entry}``, ``MedicationStatement/{patient}-{entry}``: one
    entry of a list on the patient record."""

    resource_type = ""
    interaction = "read"

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **fhir_errors(400, 401, 403, 404, 429)},
        summary="FHIR read of an allergy or medication entry",
    )
    def get(self, request, pk: int, entry: str):
        resource = fhir.list_entry_read(
            resource_type=self.resource_type, patient_pk=_checked_pk(pk), entry=entry
        )
        if resource is None:
            raise Http404
        audit_record(
            actor=request.user,
            action="fhir.resource_read",
            patient_id=pk,
            changes={"resource": f"{self.resource_type}/{resource['id']}"},
        )
        return Response(resource)


def _patient_param(value: str, name: str = "patient") -> int:
    """The patient id of a search; an id beyond the column's range names no patient (0)."""
    match = re.fullmatch(r"(?:Patient/)?(\d{1,19})", value)
    if match is None:
        raise FhirError(f"{name}: not a patient id: {value!r}.", issue="value", parameters=[name])
    patient_id = int(match.group(1))
    return patient_id if 1 <= patient_id <= BIGINT else 0


def date_bound(value: str) -> fhir.DateBound:
    """One ``date`` parameter as [start, end): the value's own precision (a day in the clinic's
    zone, a minute, a second) is the range it stands for, as FHIR's search rules say."""
    match = DATE_PARAM.match(value)
    if match is None:
        raise FhirError(
            f"date: {value!r} is not a date search (e.g. ge2026-01-01; prefixes eq, ge, gt, le, lt).",
            issue="value",
            parameters=["date"],
        )
    prefix, moment = match.group(1) or "eq", match.group(2)
    try:
        start = fhir._moment(moment)
    except ValueError as exc:
        raise FhirError(f"date: {value!r} is not a valid date.", issue="value", parameters=["date"]) from exc
    if "T" not in moment:
        end = clock.at(date.fromisoformat(moment) + timedelta(days=1), time.min)
    else:
        end = start + (timedelta(seconds=1) if match.group(4) else timedelta(minutes=1))
    return fhir.DateBound(prefix=prefix, start=start, end=end)


PATIENT_PARAMETER = r"^(Patient/)?[0-9]{1,19}$"
DATE_PARAMETER = DATE_PARAM.pattern

_DATE = OpenApiParameter(
    "date",
    str,
    many=True,
    pattern=DATE_PARAMETER,
    description="e.g. ge2026-01-01: prefixes eq, ge, gt, le, lt; repeatable (all must match).",
)


class ResourceSearchView(_FhirView):
    """``GET {type}?patient=ID&date=ge2026-01-01``: a searchset Bundle of the patient's
    resources of that type."""

    resource_type = ""
    interaction = "search"
    patient_parameter = "patient"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "patient",
                str,
                required=True,
                pattern=PATIENT_PARAMETER,
                description="The patient: an id or Patient/{id}.",
            ),
            _DATE,
        ],
        responses={200: OpenApiTypes.OBJECT, **fhir_errors(400, 401, 403, 404, 429)},
        summary="FHIR search by patient and date (searchset Bundle)",
    )
    def get(self, request):
        return self.search(request)

    def search(self, request):
        params = request.query_params
        key = self.patient_parameter
        _, own_date = fhir.SEARCH_DATES.get(self.resource_type, (None, "date"))
        dated = {"date", own_date} if self.resource_type in fhir.SEARCH_DATES else set()
        unknown = sorted(set(params) - {"_format", "format", key, *dated})
        if unknown:
            raise FhirError(
                f"Unsupported search parameter(s): {', '.join(unknown)}.",
                issue="not-supported",
                parameters=unknown,
            )
        values = params.getlist(key)
        if len(values) != 1:
            raise FhirError(f"{key}: exactly one patient is required.", issue="required", parameters=[key])
        patient_id = _patient_param(values[0], key)
        dates = [date_bound(v) for name in dated for v in params.getlist(name)]
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


class PatientSearchView(ResourceSearchView):
    """``GET Patient?_id=ID``: the patient as a searchset Bundle."""

    resource_type = "Patient"
    patient_parameter = "_id"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "_id", str, required=True, pattern=r"^[0-9]{1,19}$", description="The patient's id."
            ),
        ],
        responses={200: OpenApiTypes.OBJECT, **fhir_errors(400, 401, 403, 404, 429)},
        summary="FHIR Patient search by id (searchset Bundle)",
    )
    def get(self, request):
        return self.search(request)


class UnknownRouteView(_FhirView):
    """Anything else under the FHIR base: an OperationOutcome 404 (not Django's HTML page)."""

    @extend_schema(exclude=True)
    def get(self, request, rest: str):
        raise FhirError(f"No FHIR resource or operation at {rest!r}.", issue="not-found", status=404)
