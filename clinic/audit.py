"""The audit trail: one function every service calls, plus the authentication receivers."""

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.dispatch import receiver

from . import context
from .models import AuditEvent


def acting_user(actor: Any) -> Any:
    """The user behind ``actor`` (a request's user or a service's actor), or None for a task, a
    patient's link or an anonymous caller. Every service names its actor through this."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def attribute(instance: models.Model, actor) -> models.Model:
    """Name ``actor`` as the author of the change about to be saved, in its history row
    (django-simple-history's ``history_user``)."""
    instance._history_user = acting_user(actor)  # type: ignore[attr-defined]
    return instance


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    patient_id: int | None = None,
    changes: dict | None = None,
) -> AuditEvent:
    """Append one event. ``patient_id`` names the patient concerned, when there is one."""
    ctx = context.current()
    user = acting_user(actor)
    event = AuditEvent(
        actor=user,
        actor_label=user.get_username() if user is not None else "",
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_label=_label(target),
        patient_id=patient_id,
        changes=changes or {},
        ip=ctx.ip if ctx else None,
        request_id=ctx.request_id if ctx else None,
        source=ctx.source if ctx else "task",
    )
    event.save()
    return event


def may_read_clinical(user) -> bool:
    """Whether ``user`` may read clinical content, in records and in the audit trail's values."""
    return bool(user is not None and user.has_perm("clinic.view_clinical"))


def audit_changes_for(changes, *, clinical: bool):
    """An event's ``changes`` as a reader may see them: whole for clinical readers; for others,
    each changed field named with its value withheld (None), since the values of a clinical
    record's fields are clinical content."""
    if clinical:
        return changes
    if not isinstance(changes, dict):
        return {}
    return dict.fromkeys(changes)


def _label(target: models.Model | None) -> str:
    if target is None:
        return ""
    # Labels are for staff browsing the trail; patient names are not copied into it
    # (the target link resolves them for those allowed to see them).
    label = getattr(target, "audit_label", None)
    return str(label if label is not None else f"{target._meta.verbose_name} {target.pk}")[:200]


def changed_fields(instance: models.Model, data: dict) -> dict:
    """{field: [old, new]} for the fields in ``data`` whose value differs on ``instance``."""
    diff = {}
    for field, new in data.items():
        old = getattr(instance, field, None)
        if old != new:
            diff[field] = [_jsonable(old), _jsonable(new)]
    return diff


def _jsonable(value):
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        from .middleware import session_started

        session_started(request.session)
    audit_record(actor=user, action="auth.login", target=user)


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action="auth.logout", target=user)


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, factor=None, **kwargs):
    # A wrong second-factor code (clinic.mfa) is a failed log-in too, told apart here.
    action = "auth.mfa_failed" if factor == "otp" else "auth.login_failed"
    audit_record(actor=None, action=action, changes={"username": credentials.get("username", "")})


@receiver(user_locked_out)
def _on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    audit_record(actor=None, action="auth.locked_out", changes={"username": username or "", "ip": ip_address})
