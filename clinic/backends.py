"""The authentication backend: Django's model backend, with a user's permissions in one query.

Every staff request checks a capability (``user.has_perm``), and Django's backend reads a user's
own permissions and their roles' (groups') permissions with a query each. Here one UNION reads
both: the same set, one round trip fewer on every request. Everything else, including password
checks and the superuser and inactive-user rules, is Django's.
"""

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Permission


class ModelBackend(DjangoModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj=obj)
        if not hasattr(user_obj, "_perm_cache"):
            names = ("content_type__app_label", "codename")
            own = Permission.objects.filter(user=user_obj).values_list(*names).order_by()
            granted = Permission.objects.filter(group__user=user_obj).values_list(*names).order_by()
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in own.union(granted)}
        return user_obj._perm_cache
