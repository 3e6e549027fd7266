from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "treatments"

    def ready(self) -> None:
        from . import (
            agreements,
            insight_panels,
            interval,
            merging,
            panels,
            programme_views,
            questionnaires,
            settings_section,
        )

        interval.register()
        panels.register()
        insight_panels.register()
        questionnaires.register()
        merging.register()
        settings_section.register()
        programme_views.register()
        agreements.register()
