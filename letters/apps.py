from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"
    verbose_name = "Clinic letters"

    def ready(self) -> None:
        from . import panels

        panels.register()
