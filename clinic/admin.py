from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import AuditEvent, ClinicSettings, User


def _superusers_only(request) -> bool:
    """The admin edits any row with no clinic rule applied: superusers only, whatever a member
    of staff's ``is_staff`` flag says (the practice manager has the clinic's own pages)."""
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = _superusers_only


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Clinic", {"fields": ("title",)}))
    list_display = ("username", "first_name", "last_name", "is_active")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "target_label", "patient_id", "source")
    list_filter = ("action", "source")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClinicSettings)
class ClinicSettingsAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return not ClinicSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
