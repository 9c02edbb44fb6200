from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "ketacare.core"
    label = "core"

    def ready(self) -> None:
        from ketacare.core.append_only import install_triggers_after_migrate

        post_migrate.connect(install_triggers_after_migrate, dispatch_uid="ketacare.append_only.triggers")
