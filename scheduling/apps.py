from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"

    def ready(self) -> None:
        from patients.chart import ChartPanel, register_panel

        from . import checks  # noqa: F401 (registers the system checks)
        from .selectors import appointments_for_patient

        register_panel(
            ChartPanel(
                key="appointments",
                title="Appointments",
                template="scheduling/chart/appointments.html",
                context=lambda *, patient, user: {
                    "patient": patient,
                    **appointments_for_patient(patient=patient),
                },
                permission="clinic.view_demographics",
                order=10,
            )
        )

        from .reminders import chart as reminders_chart

        reminders_chart.register()
