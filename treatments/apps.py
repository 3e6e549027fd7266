from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        from . import insight_panels, panels, questionnaires, settings_section

        panels.register()
        insight_panels.register()
        questionnaires.register()
        settings_section.register()
