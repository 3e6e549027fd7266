from rest_framework import serializers

from .models import FaceLandmarks


class FaceLandmarksSerializer(serializers.ModelSerializer):
    photo_set = serializers.IntegerField(source="media_item.photo_set_id", read_only=True)
    view = serializers.CharField(source="media_item.view", read_only=True)
    points = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField()), read_only=True
    )
    measurements = serializers.DictField(read_only=True)
    corrections = serializers.DictField(read_only=True)

    class Meta:
        model = FaceLandmarks
        fields = [
            "id",
            "media_item",
            "photo_set",
            "view",
            "status",
            "message",
            "points",
            "corrections",
            "measurements",
            "detector",
            "detector_version",
            "formula_version",
            "image_width",
            "image_height",
            "measured_at",
            "corrected_at",
            "corrected_by",
        ]
        read_only_fields = fields


class CorrectionSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    x = serializers.FloatField()
    y = serializers.FloatField()


class PhotoSetMeasurementsSerializer(serializers.Serializer):
    photo_set = serializers.IntegerField()
    taken_at = serializers.DateTimeField()
    formula_version = serializers.CharField()
    landmarks = FaceLandmarksSerializer(many=True)
    commissure_excursion = serializers.DictField(allow_null=True)
