"""API: consent forms (read; a POST adds a version) and patients' procedure consents (start,
sign, countersign, withdraw, the signed PDF, the patient's link)."""

import django_filters
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import filters as api_filters
from clinic.audit import audit_record
from clinic.permissions import require

from . import serializers, services
from .links import consent_link_url
from .models import ConsentTemplate, PatientConsent, Procedure
from .signatures import png_from_data_url
from .views import pdf_response

VIEW = "clinic.view_clinical"


class TakesConsents(BasePermission):
    """Writes: a withdrawal by any clinician; anything else by those who take some consent."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if getattr(view, "action", None) == "withdraw":
            return services.may_withdraw(request.user)
        return any(services.may_take_consent(request.user, p) for p in Procedure.values)


class TemplateFilter(api_filters.FilterSet):
    procedure = django_filters.ChoiceFilter(choices=Procedure.choices)

    class Meta:
        model = ConsentTemplate
        fields = ["procedure"]


class ConsentTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Every version of every procedure's form, newest version first. POST adds a new version of a
    procedure's form (the clinicians who take that consent); versions never change."""

    queryset = ConsentTemplate.objects.select_related("created_by").order_by("procedure", "-version")
    serializer_class = serializers.ConsentTemplateSerializer
    filterset_class = TemplateFilter
    # Who may add a version of which form is the service's rule; clinicians who take no
    # consents at all are refused before the body is read.
    permission_classes = [require(VIEW), TakesConsents]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        template = services.template_revise(procedure=data.pop("procedure"), actor=request.user, data=data)
        return Response(self.get_serializer(template).data, status=status.HTTP_201_CREATED)


class ConsentFilter(api_filters.FilterSet):
    patient = api_filters.IdFilter(field_name="patient_id")
    procedure = django_filters.ChoiceFilter(choices=Procedure.choices)
    status = django_filters.ChoiceFilter(choices=PatientConsent.Status.choices)

    class Meta:
        model = PatientConsent
        fields = ["patient", "procedure", "status"]


def _png(data: dict):
    if data["signature_method"] == PatientConsent.SignatureMethod.DRAWN:
        return png_from_data_url(data.get("signature", ""))
    return None


class PatientConsentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Patients' procedure consents. Never deleted or edited: they are started, signed by the
    patient, countersigned (which makes the signed PDF), and may be withdrawn."""

    serializer_class = serializers.PatientConsentSerializer
    filterset_class = ConsentFilter
    # Any clinician records a withdrawal; starting, signing, countersigning and links are for the
    # clinicians who take consents (refined per procedure by the services).
    permission_classes = [require(VIEW), TakesConsents]

    def get_queryset(self):
        return (
            PatientConsent.objects.select_related(
                "template", "created_by", "countersigned_by", "withdrawn_by"
            )
            .defer("patient_signature_png", "countersignature_png")
            .order_by("-created_at", "-id")
        )

    def list(self, request, *args, **kwargs):
        audit_record(
            actor=request.user,
            action="consent.listed",
            patient_id=int(request.GET["patient"]) if request.GET.get("patient", "").isdigit() else None,
        )
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        consent = self.get_object()
        audit_record(
            actor=request.user, action="consent.viewed", target=consent, patient_id=consent.patient_id
        )
        return Response(self.get_serializer(consent).data)

    def _respond(self, consent, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=consent.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = services.consent_start(actor=request.user, **serializer.validated_data)
        return self._respond(consent, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.SignSerializer, responses=serializers.PatientConsentSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        """The patient's signature, taken by a clinician's device (a tablet app)."""
        consent = self.get_object()
        data = serializers.SignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.consent_patient_sign(
            consent=consent,
            name=data.validated_data["name"],
            method=data.validated_data["signature_method"],
            signature_png=_png(data.validated_data),
            via=PatientConsent.Via.API,
            actor=request.user,
        )
        return self._respond(consent)

    @extend_schema(request=serializers.CountersignSerializer, responses=serializers.PatientConsentSerializer)
    @action(detail=True, methods=["post"])
    def countersign(self, request, pk=None):
        consent = self.get_object()
        data = serializers.CountersignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.consent_countersign(
            consent=consent,
            actor=request.user,
            method=data.validated_data["signature_method"],
            signature_png=_png(data.validated_data),
        )
        return self._respond(consent)

    @extend_schema(request=serializers.WithdrawSerializer, responses=serializers.PatientConsentSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        consent = self.get_object()
        data = serializers.WithdrawSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.consent_withdraw(
            consent=consent, actor=request.user, reason=data.validated_data["reason"]
        )
        return self._respond(consent)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The signed PDF."),
            # Refusals are the API's JSON errors, not files.
            **{(code, "application/json"): OpenApiTypes.OBJECT for code in (400, 401, 403, 404, 409)},
        }
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The signed PDF exactly as stored (its SHA-256 is ``pdf_sha256``). Never cached."""
        consent = self.get_object()
        data = services.consent_pdf_read(consent=consent)
        audit_record(
            actor=request.user, action="consent.pdf_viewed", target=consent, patient_id=consent.patient_id
        )
        return pdf_response(consent, data)

    @extend_schema(request=None, responses=serializers.LinkSerializer)
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        """A new link for the patient to read and sign this consent (and later fetch the PDF)."""
        consent = self.get_object()
        if not services.may_take_consent(request.user, consent.procedure):
            raise services.ConsentNotAllowed()
        if consent.status == PatientConsent.Status.WITHDRAWN:
            raise services.ConsentStateConflict("This consent is withdrawn.")
        audit_record(
            actor=request.user, action="consent.link_made", target=consent, patient_id=consent.patient_id
        )
        return Response(
            {
                "url": consent_link_url(patient_id=consent.patient_id, consent_id=consent.pk),
                "valid_days": settings.CONSENT_LINK_MAX_AGE_DAYS,
            }
        )


def register(router: DefaultRouter) -> None:
    router.register("consent-templates", ConsentTemplateViewSet, basename="consent-template")
    router.register("procedure-consents", PatientConsentViewSet, basename="procedure-consent")
