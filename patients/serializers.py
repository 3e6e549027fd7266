"""API representations of patients and consents. Writes go through patients.services."""

from collections.abc import Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension
from phonenumber_field.serializerfields import PhoneNumberField

from clinic.api import fields as strict
from clinic.api import serializers

from .models import MessagingConsent, Patient
from .services import DEACTIVATION_REASONS, EDITABLE_FIELDS

CLINICAL_PERMISSION = "clinic.view_clinical"
SCHEMA_CONTEXT = "openapi_schema"

# Set by the services (registration, deactivation, merge), never by a client.
SERVICE_FIELDS = [
    "status",
    "inactive_reason",
    "inactive_since",
    "inactive_note",
    "merged_into",
    "created_at",
    "updated_at",
]
PATIENT_FIELDS = ["id", "mrn", "display_name", *EDITABLE_FIELDS, *SERVICE_FIELDS]


def may_see_clinical(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(CLINICAL_PERMISSION))


class PatientSerializer(serializers.ModelSerializer):
    """A patient. Clinical fields (Patient.CLINICAL_FIELDS) exist only for users with
    clinic.view_clinical: others never receive them, and sending them is an error."""

    mobile = PhoneNumberField(required=False, allow_blank=True, max_length=32)
    emergency_contact_phone = PhoneNumberField(required=False, allow_blank=True, max_length=32)
    display_name = strict.CharField(read_only=True)
    confirm_not_duplicate = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="On create: the caller checked the possible duplicates and this is another person.",
    )

    class Meta:
        model = Patient
        fields = [*PATIENT_FIELDS, "confirm_not_duplicate"]
        read_only_fields = ["id", "mrn", *SERVICE_FIELDS]

    def _clinical(self) -> bool:
        if self.context.get(SCHEMA_CONTEXT):
            return True  # the OpenAPI schema describes every field (see PatientSerializerSchema)
        request = self.context.get("request")
        return may_see_clinical(getattr(request, "user", None))

    def get_fields(self):
        fields = super().get_fields()
        if not self._clinical():
            for name in Patient.CLINICAL_FIELDS:
                fields.pop(name, None)
        return fields

    def input_errors(self, data) -> dict:
        errors = super().input_errors(data)
        if isinstance(data, Mapping) and not self._clinical():
            # Said plainly rather than as unknown fields (get_fields hides them from this user).
            message = "Only clinical staff may set clinical fields."
            errors |= {name: [message] for name in Patient.CLINICAL_FIELDS if name in data}
        return errors

    def validate(self, attrs):
        def current(name):
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name, None)

        born, onset = current("date_of_birth"), current("palsy_onset_date")
        if born and onset and onset < born:
            raise serializers.ValidationError(
                {"palsy_onset_date": ["The onset cannot be before the date of birth."]}
            )
        return attrs


class PatientSerializerSchema(OpenApiSerializerExtension):
    """The schema is made without a user: it names the clinical fields too, described as there
    only for users with clinic.view_clinical."""

    target_class = PatientSerializer

    def map_serializer(self, auto_schema, direction):
        # A PATCH's serializer is partial (nothing required): the stand-in is too.
        schema = auto_schema._map_basic_serializer(
            PatientSerializer(context={SCHEMA_CONTEXT: True}, partial=getattr(self.target, "partial", False)),
            direction,
        )
        for name in Patient.CLINICAL_FIELDS:
            if name in schema["properties"]:
                note = "Clinical: only for users with clinic.view_clinical."
                described = schema["properties"][name]
                described["description"] = f"{described.get('description', '')} {note}".strip()
        return schema


class DuplicateCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    mrn = strict.CharField()
    name = strict.CharField()
    date_of_birth = serializers.DateField()
    matched_on = serializers.ListField(child=strict.CharField())


class DeactivateSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=[(r.value, r.label) for r in DEACTIVATION_REASONS])
    note = strict.CharField(max_length=200, required=False, allow_blank=True, default="")


class MergeSerializer(serializers.Serializer):
    duplicate = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        help_text="Id of the duplicate record, merged into the record named in the URL (the survivor).",
    )


class MergeResultSerializer(serializers.Serializer):
    survivor = PatientSerializer()
    duplicate = serializers.IntegerField(source="duplicate.pk")
    moved = serializers.DictField(child=serializers.IntegerField())
    not_moved = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()))
    # What was changed so that rows could move, e.g. {"treatments.treatmentplan": {"put_on_hold": [ids]}}.
    adjusted = serializers.DictField(
        child=serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()))
    )
    consents_copied = serializers.IntegerField()
    filled = serializers.ListField(child=strict.CharField())


# The methods a client records a consent decision with; "merge" is the server's own.
SENT_CONSENT_METHODS = [c for c in MessagingConsent.Method.choices if c[0] != MessagingConsent.Method.MERGE]


class ConsentSerializer(serializers.ModelSerializer):
    recorded_by = strict.CharField(source="recorded_by.username", read_only=True, default="")
    # "merge" rows (carried over from a merged record) are answered, but cannot be sent.
    method = serializers.AnsweredChoiceField(
        choices=SENT_CONSENT_METHODS,
        answered_only=[c for c in MessagingConsent.Method.choices if c[0] == MessagingConsent.Method.MERGE],
    )
    address = strict.CharField(
        max_length=254,
        required=False,
        allow_blank=False,
        help_text="Email or mobile the decision is about; defaults to the patient's current one.",
    )

    class Meta:
        model = MessagingConsent
        fields = [
            "id",
            "channel",
            "purpose",
            "granted",
            "address",
            "method",
            "recorded_at",
            "recorded_by",
            "note",
        ]
        read_only_fields = ["id", "recorded_by"]
        extra_kwargs = {"recorded_at": {"required": False}}


class ConsentStateSerializer(serializers.Serializer):
    channel = strict.CharField()
    purpose = strict.CharField()
    state = strict.CharField(help_text="granted, withdrawn, stale, no_address or unknown")
    granted = serializers.BooleanField(help_text="May we send these messages now?")
    address = strict.CharField(help_text="Where a message would go today")
    recorded_at = serializers.DateTimeField(source="latest.recorded_at", default=None, allow_null=True)
    method = strict.CharField(source="latest.method", default=None, allow_null=True)
