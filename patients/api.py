"""API views of the patients app."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import fields as strict
from clinic.api import serializers
from clinic.permissions import require

from .models import Patient
from .selectors import consent_history, consent_overview, patient_search
from .serializers import (
    ConsentSerializer,
    ConsentStateSerializer,
    DeactivateSerializer,
    DuplicateCandidateSerializer,
    MergeResultSerializer,
    MergeSerializer,
    PatientSerializer,
)
from .services import (
    consent_record,
    patient_deactivate,
    patient_log_view,
    patient_merge,
    patient_reactivate,
    patient_register,
    patient_update,
)

SEARCH_LIMIT = 100
STATUS_FILTERS = {
    "active": {"status": Patient.Status.ACTIVE},
    "inactive": {"status": Patient.Status.INACTIVE},
    "all": {},
}


def _duplicate_response():
    return OpenApiResponse(
        response=inline_serializer(
            "PossibleDuplicate",
            {
                "code": strict.CharField(),
                "detail": strict.CharField(),
                "candidates": DuplicateCandidateSerializer(many=True),
            },
        ),
        description='Possible duplicates: send again with "confirm_not_duplicate": true once checked.',
    )


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "search",
                OpenApiTypes.STR,
                description="Part of a name (typo-tolerant), an MRN, a date of birth (dd/mm/yyyy or "
                f"yyyy-mm-dd), a phone number or an email. Best match first, at most {SEARCH_LIMIT}.",
            ),
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=list(STATUS_FILTERS), description="Default active."
            ),
        ]
    ),
    create=extend_schema(responses={201: PatientSerializer, 409: _duplicate_response()}),
)
class PatientViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The patient registry. Records are never deleted: deactivate or merge them instead.

    Clinical fields are present only for users with clinic.view_clinical. Every retrieve is
    recorded in the audit trail.
    """

    permission_classes = [require("clinic.view_demographics", write=("clinic.edit_demographics",))]
    action_permissions = {
        "merge": ("clinic.merge_patients",),
        "deactivate": ("clinic.merge_patients",),
        "reactivate": ("clinic.merge_patients",),
    }
    serializer_class = PatientSerializer
    queryset = Patient.objects.all()
    # Ids beyond bigint would reach the database as an error; they are simply not found.
    lookup_value_regex = r"[0-9]{1,18}"
    ordering_fields = ["last_name", "first_name", "date_of_birth", "created_at", "mrn"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        # Every staff member with view_demographics may see every patient; the clinical fields
        # are removed per user by the serializer.
        return Patient.objects.all()

    def _status_filter(self) -> dict:
        value = self.request.query_params.get("status", "active")
        if value not in STATUS_FILTERS:
            raise serializers.ValidationError({"status": [f"Choose one of: {', '.join(STATUS_FILTERS)}."]})
        return STATUS_FILTERS[value]

    def list(self, request, *args, **kwargs):
        status_filter = self._status_filter()
        search = request.query_params.get("search", "").strip()
        if search:
            wanted = status_filter.get("status")
            results = patient_search(
                query=search, limit=SEARCH_LIMIT, include_inactive=wanted != Patient.Status.ACTIVE
            )
            # Ranked and limited: the ranking is fetched as ids (one query) and paginated in
            # memory; only the page's rows are loaded in full (one more). Building every match
            # (up to SEARCH_LIMIT, with their phone numbers parsed) to show one page of them
            # cost more than the search itself.
            ranked = [pk for pk, status in results.values_list("pk", "status") if wanted in (None, status)]
            page_ids = self.paginate_queryset(ranked)
            rows = self.get_queryset().in_bulk(page_ids)
            page = [rows[pk] for pk in page_ids if pk in rows]
        else:
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset().filter(**status_filter)))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        patient_log_view(patient=patient, actor=request.user, via="api")
        return Response(self.get_serializer(patient).data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        confirm = data.pop("confirm_not_duplicate", False)
        patient = patient_register(data=data, actor=request.user, confirm_not_duplicate=confirm)
        return Response(self.get_serializer(patient).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        patient = self.get_object()
        serializer = self.get_serializer(patient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("confirm_not_duplicate", None)
        patient = patient_update(patient=patient, data=data, actor=request.user)
        return Response(self.get_serializer(patient).data)

    @extend_schema(request=DeactivateSerializer, responses={200: PatientSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        """Mark the patient inactive: deceased, moved_away or other (with a note). Managers."""
        patient = self.get_object()
        body = DeactivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        patient = patient_deactivate(patient=patient, actor=request.user, **body.validated_data)
        return Response(self.get_serializer(patient).data)

    @extend_schema(request=None, responses={200: PatientSerializer})
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        """Undo a deactivation (not a merge). Managers."""
        patient = patient_reactivate(patient=self.get_object(), actor=request.user)
        return Response(self.get_serializer(patient).data)

    @extend_schema(request=MergeSerializer, responses={200: MergeResultSerializer})
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge the record ``{"duplicate": id}`` into this one (the survivor). Managers.

        Everything attached to the duplicate moves here; the duplicate is kept, inactive,
        pointing at this record. Rows that would break a rule if moved (e.g. overlapping
        appointments) stay on the duplicate and are listed in ``not_moved``.
        """
        survivor = self.get_object()
        body = MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        duplicate = Patient.objects.filter(pk=body.validated_data["duplicate"]).first()
        if duplicate is None:
            raise serializers.ValidationError({"duplicate": ["No patient with this id."]})
        result = patient_merge(survivor=survivor, duplicate=duplicate, actor=request.user)
        return Response(MergeResultSerializer(result, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], responses={200: ConsentSerializer(many=True)})
    @extend_schema(methods=["POST"], request=ConsentSerializer, responses={201: ConsentSerializer})
    @action(detail=True, methods=["get", "post"])
    def consents(self, request, pk=None):
        """Messaging consent decisions, newest first; POST records a new one (grant or withdrawal)."""
        patient = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(consent_history(patient=patient))
            return self.get_paginated_response(ConsentSerializer(page, many=True).data)
        body = ConsentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = consent_record(patient=patient, actor=request.user, **body.validated_data)
        return Response(ConsentSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ConsentStateSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="consents/current", pagination_class=None)
    def consents_current(self, request, pk=None):
        """For every channel and purpose: may we send now, and why (or why not)."""
        states = consent_overview(patient=self.get_object())
        return Response(ConsentStateSerializer(states, many=True).data)


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("patients", PatientViewSet, basename="patient")
