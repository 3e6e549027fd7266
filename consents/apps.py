from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = "Procedure consent"

    def ready(self) -> None:
        from . import hooks, panels

        hooks.register()
        panels.register()
