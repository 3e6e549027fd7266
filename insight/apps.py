from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "insight"
    verbose_name = "Insight and exports"

    def ready(self) -> None:
        from . import settings_section

        settings_section.register()
