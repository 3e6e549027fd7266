from django.apps import AppConfig


class MdtConfig(AppConfig):
    """The multidisciplinary team meeting: patients flagged with a question, the meetings and
    their agendas, outcomes and the follow-up tasks each role owns. Sits above treatments and
    below photos (docs/architecture.md); it joins the chart and the patient merge through their
    registries."""

    name = "mdt"
    verbose_name = "MDT meetings"

    def ready(self) -> None:
        from . import merging, panels

        panels.register()
        merging.register()
