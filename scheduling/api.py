"""API views of the scheduling app: availability, appointments and their lifecycle, waitlist,
and the calendar set-up (read by all staff, written by managers)."""

from django.db.models import Prefetch
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import filters as api_filters
from clinic.audit import audit_record
from clinic.permissions import IsStaffUser, require
from patients.models import Patient

from . import availability, clock, feeds, practice, selectors, serializers, services
from .models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Location,
    Provider,
    Room,
    TimeOff,
    WaitlistOffer,
    WorkingHours,
)
from .reminders.selectors import booking_notifications
from .rules import booking_warnings

VIA = services.VIA_API
DETAIL = serializers.AppointmentDetailSerializer

READ_WRITE_SCHEDULE = require("clinic.book_appointments", write=("clinic.manage_schedule",))
BOOKING = require("clinic.view_demographics", "clinic.book_appointments")


# --- availability -----------------------------------------------------------------------------


class AvailabilityViewSet(viewsets.ViewSet):
    """Free slots for an appointment type between two dates (inclusive, clinic time zone),
    sorted by start time then provider, a page at a time: when more follow, the response's
    ``Link`` header (``rel="next"``) gives the next page's URL."""

    permission_classes = [BOOKING]

    @extend_schema(
        parameters=[
            serializers.AvailabilityQuerySerializer,
            OpenApiParameter(
                "Link",
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description='`<url>; rel="next"` when slots follow this page: the same search '
                "with `after` set to the last start time here.",
            ),
        ],
        responses=serializers.SlotSerializer(many=True),
    )
    def list(self, request):
        query = serializers.AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page = availability.availability_page(
            appointment_type=params["appointment_type"],
            date_from=params["date_from"],
            date_to=params["date_to"],
            provider=params.get("provider"),
            patient=params.get("patient"),
            duration_minutes=params.get("duration_minutes"),
            limit=params["limit"],
            after=params.get("after"),
        )
        # Built directly: a page can hold thousands of slots, and the serializer's per-object
        # machinery would cost more than the search itself. Same shape as SlotSerializer. A
        # page shares a few dozen start and end times: each is formatted once.
        zone = clock.clinic_tz()
        texts: dict = {}

        def when(moment):
            text = texts.get(moment)
            if text is None:
                text = moment.astimezone(zone).isoformat()
                text = texts[moment] = text[:-6] + "Z" if text.endswith("+00:00") else text
            return text

        response = Response(
            [
                {"start": when(s.start), "end": when(s.end), "provider": s.provider_id, "room": s.room_id}
                for s in page.slots
            ]
        )
        if page.more:
            following = request.query_params.copy()
            following["after"] = when(page.slots[-1].start)
            url = request.build_absolute_uri(f"{request.path}?{following.urlencode()}")
            response["Link"] = f'<{url}>; rel="next"'
        return response


# --- appointments -----------------------------------------------------------------------------


class AppointmentFilter(api_filters.FilterSet):
    date_from = api_filters.DateFilter(
        method="filter_date_from", help_text="Starting on or after this local date"
    )
    date_to = api_filters.DateFilter(
        method="filter_date_to", help_text="Starting on or before this local date"
    )
    provider = filters.ModelChoiceFilter(queryset=selectors.choices_of(Provider))
    room = filters.ModelChoiceFilter(queryset=selectors.choices_of(Room))
    location = filters.ModelChoiceFilter(
        queryset=Location.objects.all(), field_name="room__location", help_text="In this site's rooms"
    )
    patient = filters.ModelChoiceFilter(queryset=Patient.objects.all())
    status = filters.MultipleChoiceFilter(choices=Appointment.Status.choices)
    appointment_type = filters.CharFilter(method="filter_type", max_length=32, help_text="Id or code")

    class Meta:
        model = Appointment
        fields = [
            "date_from",
            "date_to",
            "provider",
            "room",
            "location",
            "patient",
            "status",
            "appointment_type",
        ]

    def filter_date_from(self, qs, name, value):
        return qs.filter(starts_at__gte=clock.day_bounds(value)[0])

    def filter_date_to(self, qs, name, value):
        return qs.filter(starts_at__lt=clock.day_bounds(value)[1])

    def filter_type(self, qs, name, value):
        appointment_type = selectors.appointment_type_resolve(value)
        return qs.filter(appointment_type=appointment_type) if appointment_type else qs.none()


class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Appointments: book, list, and move through their lifecycle (each action one POST)."""

    permission_classes = [BOOKING]
    serializer_class = serializers.AppointmentSerializer
    filterset_class = AppointmentFilter
    ordering_fields = ["starts_at", "status", "created_at"]
    ordering = ["starts_at", "id"]

    def get_queryset(self):
        qs = selectors.appointment_queryset()
        if self.action == "retrieve":
            qs = qs.prefetch_related(Prefetch("events", queryset=_events()))
        elif self.action == "list":
            # A list names the patient (PatientRefSerializer) and shows nothing else of them.
            qs = selectors.appointments_listed(qs)
        return qs

    def get_serializer_class(self):
        return (
            serializers.AppointmentDetailSerializer
            if self.action == "retrieve"
            else super().get_serializer_class()
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        patient = request.query_params.get("patient")
        if patient and response.status_code == 200:
            audit_record(actor=request.user, action="appointment.listed", patient_id=int(patient))
        return response

    def retrieve(self, request, *args, **kwargs):
        appointment = self.get_object()
        audit_record(
            actor=request.user,
            action="appointment.viewed",
            target=appointment,
            patient_id=appointment.patient_id,
        )
        return Response(self.get_serializer(appointment).data)

    def _act(self, request, service, serializer_class=None, code=status.HTTP_200_OK):
        """Parse the body (field names are the service's keywords), call the service, answer."""
        data = _valid(serializer_class, request) if serializer_class else {}
        if self.action != "create":
            data["appointment"] = self.get_object()
        return _appointment_response(service(**data, actor=request.user, via=VIA), code)

    @extend_schema(
        request=serializers.AppointmentBookSerializer,
        responses={201: serializers.AppointmentBookedSerializer},
    )
    def create(self, request):
        data = _valid(serializers.AppointmentBookSerializer, request)
        appointment = services.appointment_book(**data, actor=request.user, via=VIA)
        response = _appointment_response(appointment, status.HTTP_201_CREATED)
        response.data["notifications"] = booking_notifications(appointment=appointment)
        response.data["warnings"] = booking_warnings(appointment=appointment)
        return response

    @extend_schema(request=serializers.AppointmentRescheduleSerializer, responses=DETAIL)
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        return self._act(
            request, services.appointment_reschedule, serializers.AppointmentRescheduleSerializer
        )

    @extend_schema(request=serializers.AppointmentCancelSerializer, responses=DETAIL)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._act(request, services.appointment_cancel, serializers.AppointmentCancelSerializer)

    @extend_schema(request=None, responses=DETAIL)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._act(request, services.appointment_confirm)

    @extend_schema(request=None, responses=DETAIL)
    @action(detail=True, methods=["post"])
    def check_in(self, request, pk=None):
        return self._act(request, services.appointment_check_in)

    @extend_schema(request=serializers.AppointmentReasonSerializer, responses=DETAIL)
    @action(detail=True, methods=["post"])
    def no_show(self, request, pk=None):
        return self._act(request, services.appointment_no_show, serializers.AppointmentReasonSerializer)

    @extend_schema(request=None, responses=DETAIL)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._act(request, services.appointment_complete)

    @extend_schema(request=serializers.AppointmentCorrectSerializer, responses=DETAIL)
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        return self._act(request, services.appointment_correct, serializers.AppointmentCorrectSerializer)


def _events():
    return AppointmentEvent.objects.select_related("by").order_by("at", "id")


def _appointment_response(appointment, code=status.HTTP_200_OK) -> Response:
    fresh = (
        selectors.appointment_queryset()
        .prefetch_related(Prefetch("events", queryset=_events()))
        .get(pk=appointment.pk)
    )
    return Response(DETAIL(fresh).data, status=code)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- waitlist ---------------------------------------------------------------------------------


class WaitlistViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Patients waiting for an earlier slot, with the freed slots currently offered to them."""

    permission_classes = [BOOKING]
    serializer_class = serializers.WaitlistEntrySerializer
    filterset_fields = {"status": ["exact"], "appointment_type": ["exact"], "patient": ["exact"]}
    ordering_fields = ["created_at"]
    ordering = ["created_at", "id"]

    def get_queryset(self):
        open_offers = WaitlistOffer.objects.filter(
            status=WaitlistOffer.Status.OPEN, starts_at__gt=timezone.now()
        ).order_by("starts_at", "id")
        return selectors.waitlist_queryset().prefetch_related(
            Prefetch("offers", queryset=open_offers, to_attr="open_offers")
        )

    def _detail(self, entry, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=entry.pk)).data, status=code)

    @extend_schema(
        request=serializers.WaitlistAddSerializer, responses={201: serializers.WaitlistEntrySerializer}
    )
    def create(self, request):
        entry = services.waitlist_add(
            **_valid(serializers.WaitlistAddSerializer, request), actor=request.user
        )
        return self._detail(entry, status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.AppointmentReasonSerializer, responses=serializers.WaitlistEntrySerializer
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = _valid(serializers.AppointmentReasonSerializer, request)
        entry = services.waitlist_cancel(entry=self.get_object(), reason=data["reason"], actor=request.user)
        return self._detail(entry)

    @extend_schema(
        request=serializers.WaitlistBookSerializer, responses={201: serializers.AppointmentDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def book(self, request, pk=None):
        data = _valid(serializers.WaitlistBookSerializer, request)
        entry = self.get_object()
        offer = WaitlistOffer.objects.filter(pk=data["offer"], entry=entry).first()
        if offer is None:
            raise NotFound("This entry has no such offer.")
        appointment = services.waitlist_offer_accept(offer=offer, actor=request.user, via=VIA)
        return _appointment_response(appointment, status.HTTP_201_CREATED)


# --- calendar set-up --------------------------------------------------------------------------


class ScheduleRecordViewSet(viewsets.ModelViewSet):
    """Read by all staff; created and changed by managers. Not deleted: deactivate instead."""

    permission_classes = [READ_WRITE_SCHEDULE]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.schedule_record_save(
            instance=self.get_queryset().model(), data=serializer.validated_data, actor=self.request.user
        )

    def perform_update(self, serializer):
        serializer.instance = services.schedule_record_save(
            instance=serializer.instance, data=serializer.validated_data, actor=self.request.user
        )


class PracticeRecordViewSet(ScheduleRecordViewSet):
    """Working hours, time off, rooms, appointment types: through the practice services, with
    their rules (no overlapping hours: 400 ``working_hours_overlap``; time off over bookings:
    409 ``time_off_overlaps_bookings`` unless ``acknowledge_bookings``)."""

    def _save(self, serializer, instance):
        data = dict(serializer.validated_data)
        acknowledge = data.pop("acknowledge_bookings", False)
        serializer.instance = practice.record_save(
            instance=instance, data=data, actor=self.request.user, acknowledge_bookings=acknowledge
        )

    def perform_create(self, serializer):
        self._save(serializer, self.get_queryset().model())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)


class DeletableScheduleRecordViewSet(PracticeRecordViewSet):
    http_method_names = [*ScheduleRecordViewSet.http_method_names, "delete"]

    def perform_destroy(self, instance):
        if isinstance(instance, WorkingHours):
            practice.working_hours_delete(hours=instance, actor=self.request.user)
        else:
            practice.time_off_delete(time_off=instance, actor=self.request.user)


class LocationViewSet(ScheduleRecordViewSet):
    queryset = Location.objects.all()
    serializer_class = serializers.LocationSerializer
    filterset_fields = ["is_active"]
    ordering_fields = ["name"]


class RoomViewSet(PracticeRecordViewSet):
    queryset = Room.objects.all()
    serializer_class = serializers.RoomSerializer
    filterset_fields = ["location", "kind", "is_active"]
    ordering_fields = ["name"]


class ProviderViewSet(ScheduleRecordViewSet):
    queryset = Provider.objects.select_related("user").prefetch_related("working_hours")
    serializer_class = serializers.ProviderSerializer
    filterset_fields = ["role", "is_active"]

    def get_permissions(self):
        # A provider revokes their own feed without managing the schedule (checked in the action).
        if self.action == "calendar_feed_new_url":
            return [IsStaffUser()]
        return super().get_permissions()

    @extend_schema(request=None, responses=serializers.ProviderSerializer)
    @action(detail=True, methods=["post"], url_path="calendar-feed/new-url")
    def calendar_feed_new_url(self, request, pk=None):
        """Revoke the provider's calendar-feed URL and issue a new one (that provider or a manager)."""
        provider = self.get_object()
        if not feeds.feed_url_visible_to(user=request.user, owner=provider):
            raise PermissionDenied
        feeds.feed_token_rotate(owner=provider, actor=request.user)
        return Response(self.get_serializer(provider).data)


class WorkingHoursFilter(api_filters.FilterSet):
    provider = filters.ModelChoiceFilter(queryset=selectors.choices_of(Provider))

    class Meta:
        model = WorkingHours
        fields = ["provider", "location", "weekday"]


class WorkingHoursViewSet(DeletableScheduleRecordViewSet):
    queryset = WorkingHours.objects.all()
    serializer_class = serializers.WorkingHoursSerializer
    filterset_class = WorkingHoursFilter


class TimeOffFilter(api_filters.FilterSet):
    provider = filters.ModelChoiceFilter(queryset=selectors.choices_of(Provider))
    room = filters.ModelChoiceFilter(queryset=selectors.choices_of(Room))
    date_from = api_filters.DateFilter(method="filter_date_from")
    date_to = api_filters.DateFilter(method="filter_date_to")

    class Meta:
        model = TimeOff
        fields = ["provider", "room", "date_from", "date_to"]

    def filter_date_from(self, qs, name, value):
        return qs.filter(ends_at__gt=clock.day_bounds(value)[0])

    def filter_date_to(self, qs, name, value):
        return qs.filter(starts_at__lt=clock.day_bounds(value)[1])


class TimeOffViewSet(DeletableScheduleRecordViewSet):
    queryset = TimeOff.objects.all()
    serializer_class = serializers.TimeOffSerializer
    filterset_class = TimeOffFilter
    ordering_fields = ["starts_at"]


class AppointmentTypeViewSet(PracticeRecordViewSet):
    queryset = AppointmentType.objects.all()
    serializer_class = serializers.AppointmentTypeSerializer
    filterset_fields = ["is_active", "code", "is_toxin"]
    ordering_fields = ["name", "code"]


def register(router: DefaultRouter) -> None:
    """Add this app's viewsets to the /api/v1/ router."""
    router.register("availability", AvailabilityViewSet, basename="availability")
    router.register("appointments", AppointmentViewSet, basename="appointment")
    router.register("waitlist", WaitlistViewSet, basename="waitlist")
    router.register("locations", LocationViewSet, basename="location")
    router.register("rooms", RoomViewSet, basename="room")
    router.register("providers", ProviderViewSet, basename="provider")
    router.register("working-hours", WorkingHoursViewSet, basename="working-hours")
    router.register("time-off", TimeOffViewSet, basename="time-off")
    router.register("appointment-types", AppointmentTypeViewSet, basename="appointment-type")
