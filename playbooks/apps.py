from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "playbooks"

    def ready(self) -> None:
        # Trigger.describe() words its condition through the condition registry, which imports the models
        # (its conditions query Run): the models cannot import it back, so it is plugged in here.
        from .alerts import subscribe_all
        from .models import Trigger
        from .triggers import describe

        Trigger.describe_condition = staticmethod(describe)

        # The in-app notifications listen to the domain events (docs/workspace.md#notifications).
        subscribe_all()
