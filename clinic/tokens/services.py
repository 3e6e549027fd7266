"""Issue, list and revoke API tokens. Every issue and revocation is audited."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clinic.audit import audit_record
from clinic.errors import ApiTokenNotFound

from .models import ApiToken


def token_ttl() -> timedelta:
    return timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def api_tokens_live(*, user) -> QuerySet[ApiToken]:
    """``user``'s tokens that still work, newest first."""
    return ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created", "-id")


@transaction.atomic
def api_token_issue(*, user, label: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user`` (never an existing one): the row and the key, which is shown
    this once and stored only as a digest. The owner's expired tokens are cleared away."""
    ApiToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    token, key = ApiToken.objects.create(user=user, expiry=token_ttl(), label=label[:100])
    audit_record(
        actor=user,
        action="auth.token_issued",
        target=user,
        changes={"token": token.pk, "prefix": token.shown_prefix, "expiry": token.expiry.isoformat()},
    )
    return token, key


def _may_manage(actor, owner) -> bool:
    if actor.pk == owner.pk:
        return True
    return actor.has_perm("clinic.manage_staff")


@transaction.atomic
def api_token_revoke(*, token_id: int, actor) -> ApiToken:
    """Revoke one token: its owner may, and so may the practice manager (``manage_staff``).
    A token the actor may not revoke is reported as missing, like one that does not exist."""
    token = (
        ApiToken.objects.select_related("user").select_for_update(of=("self",)).filter(pk=token_id).first()
    )
    if token is None or not _may_manage(actor, token.user):
        raise ApiTokenNotFound()
    audit_record(
        actor=actor,
        action="auth.token_revoked",
        target=token.user,
        changes={"token": token.pk, "prefix": token.shown_prefix, "reason": "revoked"},
    )
    token.delete()
    return token


@transaction.atomic
def api_token_revoke_all(*, user, actor, reason: str = "revoked") -> int:
    """Revoke every token of ``user``; returns how many still worked. Audited when there were
    any (and always when someone asked for it, ``reason="revoked"``)."""
    tokens = ApiToken.objects.filter(user=user)
    live = tokens.filter(expiry__gt=timezone.now()).count()
    tokens.delete()
    if live or reason == "revoked":
        audit_record(
            actor=actor,
            action="auth.tokens_revoked",
            target=user,
            changes={"count": live, "reason": reason},
        )
    return live
