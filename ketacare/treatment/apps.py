from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    name = "ketacare.treatment"
    label = "treatment"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.core import banners, demo_registry
        from ketacare.core.panels import ChartPanel, register_panel
        from ketacare.treatment.demo import seed_treatment
        from ketacare.treatment.panels import overdue_rems_banner, panel_context

        register_panel(ChartPanel(key="treatment", title="Treatment courses", template="treatment/panel.html",
                                  perm=Perm.CLINICAL_VIEW, order=25, context=panel_context))
        register(NavItem("Floor board", "treatment:board", Perm.CLINICAL_VIEW), before="research")
        register(NavItem("REMS forms", "treatment:rems-board", Perm.CLINICAL_VIEW), before="research")
        register(NavItem("Protocols", "treatment:protocols", Perm.CLINIC_CONFIGURE))
        banners.register(overdue_rems_banner)
        demo_registry.register(50, seed_treatment)
