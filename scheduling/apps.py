from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"

    def ready(self) -> None:
        from .reminders import chart as reminders_chart

        reminders_chart.register()
