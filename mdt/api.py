"""API of the MDT app under /api/v1/mdt/: meetings, items (the patients flagged), tasks.

Access: meetings and items are clinical (``view_clinical`` to read, ``record_consultation`` to
write). Tasks are read and marked done by every member of staff for the roles they hold;
clinicians see every role's and add tasks."""

import django_filters
from django.db.models import Count, Prefetch, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import filters as api_filters
from clinic.audit import audit_record
from clinic.permissions import require

from . import selectors, serializers, services
from .models import MdtItem, MdtMeeting, MdtTask

CLINICAL = require("clinic.view_clinical", write=("clinic.record_consultation",))


def _items() -> Prefetch:
    return Prefetch(
        "items",
        queryset=MdtItem.objects.exclude(status=MdtItem.Status.MERGED)
        .select_related("flagged_by", "discussed_by")
        .prefetch_related(
            Prefetch("tasks", queryset=MdtTask.objects.select_related("done_by", "created_by", "item"))
        )
        .order_by("position", "id"),
        to_attr="listed_items",
    )


class MeetingFilter(api_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MdtMeeting.Status.choices)
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")


class MdtMeetingViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """MDT meetings. The detail carries the agenda (items not yet discussed, in order) and every
    item. ``POST .../hold/``: the meeting took place; the items it did not reach roll over."""

    permission_classes = [CLINICAL]
    filterset_class = MeetingFilter
    queryset = (
        MdtMeeting.objects.select_related("created_by")
        .prefetch_related("attendees")
        .annotate(open_items=Count("items", filter=Q(items__status=MdtItem.Status.OPEN)))
        .order_by("-date", "-id")
    )

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.MdtMeetingDetailSerializer
        return serializers.MdtMeetingSerializer

    def get_queryset(self):
        rows = super().get_queryset()
        return rows.prefetch_related(_items()) if self.action == "retrieve" else rows

    def _answer(self, meeting: MdtMeeting, code: int = status.HTTP_200_OK) -> Response:
        self.action = "retrieve"
        fresh = self.get_queryset().get(pk=meeting.pk)
        return Response(serializers.MdtMeetingDetailSerializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        meeting = services.meeting_create(
            actor=request.user,
            date=data["date"],
            attendees_note=data.get("attendees_note", ""),
            attendee_ids=[u.pk for u in data.get("attendees", [])],
        )
        return self._answer(meeting, status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.HoldSerializer, responses={200: serializers.MdtMeetingDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        meeting = self.get_object()
        given = serializers.HoldSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        services.meeting_hold(
            meeting=meeting,
            actor=request.user,
            attendees_note=given.validated_data.get("attendees_note"),
            attendee_ids=given.validated_data.get("attendees", []),
        )
        return self._answer(meeting)


class ItemFilter(api_filters.FilterSet):
    patient = api_filters.IdFilter(field_name="patient_id")
    meeting = api_filters.IdFilter(field_name="meeting_id")
    status = django_filters.ChoiceFilter(choices=MdtItem.Status.choices)


class MdtItemViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Patients flagged for a meeting with a question (409 mdt_already_on_agenda for a second
    item of one patient at one meeting). ``POST .../outcome/`` records the discussion's outcome,
    decision and follow-up tasks."""

    permission_classes = [CLINICAL]
    serializer_class = serializers.MdtItemSerializer
    filterset_class = ItemFilter
    queryset = (
        MdtItem.objects.exclude(status=MdtItem.Status.MERGED)
        .select_related("flagged_by", "discussed_by")
        .prefetch_related(
            Prefetch("tasks", queryset=MdtTask.objects.select_related("done_by", "created_by", "item"))
        )
        .order_by("-flagged_at", "-id")
    )

    def _answer(self, item: MdtItem, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=item.pk)).data, status=code)

    def list(self, request, *args, **kwargs):
        patient = request.query_params.get("patient", "")
        audit_record(
            actor=request.user,
            action="mdt.items_listed",
            patient_id=int(patient) if patient.isdigit() and len(patient) < 19 else None,
        )
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        item = services.item_add(
            actor=request.user,
            patient=data["patient"],
            question=data["question"],
            meeting=data.get("meeting"),
        )
        return self._answer(item, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.OutcomeSerializer, responses={200: serializers.MdtItemSerializer})
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        item = self.get_object()
        given = serializers.OutcomeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        services.item_discuss(
            item=item,
            actor=request.user,
            outcome=data["outcome"],
            decision=data["decision"],
            tasks=data.get("tasks", []),
        )
        return self._answer(item)


class TaskFilter(api_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=MdtTask._meta.get_field("role").choices)
    done = django_filters.BooleanFilter()
    patient = api_filters.IdFilter(field_name="item__patient_id")


class MdtTaskViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Follow-up tasks, each for a role. A member of staff sees the tasks of the roles they
    hold; a clinician sees every role's and adds tasks. ``POST .../done/`` marks one done."""

    permission_classes = [require("clinic.view_demographics")]
    action_permissions = {"create": ("clinic.view_clinical", "clinic.record_consultation")}
    serializer_class = serializers.MdtTaskSerializer
    filterset_class = TaskFilter

    def get_queryset(self):
        rows = selectors.tasks(include_done=True)
        if not self.request.user.has_perm("clinic.view_clinical"):
            rows = rows.filter(role__in=selectors.user_roles(self.request.user))
        return rows

    def create(self, request, *args, **kwargs):
        given = self.get_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        task = services.task_add(
            item=data["item"],
            actor=request.user,
            role=data["role"],
            description=data["description"],
            due=data["due"],
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=task.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, responses={200: serializers.MdtTaskSerializer})
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        task = services.task_complete(task=self.get_object(), actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=task.pk)).data)


def register(router: DefaultRouter) -> None:
    router.register("mdt/meetings", MdtMeetingViewSet, basename="mdt-meeting")
    router.register("mdt/items", MdtItemViewSet, basename="mdt-item")
    router.register("mdt/tasks", MdtTaskViewSet, basename="mdt-task")
