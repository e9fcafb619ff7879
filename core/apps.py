from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "cshub core"

    def ready(self) -> None:
        # Registers the <external_id:…> URL converter before any URLconf is loaded.
        from . import converters  # noqa: F401
