from django.apps import AppConfig


class PhotosConfig(AppConfig):
    """Clinical photographs and videos. Sits above treatments (a set may belong to an encounter)
    and below insight, whose FHIR export reads its Media (docs/architecture.md). Lower apps never
    import it; it joins the chart and the patient merge through their registries."""

    name = "photos"

    def ready(self) -> None:
        from . import merging, panels

        panels.register()
        merging.register()
