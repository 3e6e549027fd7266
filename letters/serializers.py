"""API shapes of clinic letters and their emails."""

from rest_framework import serializers

from clinic.api import fields as strict
from patients.models import Patient
from treatments.models import Encounter

from .models import BODY_MAX, SUBJECT_MAX, Letter, LetterDelivery


class LetterStaffSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = strict.CharField(source="display_name", read_only=True)


class LetterDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = LetterDelivery
        fields = [
            "id",
            "recipient",
            "name",
            "address",
            "status",
            "attempts",
            "error",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class LetterSerializer(serializers.ModelSerializer):
    """A letter. POST drafts one from the record (``kind``, optionally ``encounter``) or a
    correction of a signed one (``amends``); PATCH edits a draft's ``subject`` and ``body``."""

    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    kind = serializers.ChoiceField(choices=Letter.Kind.choices, required=False)
    encounter = serializers.PrimaryKeyRelatedField(
        queryset=Encounter.objects.all(), required=False, allow_null=True
    )
    amends = serializers.PrimaryKeyRelatedField(
        queryset=Letter.objects.all(), required=False, allow_null=True
    )
    subject = strict.CharField(max_length=SUBJECT_MAX, read_only=True)
    body = strict.CharField(max_length=BODY_MAX, read_only=True)
    created_by = LetterStaffSerializer(read_only=True)
    signed_by = LetterStaffSerializer(read_only=True, allow_null=True)
    deliveries = LetterDeliverySerializer(many=True, read_only=True)
    pdf_available = serializers.SerializerMethodField()

    class Meta:
        model = Letter
        fields = [
            "id",
            "patient",
            "kind",
            "encounter",
            "amends",
            "status",
            "subject",
            "body",
            "created_at",
            "created_by",
            "updated_at",
            "signed_at",
            "signed_by",
            "content_sha256",
            "pdf_sha256",
            "pdf_available",
            "deliveries",
        ]
        read_only_fields = [f for f in fields if f not in ("patient", "kind", "encounter", "amends")]

    def get_pdf_available(self, letter: Letter) -> bool:
        return bool(letter.pdf_name)


class LetterUpdateSerializer(serializers.Serializer):
    subject = strict.CharField(max_length=SUBJECT_MAX, required=False)
    body = strict.CharField(max_length=BODY_MAX, required=False, trim_whitespace=False)


class LetterSendSerializer(serializers.Serializer):
    to_gp = serializers.BooleanField(default=False, help_text="Email the GP on the patient's record.")
    to_referrer = serializers.BooleanField(
        default=False, help_text="Email the referrer on the patient's record."
    )
    to_patient = serializers.BooleanField(default=False, help_text="Email a copy to the patient.")
