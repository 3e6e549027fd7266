"""Calendar set-up records (locations, rooms, providers, working hours, time off, appointment
types): saved and removed with an audit row."""

from django.db import transaction

from clinic.audit import audit_record, changed_fields


@transaction.atomic
def schedule_record_save(*, instance, data: dict, actor):
    """Create or update one calendar set-up record from validated data, audited."""
    creating = instance._state.adding
    changes = changed_fields(instance, data)
    for field, value in data.items():
        setattr(instance, field, value)
    instance.full_clean()
    instance.save()
    audit_record(
        actor=actor,
        action=f"schedule.{instance._meta.model_name}_{'created' if creating else 'updated'}",
        target=instance,
        changes=changes,
    )
    return instance


@transaction.atomic
def schedule_record_delete(*, instance, actor) -> None:
    """Remove working hours or time off entered by mistake (set-up data, not clinical records)."""
    audit_record(
        actor=actor,
        action=f"schedule.{instance._meta.model_name}_deleted",
        target=instance,
        changes={"deleted": str(instance)},
    )
    instance.delete()
