"""API shapes of consultation requests, their possible duplicates, and the triage actions."""

from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from clinic.api import fields as strict
from scheduling.models import AppointmentType, Provider, Room

from .models import DECLINE_MESSAGE_MAX, PRIOR_TREATMENTS_MAX, PROBLEM_MAX, ConsultationRequest


class IntakeStaffSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = strict.CharField(source="display_name", read_only=True)


class IntakeDuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    mrn = strict.CharField(read_only=True)
    name = strict.CharField(read_only=True)
    date_of_birth = serializers.DateField(read_only=True)
    matched_on = serializers.ListField(child=strict.CharField(), read_only=True)


class IntakeSerializer(serializers.ModelSerializer):
    """A request as the desk reads it; a POST enters a clinician's referral."""

    email = strict.EmailField(required=False, allow_blank=True, max_length=254)
    phone = PhoneNumberField(required=False, allow_blank=True, max_length=32)
    problem = strict.CharField(max_length=PROBLEM_MAX)
    prior_treatments = strict.CharField(max_length=PRIOR_TREATMENTS_MAX, required=False, allow_blank=True)
    affected_side = serializers.ChoiceField(
        choices=ConsultationRequest.Side.choices, required=False, allow_blank=True
    )
    referrer_name = strict.CharField(max_length=200)
    created_by = IntakeStaffSerializer(read_only=True, allow_null=True)
    decided_by = IntakeStaffSerializer(read_only=True, allow_null=True)
    email_status = serializers.ChoiceField(
        choices=ConsultationRequest.EmailStatus.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = ConsultationRequest
        fields = [
            "id",
            "source",
            "status",
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "phone",
            "problem",
            "affected_side",
            "duration",
            "prior_treatments",
            "consent_to_contact",
            "referrer_name",
            "referrer_contact",
            "created_at",
            "created_by",
            "patient",
            "appointment",
            "decided_at",
            "decided_by",
            "decline_message",
            "email_status",
            "email_sent_at",
        ]
        read_only_fields = [
            "id",
            "source",
            "status",
            "created_at",
            "patient",
            "appointment",
            "decided_at",
            "decline_message",
            "email_sent_at",
        ]


class IntakeDetailSerializer(IntakeSerializer):
    duplicates = serializers.SerializerMethodField()

    class Meta(IntakeSerializer.Meta):
        fields = [*IntakeSerializer.Meta.fields, "duplicates"]

    def get_duplicates(self, obj) -> list[dict]:
        found = self.context.get("duplicates", [])
        return IntakeDuplicateSerializer([c.as_dict() for c in found], many=True).data


class IntakeAcceptSerializer(serializers.Serializer):
    patient = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="An existing patient to link (one of the request's duplicates, or any active "
        "patient). Leave out to register the requester as a new patient.",
    )
    confirm_not_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Register even though the registry has possible duplicates (else 409 possible_duplicate).",
    )
    appointment_type = serializers.PrimaryKeyRelatedField(queryset=AppointmentType.objects.all())
    provider = serializers.PrimaryKeyRelatedField(queryset=Provider.objects.all())
    room = serializers.PrimaryKeyRelatedField(queryset=Room.objects.all(), required=False, allow_null=True)
    starts_at = serializers.DateTimeField()


class IntakeDeclineSerializer(serializers.Serializer):
    message = strict.CharField(max_length=DECLINE_MESSAGE_MAX)
