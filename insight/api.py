"""The clinic's code map through the API: ``/api/v1/code-mappings/``. Staff read it; the practice
manager (``manage_settings``) adds or replaces a mapping (POST) and removes one (DELETE)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from clinic.api import serializers
from clinic.permissions import require

from . import terminology
from .models import CodeMapping


class CodeMappingSerializer(serializers.ModelSerializer):
    class Meta:
        model = CodeMapping
        fields = [
            "id",
            "source",
            "local_code",
            "target",
            "code",
            "display",
            "checked_against",
            "updated_at",
            "updated_by",
        ]
        read_only_fields = fields


class CodeMappingInputSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=CodeMapping.Source.choices)
    local_code = serializers.CharField(max_length=40)
    target = serializers.ChoiceField(choices=CodeMapping.Target.choices)
    code = serializers.CharField(max_length=18)
    display = serializers.CharField(max_length=255)
    checked_against = serializers.CharField(max_length=80)


class CodeMappingViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The clinic's map from its local codes (products, procedures, muscles) to SNOMED CT, dm+d
    or RxNorm, used by the FHIR export. POST replaces the concept's mapping to that terminology."""

    permission_classes = [require(write=("clinic.manage_settings",))]
    serializer_class = CodeMappingSerializer
    queryset = CodeMapping.objects.select_related("updated_by").order_by("source", "local_code", "target")
    pagination_class = None  # a few dozen rows at most: every concept of the catalogue

    @extend_schema(request=CodeMappingInputSerializer, responses={201: CodeMappingSerializer})
    def create(self, request):
        given = CodeMappingInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        row = terminology.code_mapping_set(actor=request.user, **given.validated_data)
        return Response(self.get_serializer(row).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        terminology.code_mapping_clear(mapping=instance, actor=self.request.user)


def register(router: DefaultRouter) -> None:
    router.register("code-mappings", CodeMappingViewSet, basename="code-mapping")
