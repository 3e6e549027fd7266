"""API: /api/v1/recalls/ (worklist, contacts, close) and /api/v1/messages/ (read-only log)."""

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import fields as strict
from clinic.api import filters as api_filters
from clinic.api import serializers
from clinic.permissions import require

from ..models import Message, Recall, RecallContact
from . import selectors, services


class RecallSerializer(serializers.ModelSerializer):
    bucket = serializers.SerializerMethodField()
    appointment_type = serializers.SlugRelatedField(slug_field="code", read_only=True)
    patient_name = strict.CharField(source="patient.display_name", read_only=True)
    last_contact_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_contact_method = strict.CharField(read_only=True, allow_null=True)
    messages_sent = serializers.IntegerField(read_only=True)
    patient_mobile = strict.CharField(source="patient.mobile", read_only=True)
    next_appointment_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="The patient's next booked appointment of any kind."
    )
    next_appointment_type = strict.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Recall
        fields = [
            "id", "patient", "patient_name", "kind", "appointment_type", "preferred_provider", "anchor_date",
            "earliest_date", "due_date", "overdue_date", "status", "bucket", "label", "booked_appointment",
            "last_contact_at", "last_contact_method", "messages_sent", "created_at", "patient_mobile",
            "next_appointment_at", "next_appointment_type",
        ]  # fmt: skip

    def get_bucket(self, recall) -> str:
        return selectors.recall_bucket(recall, self.context["today"])


class RecallContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecallContact
        fields = ["id", "method", "outcome", "at", "by"]
        read_only_fields = ["id", "at", "by"]


class RecallCloseSerializer(serializers.Serializer):
    reason = strict.CharField(max_length=300)


class RecallFilter(api_filters.FilterSet):
    bucket = django_filters.ChoiceFilter(choices=selectors.Bucket.CHOICES, method="filter_bucket")
    kind = django_filters.ChoiceFilter(choices=Recall.Kind.choices)
    provider = api_filters.IdFilter(field_name="preferred_provider_id", max_value=2**31)
    patient = api_filters.IdFilter(field_name="patient_id", max_value=2**62)
    due_from = api_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_to = api_filters.DateFilter(field_name="due_date", lookup_expr="lte")

    class Meta:
        model = Recall
        fields = ["bucket", "kind", "provider", "patient", "due_from", "due_to"]

    def filter_bucket(self, queryset, name, value):
        # Applied once the value is known to be a bucket: an unknown one is a 400, not a KeyError.
        return queryset.filter(selectors.bucket_filter(value, timezone.localdate()))


class RecallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The recall worklist: patients due back, with buckets due / overdue / upcoming / booked."""

    permission_classes = [require("clinic.work_recalls")]
    serializer_class = RecallSerializer
    filterset_class = RecallFilter
    ordering_fields = ["due_date", "overdue_date", "created_at"]

    def get_queryset(self):
        return selectors.recall_worklist(today=timezone.localdate())

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    @extend_schema(request=RecallContactSerializer, responses={201: RecallContactSerializer})
    @action(detail=True, methods=["post"])
    def contacts(self, request, pk=None):
        """Log a contact attempt (phone call, letter ...)."""
        recall = self.get_object()
        serializer = RecallContactSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.recall_contact_log(recall=recall, actor=request.user, **serializer.validated_data)
        return Response(RecallContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RecallCloseSerializer, responses={200: RecallSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close an open recall: no further reminders."""
        recall = self.get_object()
        serializer = RecallCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.recall_close(recall=recall, reason=serializer.validated_data["reason"], actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=recall.pk)).data)


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id", "patient", "kind", "channel", "purpose", "due_at", "status", "reason_code", "reason",
            "attempts", "to_address", "subject", "sent_at", "appointment", "recall", "created_at",
        ]  # fmt: skip


class MessageFilter(api_filters.FilterSet):
    patient = api_filters.IdFilter(field_name="patient_id", max_value=2**62)
    due_from = api_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_to = api_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = ["patient", "status", "kind", "channel", "reason_code", "due_from", "due_to"]


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every message planned, sent, failed or skipped, with its reason. Read-only."""

    permission_classes = [require("clinic.work_recalls")]
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    ordering_fields = ["due_at", "created_at"]
    queryset = Message.objects.order_by("-due_at", "-id")


def register(router: DefaultRouter) -> None:
    router.register("recalls", RecallViewSet, basename="recall")
    router.register("messages", MessageViewSet, basename="message")
