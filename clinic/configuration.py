"""The clinic settings page's parts: the service that changes the settings, the sections other
apps contribute to the page, and the history of changes shown on it.

The page (``clinic:settings``, clinic.views.clinic_settings) lives here, in the lowest app,
because ``ClinicSettings`` does. Some settings belong to higher apps: the minimum reinjection
interval of each toxin product is a treatments model, and ``clinic`` never imports treatments.
So, as the patient chart does with its panels (patients.chart), a higher app registers a
section in its AppConfig.ready(): a template, its context, and the audit actions that make up
its history. The section's forms post to the app's own views, which call the app's services.

    register_settings_section(SettingsSection(
        key="toxin-intervals", title="Minimum reinjection interval per product",
        template="treatments/settings/toxin_intervals.html",
        context=lambda *, user, clinic_settings: {...},
        audit_actions=("toxin_interval.",), unset_label="clinic default", order=10,
    ))

Every change goes through a service: validated against the model (its validators and check
constraints), saved with the history's user set, and written to the audit trail with the
changed fields.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q

from .audit import attribute, audit_record, changed_fields
from .errors import Invalid, RecallWeeksOutOfOrder
from .models import AuditEvent, ClinicSettings

# The settings the practice manager edits: every field of the row but its key and timestamp.
SETTINGS_FIELDS: list[str] = [
    f.name for f in ClinicSettings._meta.concrete_fields if f.editable and not f.primary_key
]
AUDIT_ACTION = "clinic_settings.updated"


def field_bounds(model: type[models.Model], name: str) -> tuple[Any, Any]:
    """(lowest, highest) value the model's validators allow in field ``name``; None if unbounded.

    A bound is defined once, on the model field; forms, serializers and services read it from
    here, so that every layer says and checks what the model checks."""
    low = high = None
    for validator in model._meta.get_field(name).validators:
        if isinstance(validator, MinValueValidator):
            low = validator.limit_value
        elif isinstance(validator, MaxValueValidator):
            high = validator.limit_value
    return low, high


def field_limits(model: type[models.Model], name: str) -> dict[str, Any]:
    """The model field's bounds as a form or serializer field's ``min_value``/``max_value``."""
    low, high = field_bounds(model, name)
    return {key: value for key, value in (("min_value", low), ("max_value", high)) if value is not None}


def invalid_from(exc: ValidationError) -> Invalid:
    """A model's ValidationError as the API's and pages' Invalid: messages per field, the
    model-wide ones (check constraints) under ``non_field_errors``."""
    fields = {
        ("non_field_errors" if name == NON_FIELD_ERRORS else name): messages
        for name, messages in exc.message_dict.items()
    }
    codes = {error.code for errors in exc.error_dict.values() for error in errors}
    if codes == {RecallWeeksOutOfOrder.code}:
        return RecallWeeksOutOfOrder(fields["non_field_errors"][0], fields=fields)
    return Invalid(fields=fields)


def settings_lock() -> ClinicSettings:
    """Lock the settings row for the rest of the transaction: changes to any setting (the row,
    a product's interval) take turns, so two managers saving at once cannot interleave."""
    ClinicSettings.load()
    return ClinicSettings.objects.select_for_update().get(pk=1)


@transaction.atomic
def clinic_settings_update(*, actor, data: dict) -> ClinicSettings:
    """Change some of the clinic settings (``data``: field -> new value, any subset of
    SETTINGS_FIELDS). Raises Invalid (``recall_weeks_order`` when only the order of the recall
    weeks is wrong). A save that changes nothing writes no history and no audit event."""
    unknown = sorted(set(data) - set(SETTINGS_FIELDS))
    if unknown:
        raise Invalid(fields={name: ["Unknown setting."] for name in unknown})
    current = settings_lock()
    changes = changed_fields(current, data)
    for name, value in data.items():
        setattr(current, name, value)
    try:
        current.full_clean()
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    if not changes:
        return current
    attribute(current, actor)
    current.save()
    audit_record(actor=actor, action=AUDIT_ACTION, target=current, changes=changes)
    return current


# --- Sections other apps contribute ------------------------------------------------------------


@dataclass(frozen=True)
class SettingsSection:
    key: str  # the section's id on the page (its anchor)
    title: str
    template: str
    # Called with keyword arguments user= and clinic_settings=; returns the template's context.
    context: Callable[..., dict]
    # Audit actions (or prefixes, ending in ".") of the changes made in this section: the page's
    # history lists them with the clinic settings' own.
    audit_actions: tuple[str, ...] = ()
    # How the history shows a value that was not set (e.g. "clinic default").
    unset_label: str = "not set"
    order: int = 100


_sections: dict[str, SettingsSection] = {}


def register_settings_section(section: SettingsSection) -> None:
    _sections[section.key] = section


def settings_sections() -> list[SettingsSection]:
    """Every registered section, in display order."""
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))


# --- History -----------------------------------------------------------------------------------


def _action_filter(action: str) -> Q:
    return Q(action__startswith=action) if action.endswith(".") else Q(action=action)


def _field_label(event: AuditEvent, name: str) -> str:
    model = event.target_type.model_class() if event.target_type_id else None
    try:
        return str(model._meta.get_field(name).verbose_name) if model else name
    except FieldDoesNotExist:
        return name.replace("_", " ")


def settings_history(*, limit: int = 20) -> list[dict]:
    """The latest changes to any setting, newest first: when, who, what and each field's old
    and new value (from the audit trail, which the services write)."""
    sections = settings_sections()
    query = Q(action=AUDIT_ACTION)
    unset_labels: list[tuple[str, str]] = []
    for section in sections:
        for action in section.audit_actions:
            query |= _action_filter(action)
            unset_labels.append((action, section.unset_label))
    events = AuditEvent.objects.filter(query).select_related("actor", "target_type").order_by("-at", "-id")
    rows = []
    for event in events[:limit]:
        unset = next((label for action, label in unset_labels if event.action.startswith(action)), "not set")
        changes = []
        for name, value in event.changes.items():
            if isinstance(value, list) and len(value) == 2:
                old, new = (_shown(v, unset) for v in value)
                changes.append({"field": _field_label(event, name), "old": old, "new": new})
        rows.append(
            {
                "at": event.at,
                "who": event.actor.display_name if event.actor else event.actor_label or "system",
                "what": event.target_label,
                "changes": changes,
            }
        )
    return rows


def _shown(value, unset: str) -> str:
    if value is None:
        return unset
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
