import datetime as dt

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "ketacare.messaging"
    label = "messaging"

    def ready(self) -> None:
        from django.conf import settings

        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.messaging.services import sweep
        from ketacare.worker import periodic

        register(NavItem("Outbox", "messaging:outbox", Perm.CLINIC_CONFIGURE))
        periodic.register("messaging.sweep", dt.timedelta(seconds=settings.KETACARE_MESSAGING_SWEEP_SECONDS), sweep)
