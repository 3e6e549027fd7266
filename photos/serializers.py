from django.urls import reverse

from clinic.api import serializers
from patients.models import Patient
from treatments.models import Encounter

from .models import MediaItem, PhotoConsent, PhotoSet, View


class MediaItemSerializer(serializers.ModelSerializer):
    files = serializers.SerializerMethodField()

    class Meta:
        model = MediaItem
        fields = [
            "id",
            "photo_set",
            "view",
            "label",
            "kind",
            "status",
            "error_code",
            "error",
            "content_type",
            "size",
            "width",
            "height",
            "duration_seconds",
            "identifiable",
            "created_at",
            "processed_at",
            "deleted_at",
            "deletion_reason",
            "files",
        ]
        read_only_fields = fields

    def get_files(self, item) -> dict[str, str]:
        """The file route of each rendition there is (permission-checked and audited)."""
        if not item.is_ready:
            return {}
        base = reverse("api:media-item-file", args=[item.pk])
        return {r: f"{base}?r={r}" for r in ("main", "screen", "thumb", "poster") if item.rendition_name(r)}


class MediaUploadSerializer(serializers.Serializer):
    photo_set = serializers.PrimaryKeyRelatedField(queryset=PhotoSet.objects.all())
    view = serializers.ChoiceField(choices=View.choices)
    label = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    file = serializers.FileField(allow_empty_file=True)


class PhotoSetSerializer(serializers.ModelSerializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    encounter = serializers.PrimaryKeyRelatedField(
        queryset=Encounter.objects.all(), required=False, allow_null=True
    )
    items = MediaItemSerializer(many=True, read_only=True, source="live_items")

    class Meta:
        model = PhotoSet
        fields = ["id", "patient", "encounter", "taken_at", "note", "created_at", "deleted_at", "items"]
        read_only_fields = ["id", "created_at", "deleted_at", "items"]


class PhotoConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = PhotoConsent
        fields = ["id", "patient", "level", "version", "given_on", "note", "recorded_at", "withdrawn_at"]
        read_only_fields = fields


class DeletionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)
