from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ketacare.ledger"
    label = "ledger"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.ledger import hooks

        register(NavItem("Controlled substances", "ledger:stock", Perm.LEDGER_VIEW), before="audit:list")
        hooks.connect()
