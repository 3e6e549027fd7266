"""Staff roles: Django groups made of capability permissions.

A role is a group; what a role may do is the set of permissions below. Every check in the
code asks for a permission (``user.has_perm("clinic.record_toxin")``), never for a role
name, so a clinic can give one person two roles, or adjust a role, without code changes.
"""

from django.contrib.auth.models import Group, Permission
from django.db import models


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    SURGEON = "surgeon", "Surgeon"
    INJECTOR = "injector", "Nurse injector"
    THERAPIST = "therapist", "Therapist"
    MANAGER = "manager", "Practice manager"


_ALL_STAFF = ["view_demographics", "book_appointments"]
_CLINICIAN = [*_ALL_STAFF, "view_clinical", "edit_demographics", "record_consultation"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.FRONT_DESK: [*_ALL_STAFF, "edit_demographics", "work_recalls"],
    Role.SURGEON: [
        *_CLINICIAN,
        "record_toxin",
        "override_toxin_interval",
        "record_surgery",
        "work_recalls",
        # Surgeons lead the clinic's clinical governance: the interval safety net reaches them.
        "review_interval_findings",
    ],
    Role.INJECTOR: [*_CLINICIAN, "record_toxin", "override_toxin_interval"],
    Role.THERAPIST: [*_CLINICIAN, "record_therapy"],
    # The practice manager runs the practice, not the clinical records: no clinical access.
    Role.MANAGER: [
        *_ALL_STAFF,
        "edit_demographics",
        "work_recalls",
        "manage_schedule",
        "manage_lots",
        "merge_patients",
        "view_audit",
        "manage_staff",
        "manage_settings",
    ],
}


def sync_roles() -> None:
    """Create the role groups and set their permissions to exactly ROLE_PERMISSIONS."""
    permissions = {p.codename: p for p in Permission.objects.filter(content_type__app_label="clinic")}
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([permissions[c] for c in codenames if c in permissions])


def sync_roles_after_migrate(sender, **kwargs) -> None:
    if sender.name == "clinic":
        sync_roles()
