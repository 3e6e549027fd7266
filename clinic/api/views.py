from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, mixins, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import configuration
from clinic.api import fields as strict
from clinic.api import serializers
from clinic.audit import audit_changes_for, may_read_clinical
from clinic.errors import (
    InvalidCode,
    InvalidCredentials,
    MfaNotEnrolled,
    OtpRequired,
    OtpThrottled,
)
from clinic.mfa import services as mfa
from clinic.models import AuditEvent, ClinicSettings
from clinic.permissions import require
from clinic.tokens import services as tokens


class TokenSerializer(serializers.Serializer):
    username = strict.CharField(max_length=150)
    password = strict.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})
    otp = strict.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="The code from the authenticator app, or a recovery code; needed once two-factor "
        "authentication is set up (or required).",
    )
    label = strict.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="A name for the token, shown where you list and revoke your tokens (e.g. the script).",
    )


class IssuedTokenSerializer(serializers.Serializer):
    token = strict.CharField(help_text="The key: shown this once, stored only as a digest.")
    id = serializers.IntegerField(
        help_text="The token's id, to revoke it (DELETE /api/v1/auth/tokens/{id}/)."
    )
    expiry = serializers.DateTimeField(help_text="When the token stops working (API_TOKEN_TTL_HOURS).")


class TokenView(APIView):
    """Exchange a staff username, password and (with two-factor authentication) one-time code for
    a new API token. Each request issues a new token, which expires after API_TOKEN_TTL_HOURS;
    send it as ``Authorization: Token <key>`` or ``Authorization: Bearer <key>``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenSerializer,
        responses={200: IssuedTokenSerializer},
        auth=[],
    )
    def post(self, request):
        serializer = TokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request=request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise InvalidCredentials()
        if mfa.mfa_enrolled(user=user):
            if not data.get("otp"):
                raise OtpRequired(fields={"otp": ["Enter the code from your authenticator app."]})
            # A wrong code counts toward the lockout like a wrong password (django-axes turns
            # the response into 429 locked_out when it reaches the limit).
            result = mfa.mfa_verify(user=user, code=data["otp"], request=request._request)
            if result.throttled_until is not None:
                wait = mfa.seconds_until(result.throttled_until)
                raise OtpThrottled(f"Too many wrong codes in a row: wait {wait} seconds, then try again.")
            if not result.ok:
                raise InvalidCode(
                    "The one-time code is not right.", fields={"otp": ["The code is not right."]}
                )
        elif settings.REQUIRE_MFA:
            raise MfaNotEnrolled()
        token, key = tokens.api_token_issue(user=user, label=data.get("label", ""))
        return Response(IssuedTokenSerializer({"token": key, "id": token.pk, "expiry": token.expiry}).data)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = strict.CharField()
    display_name = strict.CharField()
    roles = serializers.ListField(child=strict.CharField(), source="role_names")
    permissions = serializers.SerializerMethodField()

    def get_permissions(self, user) -> list[str]:
        return sorted(user.get_all_permissions())


class MeView(APIView):
    """The authenticated staff member, their roles and capabilities."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


CHANGES_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "description": "{field: [old, new]}; each value null when withheld (changes_withheld).",
}


class AuditEventSerializer(serializers.ModelSerializer):
    """An audit event. ``changes`` holds {field: [old, new]}; for readers without clinical access
    (``view_clinical``) the fields are named with their values withheld (null), and
    ``changes_withheld`` is true."""

    target_type = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()
    changes_withheld = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "actor_label",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "patient_id",
            "changes",
            "changes_withheld",
            "ip",
            "request_id",
            "source",
        ]

    def get_target_type(self, event) -> str | None:
        return event.target_type.model if event.target_type_id else None

    def _clinical_reader(self) -> bool:
        if "clinical_reader" not in self.context:
            request = self.context.get("request")
            self.context["clinical_reader"] = may_read_clinical(getattr(request, "user", None))
        return self.context["clinical_reader"]

    @extend_schema_field(CHANGES_SCHEMA)
    def get_changes(self, event):
        return audit_changes_for(event.changes, clinical=self._clinical_reader())

    def get_changes_withheld(self, event) -> bool:
        return not self._clinical_reader()


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail, newest first (managers only). Read-only: the trail is append-only."""

    permission_classes = [require("clinic.view_audit")]
    serializer_class = AuditEventSerializer
    queryset = AuditEvent.objects.select_related("target_type").order_by("-at", "-id")
    filterset_fields = {"actor": ["exact"], "action": ["exact"], "patient_id": ["exact"], "at": ["gte", "lt"]}
    ordering_fields = ["at"]


class ClinicSettingsSerializer(serializers.ModelSerializer):
    """The clinic's rules. Bounds come from the model's validators; the recall reinjection recall
    becomes overdue after its second reminder (otherwise 400 ``recall_weeks_order``)."""

    class Meta:
        model = ClinicSettings
        fields = [*configuration.SETTINGS_FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]


class ClinicSettingsView(generics.GenericAPIView):
    """The clinic settings (one record). Staff read them; the practice manager
    (``manage_settings``) changes them, and every change is audited."""

    permission_classes = [require(write=("clinic.manage_settings",))]
    serializer_class = ClinicSettingsSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return ClinicSettings.load()

    def get(self, request):
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        saved = configuration.clinic_settings_update(actor=request.user, data=serializer.validated_data)
        return Response(self.get_serializer(saved).data)
