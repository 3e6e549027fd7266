"""API: clinic letters (list by patient, draft from the record, edit a draft, sign, send, the PDF)."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import filters as api_filters
from clinic.audit import audit_record
from clinic.permissions import require

from . import selectors, serializers, services
from .models import Letter
from .views import pdf_response


class LetterFilter(api_filters.FilterSet):
    patient = api_filters.IdFilter(field_name="patient_id")
    kind = django_filters.ChoiceFilter(choices=Letter.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Letter.Status.choices)

    class Meta:
        model = Letter
        fields = ["patient", "kind", "status"]


class LetterViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Clinic letters, newest first. Never deleted: drafted, edited, signed (which makes the
    PDF, after which the letter is read-only), sent by email."""

    serializer_class = serializers.LetterSerializer
    filterset_class = LetterFilter
    permission_classes = [require(*services.PERMISSIONS)]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.letters_with_deliveries()

    def list(self, request, *args, **kwargs):
        audit_record(
            actor=request.user,
            action="letter.listed",
            patient_id=int(request.GET["patient"]) if request.GET.get("patient", "").isdigit() else None,
        )
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        letter = self.get_object()
        audit_record(actor=request.user, action="letter.viewed", target=letter, patient_id=letter.patient_id)
        return Response(self.get_serializer(letter).data)

    def _respond(self, letter, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=letter.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        letter = services.letter_draft(
            actor=request.user,
            patient=data["patient"],
            kind=data.get("kind", ""),
            encounter=data.get("encounter"),
            amends=data.get("amends"),
        )
        return self._respond(letter, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.LetterUpdateSerializer, responses=serializers.LetterSerializer)
    def partial_update(self, request, *args, **kwargs):
        letter = self.get_object()
        data = serializers.LetterUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        letter = services.letter_update(actor=request.user, letter=letter, data=dict(data.validated_data))
        return self._respond(letter)

    @extend_schema(request=None, responses=serializers.LetterSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        letter = services.letter_sign(actor=request.user, letter=self.get_object())
        return self._respond(letter)

    @extend_schema(request=serializers.LetterSendSerializer, responses=serializers.LetterSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Email the signed letter (its PDF attached) to the chosen recipients; one delivery each,
        sent by the worker once this commits."""
        letter = self.get_object()
        data = serializers.LetterSendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.letter_send(actor=request.user, letter=letter, **data.validated_data)
        return self._respond(letter)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The signed PDF."),
            **{(code, "application/json"): OpenApiTypes.OBJECT for code in (400, 401, 403, 404, 409)},
        }
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The signed PDF exactly as stored (its SHA-256 is ``pdf_sha256``). Never cached."""
        letter = self.get_object()
        data = services.letter_pdf_read(letter=letter)
        audit_record(
            actor=request.user, action="letter.pdf_viewed", target=letter, patient_id=letter.patient_id
        )
        return pdf_response(letter, data)


def register(router: DefaultRouter) -> None:
    router.register("letters", LetterViewSet, basename="letter")
