from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        from . import insight_panels, merging, panels, questionnaires

        panels.register()
        insight_panels.register()
        questionnaires.register()
        merging.register()
