"""API: the front desk's triage queue of consultation requests (list, filter by status and
source, read with the possible duplicates), a referral entered by staff (POST), accept (register
or link the patient and book) and decline (with a message emailed once). The public form is a
page only (/request/)."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import filters as api_filters
from clinic.audit import audit_record
from clinic.errors import Invalid
from clinic.permissions import require
from patients.models import Patient

from . import selectors, serializers, services
from .models import ConsultationRequest


class RequestFilter(api_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ConsultationRequest.Status.choices)
    source = django_filters.ChoiceFilter(choices=ConsultationRequest.Source.choices)

    class Meta:
        model = ConsultationRequest
        fields = ["status", "source"]


class ConsultationRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Consultation requests, newest first. Never edited or deleted: a request is accepted or
    declined once (a second decision is 409 ``request_not_open``)."""

    serializer_class = serializers.IntakeSerializer
    filterset_class = RequestFilter
    permission_classes = [
        require("clinic.view_demographics", "clinic.book_appointments", write=("clinic.edit_demographics",))
    ]

    def get_queryset(self):
        return selectors.request_queryset().order_by("-created_at", "-id")

    def _respond(self, item, code=status.HTTP_200_OK):
        item = self.get_queryset().get(pk=item.pk)
        return Response(serializers.IntakeSerializer(item).data, status=code)

    @extend_schema(responses=serializers.IntakeDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        item = self.get_object()
        audit_record(
            actor=request.user, action="consultation_request.viewed", target=item, patient_id=item.patient_id
        )
        duplicates = (
            selectors.request_duplicates(item) if item.status == ConsultationRequest.Status.NEW else []
        )
        data = serializers.IntakeDetailSerializer(item, context={"duplicates": duplicates}).data
        return Response(data)

    def create(self, request, *args, **kwargs):
        """Enter a referral from a clinician (``source`` is ``referral``)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.consultation_request_refer(data=dict(serializer.validated_data), actor=request.user)
        return self._respond(item, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.IntakeAcceptSerializer, responses=serializers.IntakeSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Register the requester (or link ``patient``) and book the consultation, in one go."""
        item = self.get_object()
        body = serializers.IntakeAcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        patient = None
        if data.get("patient"):
            patient = Patient.objects.filter(pk=data["patient"]).first()
            if patient is None:
                raise Invalid(fields={"patient": ["No patient has this id."]})
        item = services.consultation_request_accept(
            request=item,
            actor=request.user,
            patient=patient,
            confirm_not_duplicate=data["confirm_not_duplicate"],
            appointment_type=data["appointment_type"],
            provider=data["provider"],
            room=data.get("room"),
            starts_at=data["starts_at"],
        )
        return self._respond(item)

    @extend_schema(request=serializers.IntakeDeclineSerializer, responses=serializers.IntakeSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Decline with a message; it is emailed to the requester once, after the change is saved."""
        item = self.get_object()
        body = serializers.IntakeDeclineSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.consultation_request_decline(
            request=item, actor=request.user, message=body.validated_data["message"]
        )
        return self._respond(item)


def register(router: DefaultRouter) -> None:
    router.register("consultation-requests", ConsultationRequestViewSet, basename="consultation-request")
