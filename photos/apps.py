from django.apps import AppConfig


class PhotosConfig(AppConfig):
    """Clinical photographs and videos. Sits above treatments (a set may belong to an encounter):
    bench -> photos -> treatments -> scheduling -> patients -> clinic. Lower apps never import it;
    it joins the chart and the FHIR export through their registries."""

    name = "photos"

    def ready(self) -> None:
        from . import fhir, merging, panels

        panels.register()
        fhir.register()
        merging.register()
