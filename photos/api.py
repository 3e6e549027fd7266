"""The photos API under /api/v1/: photo sets, their items (multipart upload with the pages'
validation), and each item's files. Clinical: ``view_clinical``; writes ``record_consultation``."""

import django_filters
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import filters as api_filters
from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.permissions import require

from . import serializers, services
from .models import MediaItem, PhotoSet
from .processing import MediaRefused
from .uploads import UploadTooLarge, limit_uploads, request_too_large, too_large_error

PERMS = require("clinic.view_clinical", write=("clinic.record_consultation",))


class PhotoSetFilter(api_filters.FilterSet):
    patient = api_filters.IdFilter(field_name="patient_id")


class MediaItemFilter(api_filters.FilterSet):
    patient = api_filters.IdFilter(field_name="photo_set__patient_id")
    photo_set = api_filters.IdFilter(field_name="photo_set_id")
    view = django_filters.CharFilter(max_length=24)


def _audit_listing(request, action: str) -> None:
    patient = request.query_params.get("patient", "")
    audit_record(
        actor=request.user,
        action=action,
        patient_id=int(patient) if patient.isdigit() and len(patient) < 19 else None,
    )


class PhotoSetViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Photo sets: one sitting's photographs and videos, of an encounter or on their own.
    Deleted with a reason (``POST .../delete/``); never removed."""

    permission_classes = [PERMS]
    serializer_class = serializers.PhotoSetSerializer
    filterset_class = PhotoSetFilter
    queryset = (
        PhotoSet.objects.filter(deleted_at__isnull=True)
        .prefetch_related(
            Prefetch(
                "items",
                queryset=MediaItem.objects.filter(deleted_at__isnull=True).order_by("view", "id"),
                to_attr="live_items",
            )
        )
        .order_by("-taken_at", "-id")
    )

    def list(self, request, *args, **kwargs):
        _audit_listing(request, "photo_set.listed")
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        photo_set = self.get_object()
        audit_record(
            actor=request.user, action="photo_set.viewed", target=photo_set, patient_id=photo_set.patient_id
        )
        return Response(self.get_serializer(photo_set).data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        photo_set = services.photo_set_create(
            patient=data["patient"],
            actor=request.user,
            taken_at=data["taken_at"],
            encounter=data.get("encounter"),
            note=data.get("note", ""),
        )
        photo_set.live_items = []
        return Response(self.get_serializer(photo_set).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.DeletionReasonSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def delete(self, request, pk=None):
        photo_set = self.get_object()
        serializer = serializers.DeletionReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.photo_set_delete(
            photo_set=photo_set, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MediaItemViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Photographs and videos. Upload: ``multipart/form-data`` with ``photo_set``, ``view``,
    ``label`` (extra views) and ``file``; answered 202 while the worker processes it (poll the
    item: ``status`` becomes ready, or rejected with ``error_code``). The same checks as the
    capture page: type from the content, size limits before the body is read (413 ``too_large``)."""

    permission_classes = [PERMS]
    serializer_class = serializers.MediaItemSerializer
    filterset_class = MediaItemFilter
    queryset = MediaItem.objects.filter(deleted_at__isnull=True).select_related("photo_set").order_by("-id")

    def get_parsers(self):
        # Uploads come as multipart/form-data; every other body is JSON, as everywhere. (Called
        # before ``self.action`` is set; the route's action map says which action a POST is.)
        request = getattr(self, "request", None)
        creating = getattr(self, "action_map", {}).get("post") == "create"
        if request is not None and request.method == "POST" and creating:
            return [MultiPartParser()]
        return super().get_parsers()

    def initial(self, request, *args, **kwargs):
        # Before authentication (whose CSRF check reads the body): refuse a declared size past
        # the limit, and stream files through the limited handler.
        if request.method == "POST" and self.action == "create":
            if request_too_large(request):
                raise too_large_error()
            limit_uploads(request._request)
        try:
            super().initial(request, *args, **kwargs)
        except UploadTooLarge as exc:
            raise too_large_error() from exc

    def handle_exception(self, exc):
        if isinstance(exc, UploadTooLarge):
            exc = too_large_error()
        if isinstance(exc, MediaRefused) and exc.code == "too_large":
            response = super().handle_exception(exc)
            response.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            return response
        return super().handle_exception(exc)

    def list(self, request, *args, **kwargs):
        _audit_listing(request, "media.listed")
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        item = self.get_object()
        audit_record(
            actor=request.user,
            action="media.detail_viewed",
            target=item,
            patient_id=item.photo_set.patient_id,
        )
        return Response(self.get_serializer(item).data)

    @extend_schema(
        request={"multipart/form-data": serializers.MediaUploadSerializer},
        responses={202: serializers.MediaItemSerializer},
    )
    def create(self, request, *args, **kwargs):
        try:
            data = request.data
        except UploadTooLarge as exc:
            raise too_large_error() from exc
        serializer = serializers.MediaUploadSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        item = services.media_upload(
            photo_set=values["photo_set"],
            actor=request.user,
            upload=values["file"],
            view=values["view"],
            label=values.get("label", ""),
        )
        return Response(serializers.MediaItemSerializer(item).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("r", str, enum=services.RENDITIONS, description="Which rendition")],
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "video/mp4"): OpenApiTypes.BINARY,
            # Refusals are the API's JSON errors, not files.
            **{(code, "application/json"): OpenApiTypes.OBJECT for code in (400, 401, 403, 404)},
        },
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """One rendition's bytes (``r``: main, screen, thumb, poster). Audited; never cached."""
        item = self.get_object()
        try:
            handle, content_type = services.media_read(
                item=item, actor=request.user, rendition=request.query_params.get("r", "main")
            )
        except DomainError as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type=content_type)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(request=serializers.DeletionReasonSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def delete(self, request, pk=None):
        """Delete with a reason: gone from pages, API and exports; its files purged after
        the clinic's retention setting; the record of the deletion stays."""
        item = self.get_object()
        serializer = serializers.DeletionReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.media_delete(item=item, actor=request.user, reason=serializer.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: serializers.MediaItemSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        item = services.media_retry(item=self.get_object(), actor=request.user)
        return Response(serializers.MediaItemSerializer(item).data, status=status.HTTP_202_ACCEPTED)


def register(router: DefaultRouter) -> None:
    router.register("photo-sets", PhotoSetViewSet, basename="photo-set")
    router.register("media-items", MediaItemViewSet, basename="media-item")
