from django.apps import AppConfig


class InstrumentsConfig(AppConfig):
    name = "ketacare.instruments"
    label = "instruments"

    def ready(self) -> None:
        from ketacare.accounts.navigation import NavItem, register
        from ketacare.accounts.roles import Perm
        from ketacare.core.panels import ChartPanel, register_panel
        from ketacare.instruments.panels import panel_context

        register_panel(ChartPanel(key="questionnaires", title="Questionnaires", template="instruments/panel.html",
                                  perm=Perm.CLINICAL_VIEW, order=30, context=panel_context))
        register(NavItem("Questionnaire text", "instruments:licensed-text", Perm.CLINIC_CONFIGURE))
        register(NavItem("Alert thresholds", "instruments:safety-thresholds", Perm.CLINIC_CONFIGURE))
