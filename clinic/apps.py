from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import roles

        # Groups and their permissions are kept in step with roles.ROLE_PERMISSIONS after
        # every migrate, so a new model's permissions reach the roles without a data migration.
        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="clinic.sync_roles")
        from . import (
            audit,  # noqa: F401  (connects the login/logout audit receivers)
            checks,  # noqa: F401  (registers the deployment checks)
        )
        from .api.fields import use_for_model_serializers
        from .tokens import receivers  # noqa: F401  (tokens end when credentials change)

        # Text fields of the API take JSON strings only (a number is a 400, not stored as digits).
        use_for_model_serializers()
        from .queries import register_lookups

        register_lookups()  # field__any=[ids] (clinic.queries.AnyOf)
