from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "ketacare.core"
    label = "core"

    def ready(self) -> None:
        from ketacare.core.append_only import install_triggers_after_migrate, register_sqlite_functions

        post_migrate.connect(install_triggers_after_migrate, dispatch_uid="ketacare.append_only.triggers")
        connection_created.connect(register_sqlite_functions, dispatch_uid="ketacare.append_only.sqlite_functions")
