from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ketacare.ledger"
    label = "ledger"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.core.home import HomeCard
        from ketacare.core.home import register as home_card
        from ketacare.ledger import hooks

        register(NavItem("Controlled substances", "ledger:stock", Perm.LEDGER_VIEW), before="audit:list")
        home_card(HomeCard("Controlled substances", "Stock of every lot, expiring lots, open investigations and their "
                           "DEA deadlines.", "ledger:stock", "Open the stock", Perm.LEDGER_VIEW, 45))
        hooks.connect()
        from ketacare.core import banners
        from ketacare.ledger.models import Discrepancy
        from ketacare.ledger.panels import dea_deadline_banner

        banners.register(dea_deadline_banner)
        banners.invalidate_on_change("ledger.dea_deadlines", Discrepancy)
