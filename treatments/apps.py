from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        from . import panels, questionnaires

        panels.register()
        questionnaires.register()
