from django.apps import AppConfig


class LandmarksConfig(AppConfig):
    """Face landmarks and objective measurements of the standard photographs. Sits above photos
    (it reads their files and joins their processing through ``photos.hooks``) and below
    insight (docs/architecture.md); no lower app imports it."""

    name = "landmarks"

    def ready(self) -> None:
        from . import hooks, panels

        hooks.register()
        panels.register()
