"""API shapes of consent forms and patients' procedure consents."""

from rest_framework import serializers

from clinic.api import fields as strict
from patients.models import Patient

from .models import ConsentTemplate, PatientConsent, Procedure, Side


class ConsentStaffSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = strict.CharField(source="display_name", read_only=True)


class ConsentTemplateSerializer(serializers.ModelSerializer):
    procedure = serializers.ChoiceField(choices=Procedure.choices)
    version = serializers.IntegerField(read_only=True)
    title = strict.CharField(max_length=200)
    description = strict.CharField(max_length=20_000)
    benefits = strict.CharField(max_length=20_000)
    risks = strict.CharField(max_length=20_000)
    alternatives = strict.CharField(max_length=20_000)
    what_to_expect = strict.CharField(max_length=20_000)
    change_note = strict.CharField(max_length=300, required=False, allow_blank=True)
    created_by = ConsentStaffSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ConsentTemplate
        fields = [
            "id",
            "procedure",
            "version",
            "title",
            "description",
            "benefits",
            "risks",
            "alternatives",
            "what_to_expect",
            "change_note",
            "created_at",
            "created_by",
        ]
        read_only_fields = ["id", "version", "created_at", "created_by"]


class PatientConsentSerializer(serializers.ModelSerializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    procedure = serializers.ChoiceField(choices=Procedure.choices)
    side = serializers.ChoiceField(choices=Side.choices, required=False, allow_blank=True)
    details = strict.CharField(max_length=300, required=False, allow_blank=True)
    template_version = serializers.IntegerField(source="template.version", read_only=True)
    template_title = strict.CharField(source="template.title", read_only=True)
    created_by = ConsentStaffSerializer(read_only=True)
    countersigned_by = ConsentStaffSerializer(read_only=True, allow_null=True)
    withdrawn_by = ConsentStaffSerializer(read_only=True, allow_null=True)
    pdf_available = serializers.SerializerMethodField()
    # Empty until the step happens: the schema must say "" is an answer too.
    patient_signature_method = serializers.ChoiceField(
        choices=PatientConsent.SignatureMethod.choices, allow_blank=True, read_only=True
    )
    patient_signed_via = serializers.ChoiceField(
        choices=PatientConsent.Via.choices, allow_blank=True, read_only=True
    )
    countersignature_method = serializers.ChoiceField(
        choices=PatientConsent.SignatureMethod.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = PatientConsent
        fields = [
            "id",
            "patient",
            "procedure",
            "side",
            "details",
            "template",
            "template_version",
            "template_title",
            "status",
            "created_at",
            "created_by",
            "patient_signed_at",
            "patient_signed_name",
            "patient_signature_method",
            "patient_signed_via",
            "countersigned_at",
            "countersigned_by",
            "countersignature_method",
            "content_sha256",
            "pdf_sha256",
            "pdf_available",
            "withdrawn_at",
            "withdrawn_by",
            "withdrawal_reason",
        ]
        read_only_fields = [f for f in fields if f not in ("patient", "procedure", "side", "details")]

    def get_pdf_available(self, consent) -> bool:
        return bool(consent.pdf_name)


class SignSerializer(serializers.Serializer):
    name = strict.CharField(max_length=200, help_text="Who signs (the patient, or their representative).")
    signature_method = serializers.ChoiceField(choices=PatientConsent.SignatureMethod.choices)
    signature = strict.CharField(
        required=False,
        allow_blank=True,
        max_length=300_000,
        help_text="For a drawn signature: the signature pad's image as a PNG data URL "
        "(data:image/png;base64,...). Not used for a typed one.",
    )


class CountersignSerializer(serializers.Serializer):
    signature_method = serializers.ChoiceField(choices=PatientConsent.SignatureMethod.choices)
    signature = strict.CharField(required=False, allow_blank=True, max_length=300_000)


class WithdrawSerializer(serializers.Serializer):
    reason = strict.CharField(max_length=2000)


class LinkSerializer(serializers.Serializer):
    url = serializers.URLField(read_only=True)
    valid_days = serializers.IntegerField(read_only=True)
