"""API: the caller's tokens (list, revoke one, revoke all); the practice manager's view of any
staff member's tokens through ``?user=<id>`` (list) and ``{"user": <id>}`` (revoke all)."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from clinic.api import fields as strict
from clinic.api import serializers
from clinic.api.schema import ERROR_COMPONENT

from . import services
from .models import ApiToken

MAX_ID = 2**63 - 1


class ApiTokenSerializer(serializers.ModelSerializer):
    prefix = strict.CharField(
        source="shown_prefix", help_text="The key's first characters, to tell tokens apart."
    )
    current = serializers.SerializerMethodField(help_text="Whether this request came with this token.")

    class Meta:
        model = ApiToken
        fields = ["id", "user", "label", "prefix", "created", "expiry", "last_used_at", "current"]
        read_only_fields = fields

    def get_current(self, token) -> bool:
        auth = self.context["request"].auth
        return isinstance(auth, ApiToken) and auth.pk == token.pk


class TokenOwnerSerializer(serializers.Serializer):
    user = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="A staff member's id: their tokens (practice manager only). Default: yours.",
    )


class RevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many tokens that still worked were revoked.")


def _owner(request, user_id: int | None):
    """Whose tokens: the caller's, or (``manage_staff``) the named staff member's."""
    if user_id is None or user_id == request.user.pk:
        return request.user
    if not request.user.has_perm("clinic.manage_staff"):
        raise PermissionDenied("Only the practice manager may see or revoke another staff member's tokens.")
    owner = get_user_model().objects.filter(pk=user_id).first()
    if owner is None:
        raise NotFound("No such staff member.")
    return owner


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """API tokens that still work, newest first: yours, or a staff member's for the practice
    manager. The key itself is never shown again after it was issued."""

    serializer_class = ApiTokenSerializer
    filter_backends: list = []
    queryset = ApiToken.objects.none()

    def get_queryset(self):
        params = self.request.query_params
        query = TokenOwnerSerializer(data={"user": params["user"]} if "user" in params else {})
        query.is_valid(raise_exception=True)
        return services.api_tokens_live(user=_owner(self.request, query.validated_data.get("user")))

    @extend_schema(parameters=[TokenOwnerSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Revoke one token",
        description="Your own, or (practice manager) anybody's. 404 for a token you may not revoke.",
        responses={204: None},
    )
    def destroy(self, request, *args, **kwargs):
        pk = str(kwargs.get("pk", ""))
        if not (pk.isascii() and pk.isdigit() and int(pk) <= MAX_ID):
            raise NotFound()
        services.api_token_revoke(token_id=int(pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Revoke all tokens",
        description="All your tokens (the one this request came with too), or (practice manager) "
        "all of a staff member's tokens.",
        request=TokenOwnerSerializer,
        responses={
            200: RevokedSerializer,
            404: OpenApiResponse(
                response={"$ref": f"#/components/schemas/{ERROR_COMPONENT}"},
                description="No staff member with that id (``not_found``).",
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="revoke-all")
    def revoke_all(self, request):
        body = TokenOwnerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        owner = _owner(request, body.validated_data.get("user"))
        revoked = services.api_token_revoke_all(user=owner, actor=request.user)
        return Response({"revoked": revoked})


def register(router) -> None:
    router.register("auth/tokens", ApiTokenViewSet, basename="api-token")
