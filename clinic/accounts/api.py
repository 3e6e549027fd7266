"""The API of staff accounts: the practice manager's staff list and actions, and the signed-in
user's own password and sessions. The same services as the pages (clinic.accounts.services)."""

from django.contrib.auth import get_user_model, logout, update_session_auth_hash
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.api import fields as strict
from clinic.api import serializers
from clinic.permissions import require
from clinic.roles import Role

from . import services


class StaffSerializer(serializers.ModelSerializer):
    display_name = strict.CharField(read_only=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), source="role_names")
    mfa_enrolled = serializers.BooleanField(read_only=True)

    class Meta:
        model = get_user_model()
        fields = [
            "id",
            "username",
            "display_name",
            "title",
            "first_name",
            "last_name",
            "email",
            "roles",
            "is_active",
            "mfa_enrolled",
            "last_login",
        ]
        read_only_fields = fields


class StaffInviteSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    title = strict.CharField(max_length=20, required=False, allow_blank=True, default="")
    first_name = strict.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = strict.CharField(max_length=150, required=False, allow_blank=True, default="")
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices), min_length=1, max_length=5
    )
    send_email = serializers.BooleanField(
        default=True,
        help_text="Email the set-up link to the new member of staff (default). False: the link is in "
        "this answer, once, for hand delivery.",
    )


class StaffRolesSerializer(serializers.Serializer):
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices), min_length=1, max_length=5
    )


class LinkDeliverySerializer(serializers.Serializer):
    send_email = serializers.BooleanField(
        default=True, help_text="Email the link to them (default). False: the link is in this answer, once."
    )


class MfaResetSerializer(LinkDeliverySerializer):
    reason = strict.CharField(max_length=200, required=False, allow_blank=True, default="")


class IssuedLinkSerializer(serializers.Serializer):
    emailed = serializers.BooleanField(help_text="Whether the link went to the staff member's email address.")
    link = strict.CharField(
        allow_null=True, help_text="The single-use link, only when it was not emailed: hand it over."
    )
    expires_at = serializers.DateTimeField()


class InviteResultSerializer(serializers.Serializer):
    staff = StaffSerializer()
    set_up = IssuedLinkSerializer()


def _issued(link: services.IssuedLink) -> dict:
    return {
        "emailed": link.emailed,
        "link": None if link.emailed else link.url,
        "expires_at": link.expires_at,
    }


@extend_schema_view(
    list=extend_schema(summary="Staff accounts (practice managers)"),
    retrieve=extend_schema(summary="One staff account"),
)
class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff accounts: invite, change roles, deactivate, reset two-factor authentication, issue a
    password-reset link, sign out everywhere. Practice managers (``manage_staff``); every action
    is audited. Not on one's own account (403 ``not_allowed``)."""

    permission_classes = [require("clinic.manage_staff")]
    serializer_class = StaffSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["username", "last_name"]
    filterset_fields = {"is_active": ["exact"]}

    def get_queryset(self):
        return (
            get_user_model()
            .objects.prefetch_related("groups")
            .annotate(mfa_enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
            .order_by("last_name", "first_name", "username")
        )

    def _fresh(self, user):
        return self.get_queryset().get(pk=user.pk)

    @extend_schema(request=StaffInviteSerializer, responses={201: InviteResultSerializer})
    def create(self, request):
        """Invite: a new account with roles and no password, and its single-use set-up link
        (emailed to them, or in this answer once)."""
        body = StaffInviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user, link = services.staff_invite(actor=request.user, **body.validated_data)
        data = {
            "staff": StaffSerializer(self._fresh(user)).data,
            "set_up": IssuedLinkSerializer(_issued(link)).data,
        }
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StaffRolesSerializer, responses={200: StaffSerializer})
    def partial_update(self, request, pk=None):
        """Change the roles."""
        user = self.get_object()
        body = StaffRolesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.staff_roles_set(actor=request.user, user=user, roles=body.validated_data["roles"])
        return Response(StaffSerializer(self._fresh(user)).data)

    @extend_schema(request=None, responses={200: StaffSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        """Stop the account: it cannot log in; its sessions and API tokens end."""
        user = self.get_object()
        services.staff_deactivate(actor=request.user, user=user)
        return Response(StaffSerializer(self._fresh(user)).data)

    @extend_schema(request=MfaResetSerializer, responses={200: IssuedLinkSerializer})
    @action(detail=True, methods=["post"], url_path="two-factor-reset")
    def mfa_reset(self, request, pk=None):
        """A lost phone: remove the authenticator and recovery codes, end the sessions and API
        tokens, and issue a set-up link (their password and the link set up a new app)."""
        user = self.get_object()
        body = MfaResetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        link = services.staff_mfa_reset(actor=request.user, user=user, **body.validated_data)
        return Response(IssuedLinkSerializer(_issued(link)).data)

    @extend_schema(request=LinkDeliverySerializer, responses={200: IssuedLinkSerializer})
    @action(detail=True, methods=["post"], url_path="password-reset")
    def password_reset(self, request, pk=None):
        """A forgotten password: a single-use link to choose a new one."""
        user = self.get_object()
        body = LinkDeliverySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        link = services.staff_password_reset(actor=request.user, user=user, **body.validated_data)
        return Response(IssuedLinkSerializer(_issued(link)).data)

    @extend_schema(request=None, responses={200: StaffSerializer})
    @action(detail=True, methods=["post"], url_path="sign-out")
    def sign_out(self, request, pk=None):
        """End every session and API token of the account."""
        user = self.get_object()
        services.staff_sign_out(actor=request.user, user=user)
        return Response(StaffSerializer(self._fresh(user)).data)


class PasswordChangeSerializer(serializers.Serializer):
    current_password = strict.CharField(max_length=256, trim_whitespace=False)
    new_password = strict.CharField(
        max_length=256, trim_whitespace=False, help_text="At least 12 characters, not a common password."
    )


class PasswordChangeView(APIView):
    """Change one's own password. The other sessions and the API tokens end; this session stays."""

    @extend_schema(request=PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        body = PasswordChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.password_change(user=request.user, request=request._request, **body.validated_data)
        update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignOutEverywhereView(APIView):
    """End every session and API token of one's own account, this one included."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.sign_out_everywhere(user=request.user, actor=request.user)
        if getattr(request._request, "user", None) is not None and request._request.user.is_authenticated:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
