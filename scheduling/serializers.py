"""API representations. No rules here: the services decide; these parse and present."""

import re

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from clinic.api import fields as strict
from clinic.api import serializers
from patients.models import Patient

from . import feeds
from .availability import MAX_RANGE_DAYS
from .models import (
    MAX_BUFFER_MINUTES,
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Location,
    Message,
    Provider,
    Room,
    TimeOff,
    WaitlistEntry,
    WaitlistOffer,
    WorkingHours,
)
from .selectors import appointment_type_resolve, choices_of
from .services import CANCELLED_BY, CORRECTIONS, MAX_BOOKED_MINUTES, MIN_BOOKED_MINUTES

MAX_ID = 2**63 - 1
# Slots per page of an availability search: by default, and at most.
AVAILABILITY_LIMIT = 500
AVAILABILITY_LIMIT_MAX = 5000
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _id_field(model, **kw):
    # PrimaryKeyRelatedField answers "Invalid pk" for non-numbers and out-of-range numbers.
    return serializers.PrimaryKeyRelatedField(queryset=choices_of(model), **kw)


def _choices(*names_and_models) -> dict:
    """extra_kwargs giving related fields their choices with labels in one query (the
    browsable API lists them in its forms)."""
    return {name: {"queryset": choices_of(model)} for name, model in names_and_models}


def _validate_colour(value: str) -> str:
    if not COLOUR.match(value):
        raise serializers.ValidationError("Give a colour as #rrggbb.")
    return value.lower()


@extend_schema_field(OpenApiTypes.STR)
class AppointmentTypeRefField(serializers.Field):
    """An appointment type given by id (``3``) or by code (``"toxin"``)."""

    default_error_messages = {
        "invalid": "Give an appointment type id or code.",
        "null_characters_not_allowed": "Null characters are not allowed.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        value = str(data).strip()
        if "\x00" in value:
            self.fail("null_characters_not_allowed")
        if not value or len(value) > 32:
            self.fail("invalid")
        appointment_type = appointment_type_resolve(value)
        if appointment_type is None:
            raise serializers.ValidationError("No appointment type has this id or code.")
        return appointment_type

    def to_representation(self, value):
        return value.code


# --- resources --------------------------------------------------------------------------------


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "address", "is_active"]


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "location", "name", "kind", "is_active"]


class WorkingHoursSerializer(serializers.ModelSerializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday ... 6 = Sunday")

    class Meta:
        model = WorkingHours
        fields = ["id", "provider", "location", "weekday", "start_time", "end_time"]
        extra_kwargs = _choices(("provider", Provider))

    def validate(self, attrs):
        start = attrs.get("start_time", getattr(self.instance, "start_time", None))
        end = attrs.get("end_time", getattr(self.instance, "end_time", None))
        if start and end and end <= start:
            raise serializers.ValidationError({"end_time": ["Must be after the start time."]})
        return attrs


class TimeOffSerializer(serializers.ModelSerializer):
    acknowledge_bookings = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Save even though appointments are booked in this time (otherwise 409 "
        "time_off_overlaps_bookings, listing them); the bookings stay for the front desk to move.",
    )

    class Meta:
        model = TimeOff
        fields = ["id", "provider", "room", "starts_at", "ends_at", "reason", "acknowledge_bookings"]
        extra_kwargs = _choices(("provider", Provider), ("room", Room))

    def validate(self, attrs):
        merged = {
            f: attrs.get(f, getattr(self.instance, f, None))
            for f in ("provider", "room", "starts_at", "ends_at")
        }
        if (merged["provider"] is None) == (merged["room"] is None):
            raise serializers.ValidationError({"non_field_errors": ["Give either a provider or a room."]})
        if merged["starts_at"] and merged["ends_at"] and merged["ends_at"] <= merged["starts_at"]:
            raise serializers.ValidationError({"ends_at": ["Must be after the start."]})
        return attrs


class ProviderSerializer(serializers.ModelSerializer):
    name = strict.CharField(source="user.display_name", read_only=True)
    user = _id_field(get_user_model())
    working_hours = WorkingHoursSerializer(many=True, read_only=True)
    calendar_feed_url = serializers.SerializerMethodField(
        help_text="The provider's private calendar feed; only for that provider and schedule managers."
    )

    class Meta:
        model = Provider
        fields = ["id", "user", "name", "role", "colour", "is_active", "working_hours", "calendar_feed_url"]

    def get_calendar_feed_url(self, provider) -> str | None:
        request = self.context.get("request")
        if request is None or not feeds.feed_url_visible_to(user=request.user, owner=provider):
            return None
        return request.build_absolute_uri(feeds.feed_path(provider))

    def validate_colour(self, value):
        return _validate_colour(value)


class TypeFollowUpSerializer(serializers.Serializer):
    after_days = serializers.IntegerField(min_value=1, max_value=3650)
    appointment_type = serializers.SlugField(max_length=32)
    label = strict.CharField(max_length=100)


class AppointmentTypeSerializer(serializers.ModelSerializer):
    duration_minutes = serializers.IntegerField(min_value=5, max_value=24 * 60)
    buffer_after_minutes = serializers.IntegerField(min_value=0, max_value=MAX_BUFFER_MINUTES, required=False)
    # Plain strings checked below: a second enum of the same roles would name them twice in the schema.
    provider_roles = serializers.ListField(
        child=strict.CharField(max_length=16),
        allow_empty=False,
        help_text="surgeon, injector, therapist",
    )
    room_kind = strict.CharField(max_length=16, help_text="consultation, procedure, theatre, therapy")
    follow_up_plan = TypeFollowUpSerializer(many=True, required=False)

    class Meta:
        model = AppointmentType
        fields = [
            "id",
            "code",
            "name",
            "duration_minutes",
            "duration_set_per_booking",
            "buffer_after_minutes",
            "provider_roles",
            "room_kind",
            "is_toxin",
            "follow_up_plan",
            "colour",
            "is_active",
        ]

    def validate_colour(self, value):
        return _validate_colour(value)

    def validate_provider_roles(self, value):
        unknown = sorted(set(value) - set(Provider.Role.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown roles: {', '.join(unknown)}.")
        return sorted(set(value))

    def validate_room_kind(self, value):
        if value not in Room.Kind.values:
            raise serializers.ValidationError(f"Choose one of: {', '.join(Room.Kind.values)}.")
        return value


# --- appointments -----------------------------------------------------------------------------


class PatientRefSerializer(serializers.ModelSerializer):
    name = strict.CharField(source="display_name")

    class Meta:
        model = Patient
        fields = ["id", "mrn", "name"]


class AppointmentEventSerializer(serializers.ModelSerializer):
    by = strict.CharField(source="by.username", default=None, allow_null=True)

    class Meta:
        model = AppointmentEvent
        fields = ["action", "from_status", "to_status", "at", "by", "via", "reason", "details"]


class AppointmentSerializer(serializers.ModelSerializer):
    patient = PatientRefSerializer()
    appointment_type = serializers.SerializerMethodField()
    provider = serializers.SerializerMethodField()
    room = serializers.SerializerMethodField()
    booked_by = strict.CharField(source="booked_by.username", default=None, allow_null=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "appointment_type",
            "provider",
            "room",
            "starts_at",
            "ends_at",
            "blocked_until",
            "status",
            "notes",
            "interval_override_reason",
            "cancellation_reason",
            "booked_by",
            "booked_via",
            "created_at",
            "updated_at",
        ]

    def get_appointment_type(self, appt) -> dict:
        t = appt.appointment_type
        return {"id": t.pk, "code": t.code, "name": t.name}

    def get_provider(self, appt) -> dict:
        return {"id": appt.provider_id, "name": appt.provider.user.display_name}

    def get_room(self, appt) -> dict:
        return {"id": appt.room_id, "name": appt.room.name, "location": appt.room.location.name}


class AppointmentDetailSerializer(AppointmentSerializer):
    events = AppointmentEventSerializer(many=True, read_only=True)

    class Meta(AppointmentSerializer.Meta):
        fields = [*AppointmentSerializer.Meta.fields, "events"]


class NotificationChannelSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Message.Channel.choices)
    sent = serializers.BooleanField()
    address = strict.CharField(help_text="Where it goes ('' when not sent)")
    reason = serializers.ChoiceField(
        choices=["", "no_address", "unknown", "withdrawn", "stale"],
        help_text="Why not: no contact details, no consent, consent withdrawn, consent for another address",
    )
    reason_text = strict.CharField()


class BookingNotificationsSerializer(serializers.Serializer):
    kind = strict.CharField(help_text="The message a booking sends: appointment_confirmation")
    sent = serializers.BooleanField(help_text="True when it goes out on at least one channel")
    channels = NotificationChannelSerializer(many=True)
    summary = strict.CharField(help_text="One sentence for the front desk")


class AppointmentBookedSerializer(AppointmentDetailSerializer):
    """A new booking, with what was sent to the patient (or why nothing was)."""

    notifications = BookingNotificationsSerializer(read_only=True)
    warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What the clinic should check before the visit (e.g. no valid procedure consent); "
        "the booking is made all the same.",
    )

    class Meta(AppointmentDetailSerializer.Meta):
        fields = [*AppointmentDetailSerializer.Meta.fields, "notifications", "warnings"]


class _DurationField(serializers.IntegerField):
    def __init__(self, **kw):
        super().__init__(min_value=MIN_BOOKED_MINUTES, max_value=MAX_BOOKED_MINUTES, required=False, **kw)


class AppointmentBookSerializer(serializers.Serializer):
    patient = _id_field(Patient)
    appointment_type = AppointmentTypeRefField()
    provider = _id_field(Provider)
    start = serializers.DateTimeField(
        source="starts_at", help_text="ISO 8601 with its UTC offset (Z or +01:00)"
    )
    room = _id_field(Room, required=False, allow_null=True)
    duration_minutes = _DurationField(help_text="Only for types whose duration is set per booking (surgery)")
    notes = strict.CharField(max_length=500, required=False, allow_blank=True, default="")
    override_reason = strict.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="A clinician's reason to book a toxin session inside the minimum interval",
    )


class AppointmentRescheduleSerializer(serializers.Serializer):
    start = serializers.DateTimeField(source="starts_at")
    provider = _id_field(Provider, required=False, allow_null=True)
    room = _id_field(Room, required=False, allow_null=True)
    duration_minutes = _DurationField()
    override_reason = strict.CharField(max_length=500, required=False, allow_blank=True, default="")
    reason = strict.CharField(max_length=500, required=False, allow_blank=True, default="")


class AppointmentCancelSerializer(serializers.Serializer):
    reason = strict.CharField(max_length=500)
    cancelled_by = serializers.ChoiceField(choices=CANCELLED_BY, default="patient")


class AppointmentReasonSerializer(serializers.Serializer):
    reason = strict.CharField(max_length=500, required=False, allow_blank=True, default="")


class AppointmentCorrectSerializer(serializers.Serializer):
    to_status = serializers.ChoiceField(
        choices=sorted({s for targets in CORRECTIONS.values() for s in targets})
    )
    reason = strict.CharField(max_length=500)


# --- availability -----------------------------------------------------------------------------


class AvailabilityQuerySerializer(serializers.Serializer):
    # Reads the query string, where parameters of the request itself (``format``) travel too.
    allow_unknown_fields = True

    appointment_type = AppointmentTypeRefField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    provider = _id_field(Provider, required=False)
    patient = _id_field(Patient, required=False)
    duration_minutes = _DurationField()
    limit = serializers.IntegerField(
        min_value=1,
        max_value=AVAILABILITY_LIMIT_MAX,
        default=AVAILABILITY_LIMIT,
        help_text="Slots per page, about: a page ends between two start times, so it may stop "
        "short of this, or go past it when more slots than this share its first start time",
    )
    after = serializers.DateTimeField(
        required=False,
        help_text="Only slots starting strictly after this time (ISO 8601 with its UTC offset): "
        "the next page's link sets it to the last start time of this page",
    )

    def validate(self, attrs):
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        if (attrs["date_to"] - attrs["date_from"]).days >= MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"date_to": [f"Search at most {MAX_RANGE_DAYS} days at a time."]}
            )
        return attrs


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    provider = serializers.IntegerField(source="provider_id")
    room = serializers.IntegerField(source="room_id")


# --- waitlist ---------------------------------------------------------------------------------


class WaitlistOfferSerializer(serializers.ModelSerializer):
    status = strict.CharField(read_only=True, help_text="open, accepted or lapsed")

    class Meta:
        model = WaitlistOffer
        fields = ["id", "provider", "room", "starts_at", "ends_at", "status", "created_at"]


class WaitlistEntrySerializer(serializers.ModelSerializer):
    patient = PatientRefSerializer()
    appointment_type = strict.CharField(source="appointment_type.code")
    open_offers = WaitlistOfferSerializer(many=True, read_only=True)
    status = strict.CharField(read_only=True, help_text="waiting, booked or cancelled")

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "patient",
            "appointment_type",
            "provider",
            "earliest_date",
            "latest_date",
            "appointment",
            "notes",
            "status",
            "booked_appointment",
            "created_at",
            "open_offers",
        ]
        extra_kwargs = _choices(
            ("provider", Provider), ("appointment", Appointment), ("booked_appointment", Appointment)
        )


class WaitlistAddSerializer(serializers.Serializer):
    patient = _id_field(Patient)
    appointment_type = AppointmentTypeRefField()
    provider = _id_field(Provider, required=False, allow_null=True)
    earliest_date = serializers.DateField(required=False, allow_null=True)
    latest_date = serializers.DateField(required=False, allow_null=True)
    appointment = _id_field(Appointment, required=False, allow_null=True)
    notes = strict.CharField(max_length=500, required=False, allow_blank=True, default="")


class WaitlistBookSerializer(serializers.Serializer):
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID)
