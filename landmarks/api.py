"""The landmarks API under /api/v1/: each photograph's landmarks and measurements (read), a
clinician's correction of one point (write), and a photo set's measurements, the rest-to-smile
excursion included. Clinical: ``view_clinical``; correcting ``record_consultation``."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import filters as api_filters
from clinic.audit import audit_record
from clinic.permissions import require
from photos.models import PhotoSet

from . import formulas, selectors, serializers, services
from .models import FaceLandmarks

PERMS = require("clinic.view_clinical", write=("clinic.record_consultation",))


class FaceLandmarksFilter(api_filters.FilterSet):
    patient = api_filters.IdFilter(field_name="media_item__photo_set__patient_id")
    photo_set = api_filters.IdFilter(field_name="media_item__photo_set_id")


class FaceLandmarksViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Landmarks found on each standard-view photograph (pixels of its main rendition), their
    status (``found``, or why not: ``no_face``, ``several_faces``, ``rotated``, ``too_small``,
    ``failed``), and the measurements. Aids for the clinician, who checks them."""

    permission_classes = [PERMS]
    lookup_value_regex = r"[0-9]{1,18}"
    serializer_class = serializers.FaceLandmarksSerializer
    filterset_class = FaceLandmarksFilter
    queryset = (
        FaceLandmarks.objects.filter(
            media_item__deleted_at__isnull=True, media_item__photo_set__deleted_at__isnull=True
        )
        .select_related("media_item")
        .order_by("-id")
    )

    def retrieve(self, request, *args, **kwargs):
        landmarks = self.get_object()
        audit_record(
            actor=request.user,
            action="landmarks.viewed",
            target=landmarks,
            patient_id=landmarks.media_item.photo_set.patient_id,
        )
        return Response(self.get_serializer(landmarks).data)

    @extend_schema(
        request=serializers.CorrectionSerializer, responses={200: serializers.FaceLandmarksSerializer}
    )
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        """Move one landmark (``name``, ``x``, ``y`` in pixels); the measurements are made again.
        Refusals: ``landmark_unknown``, ``landmark_outside_image`` (400), ``landmarks_not_found``
        (409: the photograph has no landmarks)."""
        landmarks = self.get_object()
        serializer = serializers.CorrectionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        landmarks = services.landmarks_correct(
            landmarks=landmarks, actor=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(landmarks).data)


class PhotoSetMeasurementsViewSet(viewsets.GenericViewSet):
    """One photo set's measurements: each photograph's landmarks and the rest-to-smile
    excursion (null until both photographs have landmarks)."""

    permission_classes = [PERMS]
    lookup_value_regex = r"[0-9]{1,18}"
    serializer_class = serializers.PhotoSetMeasurementsSerializer
    queryset = PhotoSet.objects.none()  # for the schema: the path's id is a photo set's

    def retrieve(self, request, pk=None):
        result = selectors.set_measurements(pk=int(pk))
        if result is None or result.photo_set.is_deleted:
            raise Http404
        audit_record(
            actor=request.user,
            action="measurements.viewed",
            target=result.photo_set,
            patient_id=result.photo_set.patient_id,
        )
        data = {
            "photo_set": result.photo_set.pk,
            "taken_at": result.photo_set.taken_at,
            "formula_version": formulas.FORMULA_VERSION,
            "landmarks": [lm for _v, _l, _i, lm in result.views if lm is not None],
            "commissure_excursion": result.pair.get("commissure_excursion"),
        }
        return Response(self.get_serializer(data).data)


def register(router: DefaultRouter) -> None:
    router.register("face-landmarks", FaceLandmarksViewSet, basename="face-landmarks")
    router.register("photo-set-measurements", PhotoSetMeasurementsViewSet, basename="photo-set-measurements")
