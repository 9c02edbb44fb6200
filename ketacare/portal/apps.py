from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Between visits: schedules anchored to treatment, secure links and the patient's own pages."""

    name = "ketacare.portal"
    label = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ketacare.portal import hooks

        hooks.connect()
