"""The one authorization layer: capability permissions (clinic.roles) checked the same way
by API views (these classes), pages (clinic.views.capability_required) and patient links."""

from rest_framework.permissions import BasePermission


def is_staff_member(user) -> bool:
    """An active user with at least one role (or a superuser)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or bool(user.get_all_permissions())


class IsStaffUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user)


def require(*perms: str, write: tuple[str, ...] | None = None) -> type[BasePermission]:
    """A permission class: ``perms`` for every request, plus ``write`` for unsafe methods.

    Example: ``permission_classes = [require("clinic.view_demographics",
    write=("clinic.edit_demographics",))]``.
    """

    class _Capability(BasePermission):
        def has_permission(self, request, view) -> bool:
            if not is_staff_member(request.user):
                return False
            needed = list(perms)
            if write and request.method not in ("GET", "HEAD", "OPTIONS"):
                needed += list(write)
            # Actions may ask for more: {"merge": ("clinic.merge_patients",)}.
            action_perms = getattr(view, "action_permissions", {}).get(getattr(view, "action", None), ())
            return request.user.has_perms([*needed, *action_perms])

    _Capability.__name__ = "Require_" + "_".join(p.split(".")[-1] for p in perms)
    return _Capability
